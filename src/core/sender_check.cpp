#include "core/sender_check.hpp"

namespace hbmon {

bool SenderCheck::accept(pid_t app_pid, pid_t sender, Now now, StartOf start_of,
                         IsDescendant is_descendant) {
  if (app_pid <= 0 || sender <= 0)
    return false;
  if (sender == app_pid)
    return true;
  if (sender == accepted_) {
    if (start_of(sender) == accepted_start_) // empty when it is gone
      return true;
    accepted_ = 0; // that process is gone: whoever has its pid now is judged
  }
  const TimePoint t = now();
  if (sender == refused_ && t - refused_at_ < negative_cache_)
    return false;
  // The start before and after the walk: a pid that changed hands
  // meanwhile is refused.
  const std::optional<std::uint64_t> start = start_of(sender);
  if (start && is_descendant(sender, app_pid) && start_of(sender) == start) {
    accepted_ = sender;
    accepted_start_ = *start;
    return true;
  }
  refused_ = sender;
  refused_at_ = t;
  return false;
}

} // namespace hbmon
