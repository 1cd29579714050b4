#include "core/start_queue.hpp"

namespace hbmon {

template <typename Key> void StartQueue<Key>::push(Key k, Kind kind) {
  auto [it, added] = queued_.try_emplace(k, Entry{kind});
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
std::optional<std::pair<Key, typename StartQueue<Key>::Kind>> StartQueue<Key>::next(TimePoint now) {
  if (order_.empty() || now - slice_began_ >= limits_.slice)
    return std::nullopt;
  const Key k = order_.front();
  const Entry e = queued_.at(k);
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
