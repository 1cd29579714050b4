// How much of one app's output reaches the log: at most `lines` lines and
// `bytes` bytes per `interval` (fixed windows, as journald limits a
// service), so one chatty app cannot use up the journal's rate limit that
// every app and hbmond itself share.
//
// Contract: pure, time comes in as an argument. A window begins with the
// first line after the previous one ended; within it, lines beyond either
// limit are dropped and counted. Once the window has ended, take_report()
// hands out how many were dropped in it, exactly once, so the log can say
// so in one line; report_due() says when that will be.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace hbmon {

class OutputLimit {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = TimePoint::duration;
  struct Limits {
    std::uint64_t lines;
    std::uint64_t bytes;
    Duration interval;
  };

  explicit OutputLimit(Limits l) : limits_(l) {}

  // A line of `bytes` at `now`: true to log it, false when it is dropped.
  // Call take_report(now) first: a window that ended is reported before
  // the next one begins.
  bool admit(std::size_t bytes, TimePoint now);

  // Lines dropped in a window that has ended by `now` (or, with `now`
  // unset, in the current one: the run is over): 0 when none, and every
  // drop is reported once.
  std::uint64_t take_report(std::optional<TimePoint> now);

  // When the window with unreported drops ends.
  std::optional<TimePoint> report_due() const;

  std::uint64_t dropped_total() const { return dropped_total_; }
  const Limits &limits() const { return limits_; }

private:
  Limits limits_;
  TimePoint end_ = TimePoint::min(); // of the current window
  std::uint64_t lines_ = 0, bytes_ = 0;
  std::uint64_t dropped_ = 0; // not reported yet
  std::uint64_t dropped_total_ = 0;
};

} // namespace hbmon
