// One entry of hbmond's events stream (hbmonctl watch, the events socket):
// what happened to which app, numbered and stamped with both clocks.
//
// Contract: pure. event_json() builds the JSON object whose keys hbmonctl(1)
// documents ("v", "seq", "time", "monotonic", "app", "event", "state",
// "pid", "message"); an event about hbmond itself (a reload) has a null
// app, state and pid. event_text() serializes it on one line, replacing
// invalid UTF-8 rather than failing on it.
#pragma once

#include "core/watchdog.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace hbmon {

struct EventRecord {
  std::string app;        // empty: about hbmond itself
  std::string_view event; // "started", "killed", "reload", ...
  std::optional<State> state;
  pid_t pid = 0; // 0: none
  std::string message;
};

nlohmann::json event_json(const EventRecord &e, std::uint64_t seq, double wall_seconds,
                          double monotonic_seconds);
std::string event_text(const nlohmann::json &event);

} // namespace hbmon
