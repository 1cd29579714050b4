#include "sys/notify.hpp"

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

namespace hbmon {

Notifier::Notifier() {
  const char *sock = std::getenv("NOTIFY_SOCKET");
  if (!sock || !*sock)
    return;
  auto to = unix_address(sock);
  if (!to)
    return; // as sd_notify: an address it cannot use is no address
  to_ = *to;
  fd_ = unix_dgram_socket();
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdog_period_ = std::chrono::microseconds(usec / 2);
}

bool Notifier::send(std::string_view message) {
  return !fd_ || send_dgram(fd_.get(), message, &to_) != SendResult::would_block;
}

std::string Notifier::reloading_message() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 +
              static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec);
}

} // namespace hbmon
