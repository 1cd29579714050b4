#include "sys/users.hpp"

#include "sys/fd.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
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

std::optional<pid_t> unix_socket_server(const std::string &path) {
  sockaddr_un sa{};
  if (path.size() >= sizeof sa.sun_path)
    return std::nullopt;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd)
    return std::nullopt;
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
      return cred.pid;
    return 0;
  }
  if (errno == EAGAIN) // a listener with a full backlog is alive too
    return 0;
  return std::nullopt;
}

} // namespace hbmon
