// Probes against services that misbehave at the network level, and at
// scale: a TCP port whose accept queue is full (a connect that never
// completes), and 1,000 apps probed over HTTP every second beside a hung
// app. Every verdict stays bounded by its timeout, nothing stalls the loop
// and nothing leaks.
#include "hostile.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <thread>

using namespace hbtest;

namespace {

int listener(int backlog, int &port) {
  const int fd = bound_loopback(port);
  ::listen(fd, backlog);
  return fd;
}

} // namespace

// A port that takes no more connections (its accept queue is full, so the
// kernel drops each SYN): a TCP probe's connect never completes, and the
// probe fails at its timeout.
TEST_F(Hostile, ATcpProbeOfABlackholedPortFailsAtItsTimeout) {
  int port = 0;
  const int fd = listener(0, port);
  std::vector<int> fillers; // never accepted: the queue stays full
  for (int i = 0; i < 4; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    ::connect(c, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
    fillers.push_back(c);
  }
  Daemon d(
      config_of({R"({"name": "db", "command": ["/bin/sleep", "infinity"], "heartbeat": null,
           "restart_delay": 5, "probe": {"tcp": "127.0.0.1:)" +
                 std::to_string(port) +
                 R"(", "interval": 0.5, "timeout": 0.2, "failures": 2, "initial_delay": 0.1}})"}));
  EXPECT_TRUE(d.wait_for("db: probe failed 1/2: timed out after 0.2s")) << d.log();
  EXPECT_TRUE(d.wait_for("db: killing pid")) << d.log();
  expect_status_fast("ipc://" + d.dir() / "control");
  for (int c : fillers)
    ::close(c);
  ::close(fd);
}

// 1,000 apps probed over HTTP every second, against one quick server,
// beside an app that hangs: the hang is killed on time, status answers at
// once, every probe passes and hbmond's fds stay where they are.
TEST_F(Hostile, AThousandHttpProbesASecondStallNothingAndLeakNothing) {
  int port = 0;
  const int fd = listener(4096, port);
  std::atomic<bool> stop = false;
  std::atomic<std::size_t> served = 0;
  std::thread server([&] {
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      const int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      char buf[2048];
      ::recv(c, buf, sizeof buf, 0);
      ::send(c, ok.data(), ok.size(), MSG_NOSIGNAL);
      ::close(c);
      ++served;
    }
  });
  std::string apps = R"({"apps": [)";
  // A quarter of them under the sanitizers (a rerun for memory errors:
  // the same code, in a quarter of the time).
  const int n = sanitized ? 250 : 1000;
  for (int i = 0; i < n; ++i)
    apps +=
        R"({"name": "p)" + std::to_string(i) +
        R"(", "command": ["/bin/sleep", "infinity"], "heartbeat": null, "probe": {"http": "http://127.0.0.1:)" +
        std::to_string(port) + "/app-" + std::to_string(i) +
        R"(", "interval": 1, "timeout": 1, "failures": 3}}, )";
  apps += app("hang", "--beats 5 --period 0.1 --then hang",
              R"("heartbeat": {"interval": 0.3, "misses": 2}, "restart_delay": 5)") +
          "]}";
  Daemon::Options o;
  o.log_level = "info";
  Daemon d(apps, o);
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  const std::string control = "ipc://" + d.dir() / "control";
  // Every app up by its first good probe (the first come after 1 s).
  EXPECT_TRUE(wait_until(
      [&] {
        d.poll_log(); // hbmond writes its log into a pipe: keep it flowing
        auto a = ask(control, R"({"v":1,"cmd":"status"})");
        if (!a.reply.is_object())
          return false;
        std::size_t running = 0;
        for (const auto &app : a.reply["apps"])
          running += app["state"] == "running";
        return running == static_cast<std::size_t>(n);
      },
      30s))
      << d.log();
  const std::size_t fds = open_fds(d.pid());
  const std::size_t before = served;
  expect_status_fast(control);
  EXPECT_TRUE(wait_until(
      [&] {
        d.poll_log();
        return served >= before + 2 * n;
      },
      10s))
      << "probes did not keep their pace: " << served - before << " in the wait";
  EXPECT_LE(open_fds(d.pid()), fds + 8) << "fds grew while probing";
  d.poll_log();
  EXPECT_EQ(d.count("probe failed"), 0u) << d.log();
  stop = true;
  server.join();
  ::close(fd);
}
