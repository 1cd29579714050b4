#include "daemon/notify_socket.hpp"

#include "core/heartbeat.hpp"
#include "protocol/socket_probe.hpp"
#include "sys/directories.hpp"

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace hbmon {

namespace {

[[noreturn]] void fail(const std::string &what, const std::string &path, int err) {
  throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

// A socket file at `path` that nobody serves any more (hbmond's own,
// left by a crash) is removed; anything else stays and stops the bind.
void clear_stale_file(const std::string &path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT)
      return;
    fail("stat", path, errno);
  }
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error(
        fmt::format("bind {}: a file that is not a socket is in the way; remove it", path));
  // Only a connect() refused for want of a receiver says the file is stale:
  // a live socket of another type answers EPROTOTYPE, and is left alone too.
  auto probe = probe_unix_socket(path, SOCK_DGRAM);
  if (!probe || probe->error != ECONNREFUSED)
    throw std::runtime_error(fmt::format(
        "bind {}: another process is serving it (is another hbmond running on this runtime dir?)",
        path));
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    fail("unlink", path, errno);
}

} // namespace

NotifySocket::NotifySocket(Loop &loop, std::string path, std::optional<uid_t> owner,
                           std::optional<gid_t> group, Handler handler,
                           std::function<void()> on_wake)
    : path_(std::move(path)), handler_(std::move(handler)), on_wake_(std::move(on_wake)) {
  sockaddr_un sa{};
  if (path_.size() >= sizeof sa.sun_path)
    throw std::runtime_error(fmt::format("bind {}: the path is too long", path_));
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);

  fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_)
    fail("socket for", path_, errno);
  const int on = 1;
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
    fail("SO_PASSCRED on", path_, errno);
  clear_stale_file(path_);
  {
    // Born 0600: no window in which another user could keep a hung app alive.
    UmaskGuard mask(0177);
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof sa) < 0)
      fail("bind", path_, errno);
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  if (owner || group)
    if (int err = give_socket_file(path_, owner, group)) {
      ::unlink(path_.c_str());
      fail("chown", path_, err);
    }
  watch_ = loop.watch(fd_.get(), EPOLLIN, [this](std::uint32_t) { on_wake_(); });
}

NotifySocket::NotifySocket(Loop &loop, std::string path, UniqueFd fd, Handler handler,
                           std::function<void()> on_wake)
    : path_(std::move(path)), fd_(std::move(fd)), handler_(std::move(handler)),
      on_wake_(std::move(on_wake)) {
  sockaddr_un sa{};
  socklen_t len = sizeof sa;
  int type = 0;
  socklen_t type_len = sizeof type;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr *>(&sa), &len) < 0 ||
      ::getsockopt(fd_.get(), SOL_SOCKET, SO_TYPE, &type, &type_len) < 0)
    fail("handed-over socket for", path_, errno);
  const std::size_t n =
      len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
  if (sa.sun_family != AF_UNIX || type != SOCK_DGRAM ||
      std::string_view(sa.sun_path, ::strnlen(sa.sun_path, n)) != path_)
    throw std::runtime_error(
        fmt::format("handed-over socket for {}: not a datagram socket bound there", path_));
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  watch_ = loop.watch(fd_.get(), EPOLLIN, [this](std::uint32_t) { on_wake_(); });
}

NotifySocket::~NotifySocket() {
  watch_.reset();
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
    ::unlink(path_.c_str());
}

bool NotifySocket::drain(std::size_t budget) {
  // A longer datagram comes with MSG_TRUNC, more fds than fit with MSG_CTRUNC.
  std::array<char, max_heartbeat_bytes> buf;
  union {
    char space[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * max_fds)];
    cmsghdr align;
  } control;
  for (std::size_t n = 0; n < budget; ++n) {
    iovec iov{buf.data(), buf.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof control.space;
    const ssize_t got = ::recvmsg(fd_.get(), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (got < 0)
      return errno == EINTR; // EAGAIN: drained; anything else: the next wake-up retries
    Datagram d;
    std::array<UniqueFd, max_fds> fds; // closed when this datagram is done
    for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET)
        continue;
      if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        d.peer = PeerCred{cred.uid, cred.gid, cred.pid};
      } else if (c->cmsg_type == SCM_RIGHTS) {
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          if (d.fds < fds.size())
            fds[d.fds++].reset(fd);
          else
            ::close(fd); // cannot happen: the buffer holds max_fds
        }
      }
    }
    d.truncated = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
    if (!d.truncated)
      d.data = std::string_view(buf.data(), static_cast<std::size_t>(got));
    handler_(d);
  }
  return true;
}

} // namespace hbmon
