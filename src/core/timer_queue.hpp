// All deadlines in one ordered structure: one live entry per key, O(log n)
// (amortized) to arm, move or cancel, O(1) to find the earliest. The loop
// waits until the earliest, so 10,000 apps cost no fd of timers.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hbmon {

template <typename TimePoint> class TimerQueue {
public:
  using Key = std::uint64_t;

  // Arm (or move) the deadline of `key`.
  void arm(Key key, TimePoint when) {
    const std::uint64_t stamp = ++stamps_;
    by_key_.insert_or_assign(key, Live{when, stamp});
    push(Entry{when, key, stamp});
    settle();
  }

  void cancel(Key key) {
    if (by_key_.erase(key))
      settle();
  }

  std::optional<TimePoint> when(Key key) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end())
      return std::nullopt;
    return it->second.when;
  }

  std::optional<TimePoint> earliest() const {
    if (heap_.empty())
      return std::nullopt;
    return heap_.front().when; // settle() keeps a live entry on top
  }

  // Remove and return the keys due at `now`, earliest first.
  std::vector<Key> take_due(TimePoint now) {
    std::vector<Key> due;
    while (!heap_.empty() && heap_.front().when <= now) {
      const Key k = heap_.front().key;
      pop();
      by_key_.erase(k);
      due.push_back(k);
      settle();
    }
    return due;
  }

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
  static bool later(const Entry &a, const Entry &b) {
    return a.when != b.when ? a.when > b.when : a.key > b.key;
  }
  bool stale(const Entry &e) const {
    auto it = by_key_.find(e.key);
    return it == by_key_.end() || it->second.stamp != e.stamp;
  }
  void push(const Entry &e) {
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  void pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
  // Stale entries off the top; the heap rebuilt from the live ones when
  // they are more than half of it (a deadline moved 1,000 times a second
  // leaves at most as many behind as there are live ones, plus 64).
  void settle() {
    if (heap_.size() > 2 * by_key_.size() + 64) {
      heap_.clear();
      for (const auto &[key, live] : by_key_)
        heap_.push_back(Entry{live.when, key, live.stamp});
      std::make_heap(heap_.begin(), heap_.end(), later);
    }
    while (!heap_.empty() && stale(heap_.front()))
      pop();
  }

  std::vector<Entry> heap_;
  std::unordered_map<Key, Live> by_key_;
  std::uint64_t stamps_ = 0;
};

} // namespace hbmon
