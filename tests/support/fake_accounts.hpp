// Accounts for tests that must not depend on the machine's /etc/passwd:
// a few users and groups shaped like Debian's (root, daemon, nobody,
// nogroup), and names whose lookup fails, as when an NSS service is down.
#pragma once

#include "core/accounts.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <vector>

namespace hbtest {

class FakeAccounts : public hbmon::Accounts {
public:
  std::vector<hbmon::UserAccount> users = {
      {"root", 0, 0, "/root"},
      {"daemon", 1, 1, "/usr/sbin"},
      {"nobody", 65534, 65534, "/nonexistent"},
  };
  std::vector<hbmon::GroupAccount> groups = {{"root", 0}, {"daemon", 1}, {"nogroup", 65534}};
  // user -> supplementary groups (beyond the one it runs with).
  std::map<std::string, std::vector<gid_t>> members = {{"daemon", {0}}};
  // Looking these up fails with EIO, for users and groups alike.
  std::vector<std::string> unreachable = {"ldap-user"};

  hbmon::Lookup<hbmon::UserAccount> user_by_name(const std::string &name) const override {
    return find(
        users, [&](const auto &u) { return u.name == name; }, name);
  }
  hbmon::Lookup<hbmon::UserAccount> user_by_id(uid_t uid) const override {
    return find(users, [&](const auto &u) { return u.uid == uid; });
  }
  hbmon::Lookup<hbmon::GroupAccount> group_by_name(const std::string &name) const override {
    return find(
        groups, [&](const auto &g) { return g.name == name; }, name);
  }
  hbmon::Lookup<hbmon::GroupAccount> group_by_id(gid_t gid) const override {
    return find(groups, [&](const auto &g) { return g.gid == gid; });
  }
  std::vector<gid_t> groups_of(const std::string &user, gid_t gid) const override {
    std::vector<gid_t> out{gid};
    if (auto it = members.find(user); it != members.end())
      for (gid_t g : it->second)
        if (g != gid)
          out.push_back(g);
    return out;
  }

private:
  template <typename Entry, typename Match>
  hbmon::Lookup<Entry> find(const std::vector<Entry> &table, Match match,
                            const std::string &name = "") const {
    if (std::find(unreachable.begin(), unreachable.end(), name) != unreachable.end())
      return {std::nullopt, EIO};
    for (const Entry &e : table)
      if (match(e))
        return {e, 0};
    return {};
  }
};

} // namespace hbtest
