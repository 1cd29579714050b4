#include "core/heartbeat.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace hbmon {

namespace {

// A decimal number, all of `s`, within `max`: as sd_notify's readers take it.
template <typename T> std::optional<T> number(std::string_view s, T max) {
  if (s.empty() || s.front() < '0' || s.front() > '9') // no sign, no space
    return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > max)
    return std::nullopt;
  return v;
}

// Recognise one notify-protocol line; false when it is not one of them.
bool notify_line(std::string_view key, std::string_view value, HeartbeatMsg &m) {
  using std::chrono::microseconds;
  constexpr auto usec_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (key == "WATCHDOG" && value == "1") {
    m.beat = true;
  } else if (key == "STOPPING" && value == "1") {
    m.stopping = true;
  } else if (key == "RELOADING" && value == "1") {
    m.reloading = true;
  } else if (key == "ERRNO") {
    auto e = number<int>(value, std::numeric_limits<int>::max());
    if (!e)
      return false;
    m.error = *e;
  } else if (key == "WATCHDOG_USEC" || key == "EXTEND_TIMEOUT_USEC") {
    auto us = number<std::uint64_t>(value, usec_max);
    if (!us || (*us == 0 && key == "WATCHDOG_USEC"))
      return false;
    (key == "WATCHDOG_USEC" ? m.watchdog_usec : m.extend_timeout) =
        microseconds(static_cast<microseconds::rep>(*us));
  } else if (key == "MAINPID") {
    m.mainpid = true;
  } else if (key == "FDSTORE" && value == "1") {
    m.fdstore = true;
  } else if (key == "BARRIER" && value == "1") {
    m.barrier = true;
  } else {
    return false;
  }
  return true;
}

} // namespace

HeartbeatMsg parse_heartbeat(std::string_view data, HeartbeatProtocol protocol) {
  const bool notify = protocol == HeartbeatProtocol::notify;
  HeartbeatMsg m;
  m.beat = !notify; // over notify, WATCHDOG=1 alone is a heartbeat
  while (!data.empty()) {
    auto nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    if (!line.empty() && line.back() == '\r') // CRLF senders
      line.remove_suffix(1);
    data = nl == std::string_view::npos ? std::string_view{} : data.substr(nl + 1);
    if (line.empty())
      continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      ++m.unknown;
      continue;
    }
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "READY" && value == "1") {
      m.ready = true;
    } else if (key == "WATCHDOG" && value == "trigger") {
      m.trigger = true;
    } else if (key == "STATUS") {
      m.status = printable(value, {.limit = max_status_chars});
    } else if (notify ? !notify_line(key, value, m) : !(key == "WATCHDOG" && value == "1")) {
      ++m.unknown; // over ZeroMQ, WATCHDOG=1 is an explicit heartbeat: every message is one
    }
  }
  return m;
}

} // namespace hbmon
