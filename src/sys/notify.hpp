// sd_notify(3) for hbmond itself, without ever blocking: its own
// non-blocking datagram socket to NOTIFY_SOCKET (a path or an '@' abstract
// name). libsystemd's sd_notify() blocks while systemd does not read its
// socket (a busy PID 1), which would stall the loop. Without NOTIFY_SOCKET
// the notifier is disabled.
//
// Contract: send() returns at once; what to do with a message that would
// have blocked (retry, coalesce) is the caller's (core/notify_outbox.hpp).
#pragma once

#include "core/config.hpp"
#include "sys/fd.hpp"
#include "sys/unix_dgram.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace hbmon {

class Notifier {
public:
  Notifier(); // reads NOTIFY_SOCKET / WATCHDOG_USEC once

  bool enabled() const { return static_cast<bool>(fd_); }
  // Half of WATCHDOG_USEC when systemd asked for pings.
  std::optional<Duration> watchdog_period() const { return watchdog_period_; }

  // One datagram: false when systemd's queue is full (try again later);
  // true when it was sent or can never be (no one listens: it is dropped).
  bool send(std::string_view message);

  // "RELOADING=1\nMONOTONIC_USEC=<now>", as systemd 253 wants it.
  static std::string reloading_message();

private:
  UniqueFd fd_;
  UnixAddress to_;
  std::optional<Duration> watchdog_period_;
};

} // namespace hbmon
