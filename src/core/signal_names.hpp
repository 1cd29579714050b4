// Signal names as users write them ("SIGTERM", "TERM", "15", "SIGRTMIN+2")
// and as hbmond prints them. Not to be confused with sys/signals.hpp, which
// receives signals (signalfd).
//
// Contract: pure table lookups. parse_signal() accepts what signal_name()
// writes, so every signal from 1 to max_signal round-trips.
#pragma once

#include <string>
#include <string_view>

namespace hbmon {

// The highest signal number a config or a command may name.
inline constexpr int max_signal = 64;

// "SIGTERM", "TERM" or a number -> signal number; 0 if unknown.
int parse_signal(std::string_view name);
// 15 -> "SIGTERM"; "SIG42" style for unnamed numbers.
std::string signal_name(int sig);

} // namespace hbmon
