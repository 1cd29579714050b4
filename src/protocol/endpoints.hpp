// Where hbmond serves unless its config says otherwise. hbmonctl uses the
// control endpoint and asks it for the events one (`info`). Header-only, and
// light, for config.hpp.
#pragma once

namespace hbmon {

inline constexpr const char *default_control = "ipc:///run/hbmond/control";
inline constexpr const char *default_events = "ipc:///run/hbmond/events";

} // namespace hbmon
