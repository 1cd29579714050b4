// All deadlines in one ordered structure: one live entry per key, O(log n)
// (amortized) to arm, move or cancel, O(1) to find the earliest. The loop
// waits until the earliest, so 10,000 apps cost no fd of timers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hbmon {

// Deadlines on CLOCK_MONOTONIC (std::chrono::steady_clock), the loop's.
class TimerQueue {
public:
  using Key = std::uint64_t;
  using TimePoint = std::chrono::steady_clock::time_point;

  // Arm (or move) the deadline of `key`.
  void arm(Key key, TimePoint when);
  void cancel(Key key);
  std::optional<TimePoint> when(Key key) const;
  std::optional<TimePoint> earliest() const {
    if (heap_.empty())
      return std::nullopt;
    return heap_.front().when; // settle() keeps a live entry on top
  }
  // Remove and return the keys due at `now`, earliest first.
  std::vector<Key> take_due(TimePoint now);

  std::size_t size() const { return by_key_.size(); }
  bool empty() const { return by_key_.empty(); }
  // Entries held, stale ones included: at most 2 * size() + 65.
  std::size_t entries() const { return heap_.size(); }

private:
  // A binary heap of (when, key) with lazy removal: a moved or cancelled
  // deadline leaves its entry behind, known as stale by its stamp, until it
  // comes to the top or the heap is rebuilt. So arming allocates nothing
  // (a heartbeat moves its app's deadline: one push), where a tree would
  // allocate a node and free one.
  struct Entry {
    TimePoint when;
    Key key;
    std::uint64_t stamp;
  };
  struct Live {
    TimePoint when;
    std::uint64_t stamp;
  };
  static bool later(const Entry &a, const Entry &b);
  bool stale(const Entry &e) const;
  void push(const Entry &e);
  void pop();
  void settle();

  std::vector<Entry> heap_;
  std::unordered_map<Key, Live> by_key_;
  std::uint64_t stamps_ = 0;
};

} // namespace hbmon
