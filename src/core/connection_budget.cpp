#include "core/connection_budget.hpp"

namespace hbmon {

bool ConnectionBudget::accepted(int fd, uid_t uid, Inode inode, StillOpen still_open) {
  closed(fd); // the fd's previous connection is gone: the kernel reused its number
  if (over(uid)) {
    forget_stale(uid, still_open);
    if (over(uid)) {
      ++refused_;
      return false;
    }
  }
  open_.emplace(fd, Entry{uid, inode});
  ++per_uid_[uid];
  ++pool_.open;
  return true;
}

void ConnectionBudget::closed(int fd) {
  auto it = open_.find(fd);
  if (it == open_.end())
    return;
  auto u = per_uid_.find(it->second.uid);
  if (--u->second == 0)
    per_uid_.erase(u);
  open_.erase(it);
  --pool_.open;
}

bool ConnectionBudget::over(uid_t uid) const {
  return open_by(uid) >= limits_.per_uid || (!trusted(uid) && pool_.open >= pool_.limit);
}

// The pool is shared: a stale entry of another uid would also hold the
// limit, so a pool-wide refusal checks every entry of this budget.
void ConnectionBudget::forget_stale(uid_t uid, StillOpen still_open) {
  const bool pool_full = pool_.open >= pool_.limit;
  for (auto it = open_.begin(); it != open_.end();) {
    const auto [fd, e] = *it;
    ++it; // closed() erases fd's entry
    if ((pool_full || e.uid == uid) && !still_open(fd, e.inode))
      closed(fd);
  }
}

} // namespace hbmon
