// The start scheduler: starts and restarts wait here for their turn, and it
// decides only *when* each runs; whether an app starts is the watchdog's rule.
//
// A spawn costs the loop tens of microseconds (the clone, with a copy of
// hbmond's fd table; the loop does not wait for the child's exec), so
// starts run in slices: the loop takes at most `slice` of them per turn,
// then looks at its fds again, and a thousand apps at boot (or a hundred
// restarts falling due at once) never hold up heartbeats and deadlines for
// longer than about one slice.
//
// Contract: pure, time comes in as arguments; Key is any cheap, comparable
// handle (the supervisor's App *), one that start_queue.cpp instantiates
// the queue for. One entry per key, first in first out; queuing a key
// already queued keeps its place and takes the newer kind.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
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
  };

  StartQueue() = default;
  explicit StartQueue(Limits limits) : limits_(limits) {}

  void push(Key k, Kind kind);
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

  // A turn of the loop begins: its slice starts now.
  void begin_slice(TimePoint now) { slice_began_ = now; }

  // The start to run now, taken off the queue; nullopt when the queue is
  // empty or this turn's slice is used up.
  std::optional<std::pair<Key, Kind>> next(TimePoint now);

private:
  struct Entry {
    Kind kind;
  };
  Limits limits_;
  std::deque<Key> order_;
  std::unordered_map<Key, Entry> queued_;
  TimePoint slice_began_{};
};

} // namespace hbmon
