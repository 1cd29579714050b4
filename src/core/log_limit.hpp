// A rate limit for log lines about one thing (refused heartbeats of one
// app, its heartbeats at debug level): a flood must not become a log flood.
//
// Contract: pure, time comes in as an argument. The first occurrence is
// logged; after that at most one per `period`. Occurrences held back in
// between are counted, and the next line that is let through says how many.
#pragma once

#include <cstdint>
#include <optional>

namespace hbmon {

template <typename TimePoint> class LogLimit {
public:
  using Duration = typename TimePoint::duration;

  explicit LogLimit(Duration period) : period_(period) {}

  // One occurrence at `now`: nullopt to hold its line back, else the number
  // of occurrences held back since the last line (to be logged with it).
  std::optional<std::uint64_t> occurred(TimePoint now) {
    if (last_ && now - *last_ < period_) {
      ++held_;
      return std::nullopt;
    }
    last_ = now;
    const std::uint64_t held = held_;
    held_ = 0;
    return held;
  }

private:
  Duration period_;
  std::optional<TimePoint> last_;
  std::uint64_t held_ = 0;
};

} // namespace hbmon
