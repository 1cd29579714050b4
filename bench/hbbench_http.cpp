// hbbench_http: the shared HTTP server behind bench/run's probes measure.
//
// One thread, epoll, non-blocking sockets, HTTP/1.1 at its most minimal: it
// answers every request (whatever its method) with "200 OK" and a two-byte
// body, keeps the connection open unless the client closes it, and records
// per request its arrival (CLOCK_MONOTONIC, when the request's head is
// complete) and its path, in memory.
//
// Usage: hbbench_http OUT
// Binds 127.0.0.1 on a port the kernel picks and prints "ready <port>" on
// stdout. On SIGTERM or SIGINT it writes "<ns> <path>" a line to OUT, one
// per request in arrival order, and exits 0.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t stop = 0;

void on_signal(int) { stop = 1; }

[[noreturn]] void die(const char *what) {
  std::fprintf(stderr, "hbbench_http: %s: %s\n", what, std::strerror(errno));
  std::exit(111);
}

long long mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Request {
  long long ns;
  std::string path;
};

struct Conn {
  std::string in;
  std::string out;
  bool want_out = false; // EPOLLOUT in its epoll events
};

constexpr char reply[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

// Sends what is queued; false when the connection is gone.
bool flush(int fd, Conn &c) {
  while (!c.out.empty()) {
    ssize_t k = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    if (k <= 0)
      return false;
    c.out.erase(0, static_cast<std::size_t>(k));
  }
  return true;
}

// Takes every complete request head out of c.in; false on a bad request.
bool parse(Conn &c, std::vector<Request> &log) {
  for (;;) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos)
      return c.in.size() < 16384;
    auto sp1 = c.in.find(' ');
    auto sp2 = sp1 == std::string::npos ? sp1 : c.in.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || sp2 > end)
      return false;
    log.push_back({mono_ns(), c.in.substr(sp1 + 1, sp2 - sp1 - 1)});
    c.in.erase(0, end + 4);
    c.out += reply;
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hbbench_http OUT\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr); // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    die("socket");
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0)
    die("bind");
  if (::listen(lfd, 4096) < 0)
    die("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(lfd, reinterpret_cast<sockaddr *>(&addr), &len) < 0)
    die("getsockname");

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    die("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
    die("epoll_ctl");

  std::printf("ready %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  std::vector<Request> log;
  log.reserve(1 << 16);
  std::unordered_map<int, Conn> conns;
  std::vector<epoll_event> events(256);
  std::vector<char> buf(16384);

  auto drop = [&](int fd) {
    ::close(fd); // also takes it out of the epoll set
    conns.erase(fd);
  };

  while (!stop) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0)
            break; // EAGAIN, or a transient error: epoll tells us again
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = c;
          if (::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0) {
            ::close(c);
            continue;
          }
          conns[c];
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end())
        continue;
      Conn &c = it->second;
      bool alive = true;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          ssize_t k = ::recv(fd, buf.data(), buf.size(), 0);
          if (k > 0) {
            c.in.append(buf.data(), static_cast<std::size_t>(k));
            continue;
          }
          if (k < 0 && errno == EINTR)
            continue;
          if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
          alive = false; // EOF or an error: answer what came, then close
          break;
        }
        if (!parse(c, log))
          alive = false;
      }
      bool sent = flush(fd, c);
      if (!alive || !sent) {
        drop(fd);
        continue;
      }
      if (c.want_out == c.out.empty()) {
        c.want_out = !c.out.empty();
        epoll_event mev{};
        mev.events = EPOLLIN | EPOLLRDHUP | (c.want_out ? static_cast<unsigned>(EPOLLOUT) : 0u);
        mev.data.fd = fd;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mev);
      }
    }
  }

  std::FILE *out = std::fopen(argv[1], "w");
  if (!out)
    die(argv[1]);
  for (const auto &r : log)
    std::fprintf(out, "%lld %s\n", r.ns, r.path.c_str());
  if (std::fclose(out) != 0)
    die(argv[1]);
  return 0;
}
