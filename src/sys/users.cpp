#include "sys/users.hpp"

#include <grp.h>
#include <pwd.h>
#include <vector>

namespace hbmon {

bool uid_in_group(uid_t uid, const std::string &group) {
  std::vector<char> buf(16384);
  struct group gr {
  }, *grp = nullptr;
  if (::getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &grp) != 0 || !grp)
    return false;
  const gid_t gid = grp->gr_gid;
  struct passwd pw {
  }, *pwp = nullptr;
  std::vector<char> pbuf(16384);
  if (::getpwuid_r(uid, &pw, pbuf.data(), pbuf.size(), &pwp) != 0 || !pwp)
    return false;
  if (pw.pw_gid == gid)
    return true;
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<std::size_t>(n));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0)
      return false;
  }
  groups.resize(static_cast<std::size_t>(n));
  for (gid_t g : groups)
    if (g == gid)
      return true;
  return false;
}

} // namespace hbmon
