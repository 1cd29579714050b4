#include "protocol/socket_probe.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace hbmon {

std::optional<UnixSocketProbe> probe_unix_socket(const std::string &path, int type) {
  sockaddr_un sa{};
  if (path.size() >= sizeof sa.sun_path)
    return std::nullopt;
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return std::nullopt;
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  UnixSocketProbe probe;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (type == SOCK_STREAM && ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
      probe.server = cred.pid;
  } else if (errno != EAGAIN) { // a listener with a full backlog is alive too
    probe.error = errno;
  }
  ::close(fd);
  struct stat st {};
  if (probe.error == ECONNREFUSED && ::stat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
    probe.error = ENOTSOCK;
  return probe;
}

} // namespace hbmon
