// Who is in the admin group, remembered for a while: asking the user
// database (NSS, perhaps LDAP) may take seconds, and every request that
// changes something would ask again.
//
// Contract: pure (the time is passed in). find() gives what store() was
// told about a uid until `lifetime` has passed since, nullopt after that
// and for a uid never stored. Each store() drops the entries that have
// expired, so the table holds only the uids looked up within one lifetime.
#pragma once

#include <map>
#include <optional>
#include <sys/types.h>

namespace hbmon {

template <typename TimePoint> class MembershipCache {
public:
  using Duration = typename TimePoint::duration;

  explicit MembershipCache(Duration lifetime) : lifetime_(lifetime) {}

  std::optional<bool> find(uid_t uid, TimePoint now) const {
    auto it = entries_.find(uid);
    if (it == entries_.end() || expired(it->second, now))
      return std::nullopt;
    return it->second.member;
  }

  void store(uid_t uid, bool member, TimePoint now) {
    std::erase_if(entries_, [&](const auto &e) { return expired(e.second, now); });
    entries_[uid] = {member, now};
  }

  std::size_t size() const { return entries_.size(); }

private:
  struct Entry {
    bool member = false;
    TimePoint since;
  };
  bool expired(const Entry &e, TimePoint now) const { return now - e.since >= lifetime_; }

  Duration lifetime_;
  std::map<uid_t, Entry> entries_;
};

} // namespace hbmon
