// `hbmonctl logs APP [-f] [-n N]`: an app's recent lines, as hbmond gives
// them (from the journal under systemd, else from its ring of recent lines;
// hbmond checks that the caller may read them).
//
// Contract: prints the newest N lines like `journalctl -o short` (time,
// identifier[pid], message), or one JSON object per line with --json. With
// -f it then asks again every `follow_period` for the lines after the last
// one it printed (the reply's cursor): hbmond keeps no state for a
// follower and every reply is bounded, so a follower costs hbmond nothing
// between its polls, whatever it does. It runs until a signal ends it, or
// hbmond stops answering (exit 3) or refuses (exit 1).
#pragma once

#include "ctl/client.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace hbmon::ctl {

inline constexpr auto follow_period = std::chrono::milliseconds(250);
// Lines asked for per poll while following.
inline constexpr std::uint64_t follow_batch = 1000;

int show_logs(const ControlTarget &target, const std::string &app, std::uint64_t lines, bool follow,
              bool as_json);

} // namespace hbmon::ctl
