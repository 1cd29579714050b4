#include "core/heartbeat.hpp"

namespace hbmon {

HeartbeatMsg parse_heartbeat(std::string_view data) {
  HeartbeatMsg m;
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
    } else if (key == "WATCHDOG" && value == "1") {
      // an explicit heartbeat: every message already is one
    } else if (key == "WATCHDOG" && value == "trigger") {
      m.trigger = true;
    } else if (key == "STATUS") {
      m.status = printable(value, {.limit = max_status_chars});
    } else {
      ++m.unknown;
    }
  }
  return m;
}

} // namespace hbmon
