#include "core/timer_queue.hpp"

#include <algorithm>

namespace hbmon {

bool TimerQueue::later(const Entry &a, const Entry &b) {
  return a.when != b.when ? a.when > b.when : a.key > b.key;
}

void TimerQueue::arm(Key key, TimePoint when) {
  const std::uint64_t stamp = ++stamps_;
  by_key_.insert_or_assign(key, Live{when, stamp});
  push(Entry{when, key, stamp});
  settle();
}

void TimerQueue::cancel(Key key) {
  if (by_key_.erase(key))
    settle();
}

std::optional<TimerQueue::TimePoint> TimerQueue::when(Key key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end())
    return std::nullopt;
  return it->second.when;
}

std::vector<TimerQueue::Key> TimerQueue::take_due(TimePoint now) {
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

bool TimerQueue::stale(const Entry &e) const {
  auto it = by_key_.find(e.key);
  return it == by_key_.end() || it->second.stamp != e.stamp;
}

void TimerQueue::push(const Entry &e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void TimerQueue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
}

// Stale entries off the top; the heap rebuilt from the live ones when they
// are more than half of it (a deadline moved 1,000 times a second leaves at
// most as many behind as there are live ones, plus 64).
void TimerQueue::settle() {
  if (heap_.size() > 2 * by_key_.size() + 64) {
    heap_.clear();
    for (const auto &[key, live] : by_key_)
      heap_.push_back(Entry{live.when, key, live.stamp});
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
  while (!heap_.empty() && stale(heap_.front()))
    pop();
}

} // namespace hbmon
