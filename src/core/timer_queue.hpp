// All deadlines in one ordered structure: one entry per key, O(log n) to
// arm, move or cancel, O(1) to find the earliest. The loop waits until the
// earliest, so 10,000 apps cost no fd of timers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hbmon {

template <typename TimePoint> class TimerQueue {
public:
  using Key = std::uint64_t;

  // Arm (or move) the deadline of `key`.
  void arm(Key key, TimePoint when) {
    cancel(key);
    by_time_.emplace(when, key);
    by_key_.emplace(key, when);
  }

  void cancel(Key key) {
    auto it = by_key_.find(key);
    if (it == by_key_.end())
      return;
    by_time_.erase({it->second, key});
    by_key_.erase(it);
  }

  std::optional<TimePoint> when(Key key) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end())
      return std::nullopt;
    return it->second;
  }

  std::optional<TimePoint> earliest() const {
    if (by_time_.empty())
      return std::nullopt;
    return by_time_.begin()->first;
  }

  // Remove and return the keys due at `now`, earliest first.
  std::vector<Key> take_due(TimePoint now) {
    std::vector<Key> due;
    while (!by_time_.empty() && by_time_.begin()->first <= now) {
      Key k = by_time_.begin()->second;
      by_time_.erase(by_time_.begin());
      by_key_.erase(k);
      due.push_back(k);
    }
    return due;
  }

  std::size_t size() const { return by_key_.size(); }
  bool empty() const { return by_key_.empty(); }

private:
  std::set<std::pair<TimePoint, Key>> by_time_;
  std::unordered_map<Key, TimePoint> by_key_;
};

} // namespace hbmon
