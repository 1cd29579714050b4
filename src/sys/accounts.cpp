#include "sys/accounts.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <grp.h>
#include <pwd.h>
#include <vector>

namespace hbmon {

namespace {

UserAccount entry(const passwd &pw) {
  return {pw.pw_name ? pw.pw_name : "", pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : ""};
}

GroupAccount entry(const group &gr) { return {gr.gr_name ? gr.gr_name : "", gr.gr_gid}; }

// One getpw*_r / getgr*_r call for `key`, its buffer grown while too small.
template <typename Raw, typename Key>
auto lookup(int (*call)(Key, Raw *, char *, std::size_t, Raw **), Key key) {
  Raw raw{};
  std::vector<char> buffer(1024);
  using Entry = decltype(entry(raw));
  for (;;) {
    Raw *result = nullptr;
    const int rc = call(key, &raw, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < (1u << 22)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc == 0 && result)
      return Lookup<Entry>{entry(raw), 0};
    // Not found: NSS modules say so in several ways.
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
      return Lookup<Entry>{};
    return Lookup<Entry>{std::nullopt, rc};
  }
}

class SystemAccounts final : public Accounts {
public:
  Lookup<UserAccount> user_by_name(const std::string &name) const override {
    return lookup(::getpwnam_r, name.c_str());
  }
  Lookup<UserAccount> user_by_id(uid_t uid) const override { return lookup(::getpwuid_r, uid); }
  Lookup<GroupAccount> group_by_name(const std::string &name) const override {
    return lookup(::getgrnam_r, name.c_str());
  }
  Lookup<GroupAccount> group_by_id(gid_t gid) const override { return lookup(::getgrgid_r, gid); }

  std::vector<gid_t> groups_of(const std::string &user, gid_t gid) const override {
    int n = 32;
    std::vector<gid_t> groups;
    for (int attempt = 0; attempt < 8; ++attempt) {
      groups.resize(static_cast<std::size_t>(n));
      if (::getgrouplist(user.c_str(), gid, groups.data(), &n) >= 0) {
        groups.resize(static_cast<std::size_t>(n));
        break;
      }
      n = std::max(n, static_cast<int>(groups.size()) * 2);
    }
    return groups;
  }
};

} // namespace

const Accounts &system_accounts() {
  static const SystemAccounts accounts;
  return accounts;
}

bool uid_in_group(uid_t uid, const std::string &group) {
  const Accounts &accounts = system_accounts();
  const auto gr = accounts.group_by_name(group).found;
  if (!gr)
    return false;
  const auto pw = accounts.user_by_id(uid).found;
  if (!pw)
    return false;
  if (pw->gid == gr->gid)
    return true;
  const std::vector<gid_t> groups = accounts.groups_of(pw->name, pw->gid);
  return std::find(groups.begin(), groups.end(), gr->gid) != groups.end();
}

} // namespace hbmon
