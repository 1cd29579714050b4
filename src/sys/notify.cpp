#include "sys/notify.hpp"

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

namespace hbmon {

Notifier::Notifier() {
  const char *sock = std::getenv("NOTIFY_SOCKET");
  enabled_ = sock && *sock;
  std::uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdog_period_ = std::chrono::microseconds(usec / 2);
}

void Notifier::send(const std::string &msg) {
  if (enabled_)
    sd_notify(0, msg.c_str());
}

void Notifier::ready() { send("READY=1"); }

void Notifier::status(std::string_view text) {
  if (text == last_status_)
    return;
  last_status_ = text;
  send(fmt::format("STATUS={}", text));
}

void Notifier::watchdog() { send("WATCHDOG=1"); }

void Notifier::reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 +
              static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec));
}

void Notifier::stopping() { send("STOPPING=1"); }

} // namespace hbmon
