#include "sys/unix_dgram.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

namespace hbmon {

std::optional<UnixAddress> unix_address(std::string_view name) {
  UnixAddress a;
  a.sa.sun_family = AF_UNIX;
  if (name.empty() || (name[0] != '/' && name[0] != '@') || name.size() < 2 ||
      name.size() >= sizeof a.sa.sun_path)
    return std::nullopt;
  std::memcpy(a.sa.sun_path, name.data(), name.size());
  if (name[0] == '@')
    a.sa.sun_path[0] = '\0'; // abstract: the length, not a NUL, ends the name
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                 (name[0] == '/' ? 1 : 0));
  return a;
}

UniqueFd unix_dgram_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd)
    throw std::system_error(errno, std::generic_category(), "socket(AF_UNIX, SOCK_DGRAM)");
  return fd;
}

SendResult send_dgram(int fd, std::string_view message, const UnixAddress *to) {
  ssize_t n;
  do {
    n = to ? ::sendto(fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                      reinterpret_cast<const sockaddr *>(&to->sa), to->len)
           : ::send(fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0)
    return SendResult::sent;
  return errno == EAGAIN || errno == ENOBUFS ? SendResult::would_block : SendResult::failed;
}

} // namespace hbmon
