// Text helpers shared by the renderers: daemon-supplied strings made safe for a
// terminal (printable() with for_terminal: ESC above all, as an app's STATUS=
// text must not drive the admin's terminal), durations in the table's style, and field access that
// tolerates a missing or mistyped field (the protocol says unknown fields are ignored; a missing
// one prints as empty instead of aborting the whole output).
#pragma once

#include "protocol/text.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hbmon::ctl {

// 3s, 2m05s, 1h02m, 3d04h (rounded down).
std::string format_duration(double seconds);

// A heartbeat age: 0.4s ago, 12.0s ago, 2m05s ago.
std::string format_age(double seconds);

// Unix seconds as local time: 2026-11-28 00:10:00.123
std::string format_timestamp(double unix_seconds);

// obj[key] made printable for a terminal; "" when absent, null or not a string.
std::string text_field(const nlohmann::json &obj, const char *key);

// obj[key] as a number; nullopt when absent, null or not a number.
std::optional<double> number_field(const nlohmann::json &obj, const char *key);

} // namespace hbmon::ctl
