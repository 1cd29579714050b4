#include "core/start_queue.hpp"

namespace hbmon {

template <typename Key> void StartQueue<Key>::push(Key k, Kind kind, TimePoint now) {
  auto [it, added] = queued_.try_emplace(k, Entry{kind, now});
  if (added)
    order_.push_back(k);
  else
    it->second.kind = kind;
}

template <typename Key> void StartQueue<Key>::remove(Key k) {
  if (queued_.erase(k))
    std::erase(order_, k);
}

template <typename Key>
void StartQueue<Key>::set_kill_deadline(Key k, std::optional<TimePoint> at) {
  auto it = kill_at_.find(k);
  if (it != kill_at_.end()) {
    if (at == it->second)
      return;
    kills_.erase({it->second, k});
    kill_at_.erase(it);
  }
  if (at) {
    kill_at_.emplace(k, *at);
    kills_.emplace(*at, k);
  }
}

template <typename Key>
std::optional<std::pair<Key, typename StartQueue<Key>::Kind>> StartQueue<Key>::next(TimePoint now) {
  held_ = false;
  if (order_.empty() || now - slice_began_ >= limits_.slice)
    return std::nullopt;
  const Key k = order_.front();
  const Entry e = queued_.at(k);
  if (!kills_.empty() && kills_.begin()->first - now < limits_.guard &&
      now - e.queued_at < limits_.max_defer) {
    held_ = true; // that kill's timer wakes the loop, and the queue goes on
    return std::nullopt;
  }
  order_.pop_front();
  queued_.erase(k);
  return std::make_pair(k, e.kind);
}

// The keys the queue is used with: the supervisor's apps (daemon/app.hpp;
// a pointer needs no more than the name) and the unit tests' ints.
struct App;
template class StartQueue<App *>;
template class StartQueue<int>;

} // namespace hbmon
