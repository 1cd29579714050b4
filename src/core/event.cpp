#include "core/event.hpp"

namespace hbmon {

nlohmann::json event_json(const EventRecord &e, std::uint64_t seq, double wall_seconds,
                          double monotonic_seconds) {
  using nlohmann::json;
  json j;
  j["v"] = 1;
  j["seq"] = seq;
  j["time"] = wall_seconds;
  j["monotonic"] = monotonic_seconds;
  j["app"] = e.app.empty() ? json(nullptr) : json(e.app);
  j["event"] = std::string(e.event);
  j["state"] = e.state ? json(std::string(to_string(*e.state))) : json(nullptr);
  j["pid"] = e.pid > 0 ? json(e.pid) : json(nullptr);
  j["message"] = e.message;
  return j;
}

std::string event_text(const nlohmann::json &event) {
  return event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace hbmon
