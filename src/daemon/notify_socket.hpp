// One app's systemd notify socket: an AF_UNIX datagram socket bound by
// hbmond at the app's NOTIFY_SOCKET path, for apps with heartbeat.protocol
// "notify" (SPEC "systemd notify protocol").
//
// Contract: the socket file is born mode 0600 (the umask, not a chmod
// after the bind) and given to the app's user without following a link
// (sys/directories.hpp); a socket file left at the path by a process that is
// gone is replaced, one a live process serves is not (the constructor
// throws). SO_PASSCRED is on, so every datagram carries the sender's
// credentials from the kernel. drain() receives until EAGAIN or the budget
// is spent; each datagram goes to the handler with the sender's
// credentials and the number of fds it passed, and those fds stay open
// until the handler returns (the sender is judged while a waiting
// sd_notify_barrier() still holds it alive), then they are closed: hbmond
// keeps no fd an app sends. A datagram over max_heartbeat_bytes, or whose
// fds did not all fit (the kernel closes those), is handed over flagged, its
// text empty. The socket file goes with the object, if it is still the one
// bound here.
#pragma once

#include "sys/fd.hpp"
#include "sys/loop.hpp"
#include "sys/proc.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace hbmon {

class NotifySocket {
public:
  struct Datagram {
    std::string_view data;
    std::optional<PeerCred> peer;
    std::size_t fds = 0;    // passed with it; closed after the handler
    bool truncated = false; // too long, or more fds than fit: dropped
  };
  using Handler = std::function<void(const Datagram &)>;
  // fds one datagram may pass that are received (and closed) here; the
  // kernel closes the rest (MSG_CTRUNC).
  static constexpr std::size_t max_fds = 16;

  // Throws std::runtime_error with the path and the reason on failure.
  NotifySocket(Loop &loop, std::string path, std::optional<uid_t> owner, std::optional<gid_t> group,
               Handler handler, std::function<void()> on_wake);
  // The socket an hbmond bound before a re-exec, handed over as `fd`: it
  // must be a datagram socket bound at `path` (else this throws, and `fd`
  // is closed). What the app sent meanwhile waits in it.
  NotifySocket(Loop &loop, std::string path, UniqueFd fd, Handler handler,
               std::function<void()> on_wake);
  int fd() const { return fd_.get(); }
  NotifySocket(const NotifySocket &) = delete;
  NotifySocket &operator=(const NotifySocket &) = delete;
  ~NotifySocket();

  // Receive up to `budget` datagrams; true if more may be waiting.
  bool drain(std::size_t budget);
  const std::string &path() const { return path_; }

private:
  std::string path_;
  UniqueFd fd_;
  dev_t dev_ = 0; // of the socket file bound here
  ino_t ino_ = 0;
  Handler handler_;
  std::function<void()> on_wake_;
  Loop::Watch watch_; // after fd_: it leaves the loop before the socket closes
};

} // namespace hbmon
