#include "sys/users.hpp"

#include "sys/fd.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

namespace hbmon {

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
