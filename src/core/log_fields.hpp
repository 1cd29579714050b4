// The structured side of a log line about an app, for the journal: which
// kind of line it is (a MESSAGE_ID that alerting can match on, stable
// across versions and listed in hbmond(8)) and the facts in it, so that no
// one has to parse the text.
//
// Contract: pure data. An empty `message_id` means a line without one;
// `pid` 0, an unset `exit` and an empty `reason` are left out. The ids are
// 128-bit, written as 32 lowercase hex digits (journald's MESSAGE_ID form),
// made once with `systemd-id128 new` and never changed.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

namespace hbmon {

namespace message_id {
inline constexpr std::string_view started = "4a417fa566de44299f506ddec32be46e";
inline constexpr std::string_view killed = "96b6fbc6864d473aa83e42866f204c77";
inline constexpr std::string_view exited = "6f7d8a730ddc4285bc8dd133e7cf2f1d";
inline constexpr std::string_view panic = "4807a8f3b3604d82a59b3eda87636755";
inline constexpr std::string_view failed = "8b3c3300c8984d27bf7cc5ef3869c6fb";
inline constexpr std::string_view start_limit = "8894e7e041374ae59c6f2ccc832f14f2";
inline constexpr std::string_view start_failed = "e0ef3706e12341fa85a22642274427c8";
} // namespace message_id

struct LogFields {
  std::string_view message_id{}; // one of message_id::*
  pid_t pid = 0;                 // HBMON_PID
  int exit_status = -1;          // HBMON_EXIT_STATUS (-1: none)
  int signal = 0;                // HBMON_SIGNAL, by name (0: none)
  std::string reason{};          // HBMON_REASON
};

} // namespace hbmon
