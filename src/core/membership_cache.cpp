#include "core/membership_cache.hpp"

namespace hbmon {

std::optional<bool> MembershipCache::find(uid_t uid, TimePoint now) const {
  auto it = entries_.find(uid);
  if (it == entries_.end() || expired(it->second, now))
    return std::nullopt;
  return it->second.member;
}

void MembershipCache::store(uid_t uid, bool member, TimePoint now) {
  std::erase_if(entries_, [&](const auto &e) { return expired(e.second, now); });
  entries_[uid] = {member, now};
}

bool MembershipCache::expired(const Entry &e, TimePoint now) const {
  return now - e.since >= lifetime_;
}

} // namespace hbmon
