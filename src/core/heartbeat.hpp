// The heartbeat message: every message is a heartbeat; its text may carry
// newline-separated KEY=VALUE lines in the sd_notify(3) vocabulary.
//
// Contract: parse_heartbeat() accepts any bytes and never throws. Lines it
// does not understand are counted, not fatal.
#pragma once

#include "protocol/text.hpp" // printable(), which STATUS= text goes through

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hbmon {

inline constexpr std::size_t max_heartbeat_bytes = 4096; // ZMQ_MAXMSGSIZE
inline constexpr std::size_t max_status_chars = 256;

struct HeartbeatMsg {
  bool ready = false;                // READY=1
  bool trigger = false;              // WATCHDOG=trigger: the app's own panic button
  std::optional<std::string> status; // STATUS=..., made printable and bounded
  unsigned unknown = 0;              // lines that were not understood

  bool operator==(const HeartbeatMsg &) const = default;
};

HeartbeatMsg parse_heartbeat(std::string_view data);

} // namespace hbmon
