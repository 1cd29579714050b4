// sd_notify(3) for hbmond itself: READY, STATUS, WATCHDOG, RELOADING,
// STOPPING. Without NOTIFY_SOCKET every call is a no-op.
#pragma once

#include "core/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace hbmon {

class Notifier {
public:
  Notifier(); // reads NOTIFY_SOCKET / WATCHDOG_USEC once

  bool enabled() const { return enabled_; }
  // Half of WATCHDOG_USEC when systemd asked for pings.
  std::optional<Duration> watchdog_period() const { return watchdog_period_; }

  void ready();
  void status(std::string_view text); // sent only when it changed
  void watchdog();
  void reloading();
  void stopping();

private:
  void send(const std::string &msg);
  bool enabled_ = false;
  std::optional<Duration> watchdog_period_;
  std::string last_status_;
};

} // namespace hbmon
