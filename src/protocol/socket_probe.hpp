// Who, if anyone, serves a unix socket: a plain connect(). hbmond asks
// before it binds an ipc:// endpoint (libzmq would silently take over the
// file of a daemon still serving it); hbmonctl asks before it talks ZeroMQ
// (which would retry a missing or dead socket in silence until its timeout),
// and before it binds a notify-protocol datagram socket.
#pragma once

#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>

namespace hbmon {

struct UnixSocketProbe {
  // 0 when a process serves the socket (also when it is alive but too busy
  // to accept); else why not: connect()'s errno, ENOTSOCK for a file that
  // is no socket.
  int error = 0;
  // When served: the server's pid (its SO_PEERCRED), or 0 when unknown.
  pid_t server = 0;

  bool served() const { return error == 0; }
};

// nullopt when it cannot tell: `path` does not fit a sockaddr_un, or no
// socket could be made to try.
// `type`: SOCK_STREAM or SOCK_DGRAM (whose server is always unknown).
std::optional<UnixSocketProbe> probe_unix_socket(const std::string &path, int type = SOCK_STREAM);

} // namespace hbmon
