// hbbench_floor: the least a heartbeat consumer can cost, for bench/run's
// footprint rows. zmq: N PULL sockets (ipc://DIR/I.hb, I from 0 to N-1,
// 4 KiB messages at most, as hbmond's), each socket's ZMQ_FD on one epoll,
// each woken socket drained per ../shared/design/apis.md (recv until EAGAIN
// while ZMQ_EVENTS says POLLIN). notify: N datagram sockets (DIR/I.notify),
// each on the epoll, read until EAGAIN with the sender's credentials
// (SO_PASSCRED, SCM_CREDENTIALS: what any notify consumer needs to tell the
// app's datagrams from a stranger's, systemd's own included) and room for
// passed fds, as hbmond reads them. Every message counted and dropped;
// nothing else: no timers, no bookkeeping, no logging. Prints "ready" once
// every socket is bound; on SIGTERM or SIGINT prints the count of messages
// and exits.
//
// Usage: hbbench_floor zmq|notify DIR N
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>
#include <zmq.h>

int main(int argc, char **argv) {
  if (argc != 4 || (std::string(argv[1]) != "zmq" && std::string(argv[1]) != "notify")) {
    std::fprintf(stderr, "usage: hbbench_floor zmq|notify DIR N\n");
    return 2;
  }
  const bool notify = std::string(argv[1]) == "notify";
  const std::string dir = argv[2];
  const int n = std::atoi(argv[3]);
  void *ctx = notify ? nullptr : zmq_ctx_new();
  if (ctx)
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 16);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<void *> socks(static_cast<std::size_t>(n));
  std::vector<int> dgrams(static_cast<std::size_t>(n), -1);
  for (int i = 0; notify && i < n; ++i) {
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%d.notify", dir.c_str(), i);
    const int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0 ||
        bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0) {
      std::fprintf(stderr, "hbbench_floor: %s: %s\n", sa.sun_path, std::strerror(errno));
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<std::uint64_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    dgrams[static_cast<std::size_t>(i)] = fd;
  }
  for (int i = 0; !notify && i < n; ++i) {
    void *s = zmq_socket(ctx, ZMQ_PULL);
    const std::int64_t max = 4096;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    const int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    const std::string endpoint = "ipc://" + dir + "/" + std::to_string(i) + ".hb";
    if (!s || zmq_bind(s, endpoint.c_str()) != 0) {
      std::fprintf(stderr, "hbbench_floor: %s: %s\n", endpoint.c_str(), zmq_strerror(errno));
      return 1;
    }
    int fd = -1;
    std::size_t len = sizeof fd;
    zmq_getsockopt(s, ZMQ_FD, &fd, &len);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<std::uint64_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    socks[static_cast<std::size_t>(i)] = s;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.u64 = UINT64_MAX;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev);
  std::printf("ready\n");
  std::fflush(stdout);

  unsigned long long messages = 0;
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  epoll_event evs[256];
  for (;;) {
    const int k = epoll_wait(ep, evs, 256, -1);
    for (int e = 0; e < k; ++e) {
      if (evs[e].data.u64 == UINT64_MAX) {
        std::printf("%llu\n", messages);
        return 0;
      }
      if (notify) {
        char buf[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(16 * sizeof(int))];
        for (;;) {
          iovec iov{buf, sizeof buf};
          msghdr mh{};
          mh.msg_iov = &iov;
          mh.msg_iovlen = 1;
          mh.msg_control = control;
          mh.msg_controllen = sizeof control;
          if (recvmsg(dgrams[evs[e].data.u64], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
            break;
          ++messages;
        }
        continue;
      }
      void *s = socks[evs[e].data.u64];
      for (;;) {
        int events = 0;
        std::size_t len = sizeof events;
        zmq_getsockopt(s, ZMQ_EVENTS, &events, &len);
        if (!(events & ZMQ_POLLIN))
          break;
        while (zmq_msg_recv(&msg, s, ZMQ_DONTWAIT) >= 0)
          ++messages;
      }
    }
  }
}
