// A small non-negative number written as text, as in "15", "SIG42" or the
// port of "tcp://host:5555".
//
// Contract: digits only (no sign, no spaces), at most 9 of them, so the value
// always fits an int; anything else is nullopt.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace hbmon {

inline std::optional<int> small_number(std::string_view s) {
  if (s.empty() || s.size() > 9)
    return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.front() == '+' || s.front() == '-')
    return std::nullopt;
  return n;
}

} // namespace hbmon
