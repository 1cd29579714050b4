// A rate limit for log lines about one thing (refused heartbeats of one
// app, its heartbeats at debug level): a flood must not become a log flood.
//
// Contract: pure, time comes in as an argument. The first occurrence is
// logged; after that at most one per `period`. Occurrences held back in
// between are counted, and the next line that is let through says how many.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace hbmon {

class LogLimit {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = TimePoint::duration;

  explicit LogLimit(Duration period) : period_(period) {}

  // One occurrence at `now`: nullopt to hold its line back, else the number
  // of occurrences held back since the last line (to be logged with it).
  std::optional<std::uint64_t> occurred(TimePoint now);

private:
  Duration period_;
  std::optional<TimePoint> last_;
  std::uint64_t held_ = 0;
};

} // namespace hbmon
