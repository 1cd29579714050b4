// sys/net_probes.hpp on a real loop against real local servers, each a
// thread of this test: an HTTP server that answers well, badly, hugely,
// slowly or never, and TCP ports open, closed or full. Every verdict comes
// within the probe's timeout, and a probe leaves no fd behind.
#include "sys/net_probes.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace hbmon;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR *d = ::opendir("/proc/self/fd")) {
    while (const dirent *e = ::readdir(d))
      n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// A listening socket on 127.0.0.1 and a random port, and a thread that
// serves each connection with `serve` until the server goes.
class Server {
public:
  using Serve = std::function<void(int fd)>;
  explicit Server(Serve serve, int backlog = 16) : serve_(std::move(serve)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr *>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    EXPECT_EQ(::listen(fd_, backlog), 0);
    if (serve_)
      thread_ = std::thread([this] { run(); });
  }
  ~Server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable())
      thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string &path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  static bool stopping(const std::atomic<bool> &s) { return s; }
  const std::atomic<bool> &stop_flag() const { return stop_; }

private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      serve_(c);
      ::close(c);
    }
  }
  Serve serve_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

// Reads the request's head, then writes `answer`.
Server::Serve answering(std::string answer) {
  return [answer](int fd) {
    char buf[4096];
    ::recv(fd, buf, sizeof buf, 0);
    ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
  };
}

struct Verdict {
  bool ok = false;
  std::string reason;
  std::chrono::steady_clock::duration took{};
};

// Runs the loop until the probe started by `start` gives its verdict.
template <typename Start> std::optional<Verdict> probe(Start &&start) {
  Loop loop;
  NetProbes probes(loop);
  std::optional<Verdict> v;
  const auto t0 = std::chrono::steady_clock::now();
  start(probes, [&](bool ok, std::string reason) {
    v = Verdict{ok, std::move(reason), std::chrono::steady_clock::now() - t0};
    loop.quit();
  });
  Loop::Timer bound = loop.timer([&] { loop.quit(); });
  bound.arm(Loop::now() + 10s);
  loop.run();
  EXPECT_EQ(probes.in_flight(), 0u);
  return v;
}

} // namespace

TEST(NetProbes, AnHttpAnswerFrom200To399IsAliveAnyOtherIsNot) {
  for (const auto &[status, alive] : {std::pair{"200 OK", true},
                                      {"204 No Content", true},
                                      {"302 Found", true},
                                      {"404 Not Found", false},
                                      {"500 Internal Server Error", false}}) {
    Server s(answering(std::string("HTTP/1.1 ") + status +
                       "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
    auto v = probe([&](NetProbes &p, NetProbes::Done d) { p.http(s.url("/healthz"), 1000ms, d); });
    ASSERT_TRUE(v) << status;
    EXPECT_EQ(v->ok, alive) << status << ": " << v->reason;
    if (!alive) {
      EXPECT_EQ(v->reason, "HTTP " + std::string(status).substr(0, 3));
    }
  }
}

TEST(NetProbes, AServerThatAcceptsAndNeverAnswersTimesOut) {
  Server s([](int fd) {
    char buf[4096];
    ::recv(fd, buf, sizeof buf, 0);
    ::usleep(1500 * 1000); // holds the connection, says nothing
  });
  auto v = probe([&](NetProbes &p, NetProbes::Done d) { p.http(s.url(), 300ms, d); });
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->reason, "timed out after 0.3s");
  EXPECT_LT(v->took, 1s);
}

TEST(NetProbes, AnAnswerOneByteASecondTimesOut) {
  Server s([](int fd) {
    char buf[4096];
    ::recv(fd, buf, sizeof buf, 0);
    for (char c : std::string("HTTP/1.1 200 OK\r\n")) {
      if (::send(fd, &c, 1, MSG_NOSIGNAL) < 0)
        return;
      ::usleep(200 * 1000);
    }
  });
  auto v = probe([&](NetProbes &p, NetProbes::Done d) { p.http(s.url(), 500ms, d); });
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_THAT(v->reason, HasSubstr("timed out"));
  EXPECT_LT(v->took, 1500ms);
}

TEST(NetProbes, A10MiBAnswerIsJudgedByItsStatusAndNotReadToTheEnd) {
  std::atomic<std::size_t> sent = 0;
  std::optional<Server> s(std::in_place, [&sent](int fd) {
    char buf[4096];
    ::recv(fd, buf, sizeof buf, 0);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n";
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 160; ++i) {
      const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n < 0)
        return; // the prober hung up: as it should
      sent += static_cast<std::size_t>(n);
    }
  });
  auto v = probe([&](NetProbes &p, NetProbes::Done d) { p.http(s->url(), 2000ms, d); });
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->reason;
  s.reset(); // its thread joined: `sent` is final
  EXPECT_LT(sent, std::size_t{10} << 20) << "the whole answer was read";
}

TEST(NetProbes, NothingListeningIsAFailureAtOnce) {
  std::uint16_t port;
  { // a port that was just free
    Server s(nullptr);
    port = s.port();
  }
  auto v = probe([&](NetProbes &p, NetProbes::Done d) { p.tcp("127.0.0.1", port, 1000ms, d); });
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->reason, "connect: Connection refused");
  EXPECT_LT(v->took, 500ms);
  v = probe([&](NetProbes &p, NetProbes::Done d) {
    p.http("http://127.0.0.1:" + std::to_string(port) + "/", 1000ms, d);
  });
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
}

TEST(NetProbes, ATcpPortThatAcceptsIsAlive) {
  Server s(nullptr); // listening; the kernel completes the handshake
  auto v = probe([&](NetProbes &p, NetProbes::Done d) { p.tcp("127.0.0.1", s.port(), 1000ms, d); });
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->reason;
  v = probe([&](NetProbes &p, NetProbes::Done d) { p.tcp("localhost", s.port(), 1000ms, d); });
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->reason;
}

TEST(NetProbes, ManyProbesAtOnceAndCancelledOnesLeaveNoFd) {
  const std::size_t before = open_fds();
  Server s(answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
  {
    Loop loop;
    NetProbes probes(loop);
    int verdicts = 0, alive = 0;
    std::vector<NetProbes::Id> ids;
    for (int i = 0; i < 50; ++i)
      ids.push_back(probes.http(s.url(), 2000ms, [&](bool ok, std::string) {
        ++verdicts;
        alive += ok;
        if (verdicts == 40)
          loop.quit();
      }));
    for (int i = 0; i < 10; ++i)
      probes.cancel(ids[static_cast<std::size_t>(i) * 5]);
    Loop::Timer bound = loop.timer([&] { loop.quit(); });
    bound.arm(Loop::now() + 10s);
    loop.run();
    EXPECT_EQ(verdicts, 40);
    EXPECT_EQ(alive, 40);
    EXPECT_EQ(probes.in_flight(), 0u);
  }
  EXPECT_LE(open_fds(), before + 1) << "the server's listening socket, and nothing else";
}
