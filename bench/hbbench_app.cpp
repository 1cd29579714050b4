// hbbench_app: the lightest heartbeating app, for benchmarks at 10,000 apps.
//
// It speaks ZMTP 3.0 (NULL mechanism, PUSH socket type) by hand over the
// AF_UNIX socket named by $HBMON_ENDPOINT (ipc:// only), so it needs no
// libzmq, no threads and little memory: 10,000 of them fit on a small box.
//
// With $NOTIFY_SOCKET set (heartbeat.protocol "notify") it speaks systemd's
// notify protocol instead, as sd_notify(3) does but without libsystemd: one
// "READY=1" datagram, then a "WATCHDOG=1" datagram per heartbeat, each a
// plain sendto() on an AF_UNIX SOCK_DGRAM socket. The kernel attaches the
// sender's credentials (hbmond set SO_PASSCRED), and the sender is the app
// itself, so hbmond's sender check passes.
//
// Usage: hbbench_app [--period S] [--beats N] [--then stall|beat|exit CODE]
//                    [--flood] [--trace FILE]
//   --period S    seconds between heartbeats (default 1)
//   --beats N     send N heartbeats (the first at once), then do --then
//                 (default: beat forever)
//   --then WHAT   stall: stop beating and sleep forever; exit CODE: exit
//   --flood       send heartbeats as fast as the socket takes them (empty
//                 ZMTP messages, or WATCHDOG=1 datagrams)
//   --trace FILE  append "start <pid> <ns>", "last <pid> <ns>" (the last
//                 beat, before stalling) and "exit <pid> <code> <ns>"
//                 (CLOCK_MONOTONIC; many apps may share one file)
#include "trace_file.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

const char *trace_path = nullptr;

long long mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void trace(const std::string &line) { hbtest::append_line(trace_path, line); }

void trace_exit(int code) {
  trace("exit " + std::to_string(::getpid()) + " " + std::to_string(code) + " " +
        std::to_string(mono_ns()));
}

[[noreturn]] void die(const char *what) {
  std::fprintf(stderr, "hbbench_app: %s: %s\n", what, std::strerror(errno));
  std::exit(111);
}

// All n bytes through op (send or recv), or false on EOF or an error.
template <typename Op> bool transfer_all(Op op, unsigned char *b, std::size_t n) {
  while (n > 0) {
    ssize_t k = op(b, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return false;
    b += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

bool send_all(int fd, const void *p, std::size_t n) {
  return transfer_all(
      [fd](unsigned char *b, std::size_t k) { return ::send(fd, b, k, MSG_NOSIGNAL); },
      const_cast<unsigned char *>(static_cast<const unsigned char *>(p)), n);
}

bool recv_all(int fd, void *p, std::size_t n) {
  return transfer_all([fd](unsigned char *b, std::size_t k) { return ::recv(fd, b, k, 0); },
                      static_cast<unsigned char *>(p), n);
}

// Skip one frame or command of the peer.
bool skip_frame(int fd) {
  unsigned char flags = 0;
  if (!recv_all(fd, &flags, 1))
    return false;
  std::uint64_t size = 0;
  if (flags & 0x02) { // long size: 8 bytes, network order
    unsigned char s[8];
    if (!recv_all(fd, s, 8))
      return false;
    for (unsigned char c : s)
      size = size << 8 | c;
  } else {
    unsigned char s = 0;
    if (!recv_all(fd, &s, 1))
      return false;
    size = s;
  }
  char buf[256];
  while (size > 0) {
    std::size_t n = size < sizeof buf ? static_cast<std::size_t>(size) : sizeof buf;
    if (!recv_all(fd, buf, n))
      return false;
    size -= n;
  }
  return true;
}

// Connect and complete the ZMTP 3.0 handshake as a PUSH peer.
int zmtp_connect(const char *endpoint) {
  if (!endpoint || std::strncmp(endpoint, "ipc://", 6) != 0) {
    errno = EINVAL;
    die("HBMON_ENDPOINT must be an ipc:// endpoint");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(endpoint + 6) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    die(endpoint);
  }
  std::strcpy(addr.sun_path, endpoint + 6);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0)
    die(endpoint);

  // Greeting: signature, version 3.0, mechanism NULL, as-server 0, filler.
  unsigned char greeting[64] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0, 'N', 'U', 'L', 'L'};
  unsigned char peer[64];
  if (!send_all(fd, greeting, sizeof greeting) || !recv_all(fd, peer, sizeof peer))
    die("ZMTP greeting");
  if (peer[0] != 0xFF || peer[9] != 0x7F || peer[10] < 3) {
    errno = EPROTO;
    die("ZMTP greeting from the peer");
  }
  // READY command with the one property Socket-Type = PUSH.
  const char body[] = "\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH";
  unsigned char cmd[2 + sizeof body - 1] = {0x04, sizeof body - 1};
  std::memcpy(cmd + 2, body, sizeof body - 1);
  if (!send_all(fd, cmd, sizeof cmd) || !skip_frame(fd))
    die("ZMTP READY");
  return fd;
}

// The notify protocol's socket: $NOTIFY_SOCKET, a path or "@" for the
// abstract namespace, as sd_notify(3) takes it.
struct NotifyTarget {
  int fd = -1;
  sockaddr_un addr{};
  socklen_t len = 0;

  explicit NotifyTarget(const char *path) {
    const std::size_t n = std::strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof addr.sun_path) {
      errno = EINVAL;
      die("NOTIFY_SOCKET must be an absolute path or @name");
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path, n);
    if (path[0] == '@')
      addr.sun_path[0] = '\0';
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + (path[0] == '/' ? 1 : 0));
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      die("socket");
  }

  // One datagram. The socket blocks: while hbmond's queue is full the sender
  // waits (a --flood goes at the rate hbmond takes), no beat is dropped.
  bool send(const char *text) const {
    ssize_t k;
    do
      k = ::sendto(fd, text, std::strlen(text), MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr *>(&addr), len);
    while (k < 0 && errno == EINTR);
    return k >= 0;
  }
};

void sleep_for(double seconds) {
  timespec ts{
      static_cast<time_t>(seconds),
      static_cast<long>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e9)};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

} // namespace

int main(int argc, char **argv) {
  double period = 1;
  long beats = -1;
  std::string then = "stall";
  int exit_code = 0;
  bool flood = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hbbench_app: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--period")
      period = std::atof(value());
    else if (a == "--beats")
      beats = std::atol(value());
    else if (a == "--then") {
      then = value();
      if (then == "exit")
        exit_code = std::atoi(value());
    } else if (a == "--flood")
      flood = true;
    else if (a == "--trace")
      trace_path = value();
    else {
      std::fprintf(stderr, "hbbench_app: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  trace("start " + std::to_string(::getpid()) + " " + std::to_string(mono_ns()));
  if (then == "exit" && beats == 0) {
    trace_exit(exit_code);
    return exit_code;
  }
  // systemd's notify protocol when hbmond gave the app a NOTIFY_SOCKET, else ZMTP.
  const char *notify_socket = std::getenv("NOTIFY_SOCKET");
  std::optional<NotifyTarget> notify;
  int fd = -1;
  if (notify_socket && *notify_socket) {
    notify.emplace(notify_socket);
    if (!notify->send("READY=1"))
      die("send READY=1");
  } else {
    fd = zmtp_connect(std::getenv("HBMON_ENDPOINT"));
  }
  const unsigned char empty[2] = {0x00, 0x00}; // last frame, short, size 0
  auto beat = [&] {
    return notify ? notify->send("WATCHDOG=1") : send_all(fd, empty, sizeof empty);
  };

  if (flood && notify) {
    while (beat()) {
    }
    return 0;
  }
  if (flood) {
    unsigned char batch[8192];
    for (std::size_t i = 0; i < sizeof batch; i += 2)
      std::memcpy(batch + i, empty, 2);
    while (send_all(fd, batch, sizeof batch)) {
    }
    return 0;
  }
  long long last = 0;
  for (long n = 0; beats < 0 || n < beats; ++n) {
    if (n > 0)
      sleep_for(period);
    last = mono_ns();
    if (!beat())
      die("send");
  }
  if (then == "exit") {
    trace_exit(exit_code);
    return exit_code;
  }
  trace("last " + std::to_string(::getpid()) + " " + std::to_string(last));
  while (true)
    ::pause();
}
