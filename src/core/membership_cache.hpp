// Who is in the admin group, remembered for a while: asking the user
// database (NSS, perhaps LDAP) may take seconds, and every request that
// changes something would ask again.
//
// Contract: pure (the time is passed in). find() gives what store() was
// told about a uid until `lifetime` has passed since, nullopt after that
// and for a uid never stored. Each store() drops the entries that have
// expired, so the table holds only the uids looked up within one lifetime.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <sys/types.h>

namespace hbmon {

class MembershipCache {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = TimePoint::duration;

  explicit MembershipCache(Duration lifetime) : lifetime_(lifetime) {}

  std::optional<bool> find(uid_t uid, TimePoint now) const;
  void store(uid_t uid, bool member, TimePoint now);
  std::size_t size() const { return entries_.size(); }

private:
  struct Entry {
    bool member = false;
    TimePoint since;
  };
  bool expired(const Entry &e, TimePoint now) const;

  Duration lifetime_;
  std::map<uid_t, Entry> entries_;
};

} // namespace hbmon
