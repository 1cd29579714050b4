// The start scheduler: starts and restarts wait here for their turn, and it
// decides only *when* each runs; whether an app starts is the watchdog's rule.
//
// A spawn holds the loop until the child has exec'd (a few ms, more on a
// busy box), so starts run in slices: the loop takes at most `slice` of
// them per turn, then looks at its fds again, and a thousand apps at boot
// (or a hundred restarts falling due at once) never hold up heartbeats and
// deadlines for longer than about one slice. And no start runs when a kill
// falls due within `guard` (its verdict would be late by a spawn), unless
// it has waited `max_defer` already: kills cannot starve restarts.
//
// Contract: pure, time comes in as arguments; Key is any cheap, comparable
// handle (the supervisor's App *), one that start_queue.cpp instantiates
// the queue for. One entry per key, first in first out; queuing a key
// already queued keeps its place and takes the newer kind.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

namespace hbmon {

template <typename Key> class StartQueue {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = TimePoint::duration;
  enum class Kind { start, restart };
  struct Limits {
    Duration slice = std::chrono::milliseconds(2);
    Duration guard = std::chrono::milliseconds(10);
    Duration max_defer = std::chrono::milliseconds(100);
  };

  StartQueue() = default;
  explicit StartQueue(Limits limits) : limits_(limits) {}

  void push(Key k, Kind kind, TimePoint now);
  // Forget a queued start (an admin's word supersedes it, or the app goes).
  void remove(Key k);
  bool contains(Key k) const { return queued_.count(k) != 0; }
  // What `k` waits for (nullopt: it is not queued).
  std::optional<Kind> kind_of(Key k) const {
    auto it = queued_.find(k);
    return it == queued_.end() ? std::nullopt : std::optional<Kind>(it->second.kind);
  }
  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }

  // The time at which `k` will be killed unless something comes first
  // (nullopt: none pending).
  void set_kill_deadline(Key k, std::optional<TimePoint> at);

  // Whether the last next() held back a start for a kill about to fall due
  // (then the loop may sleep until that kill's timer; otherwise, while
  // starts are queued, it must come back at once).
  bool held_for_kill() const { return held_; }

  // A turn of the loop begins: its slice starts now.
  void begin_slice(TimePoint now) { slice_began_ = now; }

  // The start to run now, taken off the queue; nullopt when the queue is
  // empty, this turn's slice is used up, or the head must let a kill go first.
  std::optional<std::pair<Key, Kind>> next(TimePoint now);

private:
  struct Entry {
    Kind kind;
    TimePoint queued_at;
  };
  Limits limits_;
  std::deque<Key> order_;
  std::unordered_map<Key, Entry> queued_;
  std::set<std::pair<TimePoint, Key>> kills_;
  std::unordered_map<Key, TimePoint> kill_at_;
  TimePoint slice_began_{};
  bool held_ = false;
};

} // namespace hbmon
