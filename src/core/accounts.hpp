// Users and groups, as the config needs them, behind an interface: the
// verify pass resolves an app's `user` and `group` through it, so core makes
// no NSS call. sys/accounts.hpp answers from the system (passwd, group);
// tests give a fake.
//
// Contract: a lookup either finds the entry, or finds none with error 0 (no
// such account), or finds none with an errno value (the lookup itself failed:
// NSS unreachable, out of memory). Nothing throws.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hbmon {

struct UserAccount {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;    // primary group
  std::string home; // "" when the entry has none
};

struct GroupAccount {
  std::string name;
  gid_t gid = 0;
};

template <typename Entry> struct Lookup {
  std::optional<Entry> found;
  int error = 0; // when not found: 0 for "no such account", else why the lookup failed
};

class Accounts {
public:
  virtual ~Accounts() = default;

  virtual Lookup<UserAccount> user_by_name(const std::string &name) const = 0;
  virtual Lookup<UserAccount> user_by_id(uid_t uid) const = 0;
  virtual Lookup<GroupAccount> group_by_name(const std::string &name) const = 0;
  virtual Lookup<GroupAccount> group_by_id(gid_t gid) const = 0;
  // The groups a process of `user` runs with when its group is `gid`: `gid`
  // and the supplementary groups the system lists for the user.
  virtual std::vector<gid_t> groups_of(const std::string &user, gid_t gid) const = 0;
};

} // namespace hbmon
