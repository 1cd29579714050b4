// The heartbeat message: newline-separated KEY=VALUE lines in the
// sd_notify(3) vocabulary, over either of the two wires an app may use.
//
// Over ZeroMQ every message is a heartbeat, and only READY=1, STATUS= and
// WATCHDOG=trigger mean more (SPEC "Heartbeat protocol"). Over systemd's
// notify protocol (a datagram on the app's NOTIFY_SOCKET) only WATCHDOG=1 is
// a heartbeat, and the rest of systemd's vocabulary is read as well (SPEC
// "systemd notify protocol"): STOPPING=1, RELOADING=1, ERRNO=,
// WATCHDOG_USEC=, EXTEND_TIMEOUT_USEC=, and the three hbmond refuses but
// must recognise to answer (MAINPID=, FDSTORE=1, BARRIER=1).
//
// Contract: parse_heartbeat() accepts any bytes and never throws. Lines it
// does not understand, or whose value is malformed, are counted, not fatal.
#pragma once

#include "core/names.hpp"
#include "protocol/text.hpp" // printable(), which STATUS= text goes through

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hbmon {

inline constexpr std::size_t max_heartbeat_bytes = 4096; // ZMQ_MAXMSGSIZE, and a datagram's
inline constexpr std::size_t max_status_chars = 256;

enum class HeartbeatProtocol { zmq, notify };
inline constexpr Names<HeartbeatProtocol, 2> heartbeat_protocol_names{{{
    {HeartbeatProtocol::zmq, "zmq"},
    {HeartbeatProtocol::notify, "notify"},
}}};
static_assert(heartbeat_protocol_names.in_order(), "one name per HeartbeatProtocol, in order");
inline constexpr std::string_view to_string(HeartbeatProtocol p) {
  return heartbeat_protocol_names.name(p);
}

struct HeartbeatMsg {
  bool beat = true;                  // a heartbeat: any ZeroMQ message, WATCHDOG=1 over notify
  bool ready = false;                // READY=1
  bool trigger = false;              // WATCHDOG=trigger: the app's own panic button
  std::optional<std::string> status; // STATUS=..., made printable and bounded
  // The notify protocol's alone (a ZeroMQ message counts them as unknown).
  bool stopping = false;                                   // STOPPING=1
  bool reloading = false;                                  // RELOADING=1
  std::optional<int> error;                                // ERRNO=
  std::optional<std::chrono::microseconds> watchdog_usec;  // WATCHDOG_USEC=, > 0
  std::optional<std::chrono::microseconds> extend_timeout; // EXTEND_TIMEOUT_USEC=
  bool mainpid = false;                                    // MAINPID=: refused
  bool fdstore = false;                                    // FDSTORE=1
  bool barrier = false;                                    // BARRIER=1
  unsigned unknown = 0;                                    // lines that were not understood

  bool operator==(const HeartbeatMsg &) const = default;
};

HeartbeatMsg parse_heartbeat(std::string_view data,
                             HeartbeatProtocol protocol = HeartbeatProtocol::zmq);

} // namespace hbmon
