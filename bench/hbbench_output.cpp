// hbbench_output: bench/run's output rows.
//
//   hbbench_output talk RATE
//       Prints RATE lines a second to stdout (72 bytes each, a number in
//       it), a burst every 10 ms, until killed.
//   hbbench_output sink PATH
//       journald's stand-in: binds a datagram socket at PATH and reads
//       entries as they come (recvmmsg), counting them. Prints "ready" once
//       bound; on SIGTERM or SIGINT prints the count and exits.
//   hbbench_output relay SOCKET N RATE
//       The floor: the least a supervisor that journals its apps' lines can
//       cost. Starts N talkers (this program, talk RATE), each with its
//       stdout on a pipe of its own on one epoll; reads a readable pipe
//       64 KiB at a time, splits what it read into lines, and sends each
//       line as one journal entry with the fields hbmond sends (MESSAGE,
//       PRIORITY, SYSLOG_IDENTIFIER, HBMON_APP, SYSLOG_PID), all the lines
//       of one wake-up (every pipe epoll said was readable) in one
//       sendmmsg, to SOCKET. A line cut by the end of a
//       read waits for its end. No rate limit, no ring of recent lines, no
//       logging of its own. Prints "ready" once the talkers run; on
//       SIGTERM or SIGINT kills them, prints the count of lines sent and
//       exits.
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

int usage() {
  std::fprintf(stderr, "usage: hbbench_output talk RATE | sink PATH | relay SOCKET N RATE\n");
  return 2;
}

// A signalfd for SIGTERM and SIGINT, which are blocked from here on.
int stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

sockaddr_un address(const char *path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  return sa;
}

int talk(long rate) {
  // 100 bursts a second; the remainder spread over the first ones.
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  itimerspec its{};
  its.it_interval.tv_nsec = 10'000'000;
  its.it_value.tv_nsec = 10'000'000;
  timerfd_settime(tfd, 0, &its, nullptr);
  std::string burst;
  unsigned long long line = 0;
  for (long tick = 0;; ++tick) {
    std::uint64_t expirations = 0;
    if (read(tfd, &expirations, sizeof expirations) < 0)
      return 1;
    const long n = rate / 100 + (tick % 100 < rate % 100 ? 1 : 0);
    burst.clear();
    for (long i = 0; i < n; ++i) {
      char buf[80];
      const int len = std::snprintf(
          buf, sizeof buf, "line %012llu of a chatty app, the quick brown fox jumps\n", ++line);
      burst.append(buf, static_cast<std::size_t>(len));
    }
    for (std::size_t off = 0; off < burst.size();) {
      const ssize_t w = write(STDOUT_FILENO, burst.data() + off, burst.size() - off);
      if (w < 0)
        return errno == EINTR ? 0 : 1;
      off += static_cast<std::size_t>(w);
    }
  }
}

int sink(const char *path) {
  const int sfd = stop_signals();
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa = address(path);
  unlink(path);
  const int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0) {
    std::fprintf(stderr, "hbbench_output: %s: %s\n", path, std::strerror(errno));
    return 1;
  }
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = sfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
  std::printf("ready\n");
  std::fflush(stdout);
  constexpr unsigned batch = 64;
  static char bufs[batch][8192];
  iovec iov[batch];
  mmsghdr msgs[batch]{};
  for (unsigned i = 0; i < batch; ++i) {
    iov[i] = {bufs[i], sizeof bufs[i]};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long count = 0;
  for (;;) {
    epoll_event got[2];
    const int n = epoll_wait(ep, got, 2, -1);
    for (int i = 0; i < n; ++i) {
      if (got[i].data.fd == sfd) {
        std::printf("%llu\n", count);
        return 0;
      }
      int r;
      while ((r = recvmmsg(fd, msgs, batch, MSG_DONTWAIT, nullptr)) > 0)
        count += static_cast<unsigned>(r);
    }
  }
}

struct Talker {
  pid_t pid = -1;
  int fd = -1;
  std::string partial;
  std::string pid_text;
};

int relay(const char *socket_path, int n, long rate, const char *self) {
  const int sfd = stop_signals();
  const int out = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa = address(socket_path);
  if (out < 0 || connect(out, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0) {
    std::fprintf(stderr, "hbbench_output: %s: %s\n", socket_path, std::strerror(errno));
    return 1;
  }
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Talker> talkers(static_cast<std::size_t>(n));
  const std::string rate_text = std::to_string(rate);
  for (int i = 0; i < n; ++i) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
      return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(p[1], STDOUT_FILENO);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execl(self, self, "talk", rate_text.c_str(), static_cast<char *>(nullptr));
      _exit(127);
    }
    close(p[1]);
    Talker &t = talkers[static_cast<std::size_t>(i)];
    t.pid = pid;
    t.fd = p[0];
    t.pid_text = std::to_string(pid);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<std::uint64_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = ~0ULL;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
  std::printf("ready\n");
  std::fflush(stdout);

  unsigned long long count = 0;
  static char buf[65536];
  std::vector<std::string> entries;
  std::vector<iovec> iov;
  std::vector<mmsghdr> msgs;
  for (;;) {
    epoll_event got[64];
    const int k = epoll_wait(ep, got, 64, -1);
    for (int g = 0; g < k; ++g) {
      if (got[g].data.u64 == ~0ULL) {
        for (Talker &t : talkers)
          kill(t.pid, SIGKILL);
        for (Talker &t : talkers)
          waitpid(t.pid, nullptr, 0);
        std::printf("%llu\n", count);
        return 0;
      }
      Talker &t = talkers[got[g].data.u64];
      const ssize_t r = read(t.fd, buf, sizeof buf);
      if (r <= 0)
        continue;
      std::size_t begin = 0;
      const std::size_t len = static_cast<std::size_t>(r);
      for (std::size_t i = 0; i < len; ++i) {
        if (buf[i] != '\n')
          continue;
        std::string e = "MESSAGE=";
        e += t.partial;
        e.append(buf + begin, i - begin);
        e += "\nPRIORITY=6\nSYSLOG_IDENTIFIER=talker\nHBMON_APP=talker\nSYSLOG_PID=";
        e += t.pid_text;
        e += '\n';
        entries.push_back(std::move(e));
        t.partial.clear();
        begin = i + 1;
      }
      t.partial.append(buf + begin, len - begin);
    }
    // Every line this wake-up read, from all the pipes, in one go.
    {
      iov.resize(entries.size());
      msgs.assign(entries.size(), mmsghdr{});
      for (std::size_t i = 0; i < entries.size(); ++i) {
        iov[i] = {entries[i].data(), entries[i].size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      // Blocking: the floor loses no line (a supervisor must not block, but
      // the sink reads at once, so this never waits long).
      for (std::size_t off = 0; off < msgs.size();) {
        const int s = sendmmsg(out, msgs.data() + off, static_cast<unsigned>(msgs.size() - off), 0);
        if (s <= 0)
          break;
        off += static_cast<std::size_t>(s);
        count += static_cast<unsigned>(s);
      }
      entries.clear();
    }
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3)
    return usage();
  const std::string mode = argv[1];
  if (mode == "talk" && argc == 3)
    return talk(std::atol(argv[2]));
  if (mode == "sink" && argc == 3)
    return sink(argv[2]);
  if (mode == "relay" && argc == 5)
    return relay(argv[2], std::atoi(argv[3]), std::atol(argv[4]), "/proc/self/exe");
  return usage();
}
