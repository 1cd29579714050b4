// Floods of connections and of unread replies (issue 13, holes 2 and 3):
// no number of connections from a local user or an app, and no client that
// never reads, may make hbmond exit, stall, stop supervising or grow without
// bound.
#include "hostile.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.hpp>

using namespace hbtest;

namespace {

constexpr uid_t nobody = 65534;

// How much hbmond's RSS may grow under each attack. ASan holds freed memory
// in its quarantine (256 MiB by default): there the bound is only a sanity
// check.
const long slack_kib = sanitized ? 384 * 1024 : 0;

// hbmond's resident memory, in KiB.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

// A process of user `uid` holding `n` raw connections to the unix socket
// at `path` open until it is dropped. ready() says how many it made.
class ConnectionFlood {
public:
  ConnectionFlood(const std::string &path, uid_t uid, int n) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
      std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[0]);
      rlimit rl{static_cast<rlim_t>(n) + 64, static_cast<rlim_t>(n) + 64};
      if (::setrlimit(RLIMIT_NOFILE, &rl) < 0 || ::setgroups(0, nullptr) < 0 || ::setgid(uid) < 0 ||
          ::setuid(uid) < 0)
        ::_exit(2);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
      int made = 0;
      for (int i = 0; i < n; ++i) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0)
          break;
        ++made;
      }
      (void)!::write(p[1], &made, sizeof made);
      ::pause();
      ::_exit(0);
    }
    ::close(p[1]);
    ready_fd_ = p[0];
  }
  ~ConnectionFlood() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(ready_fd_);
  }
  // How many connections it made (-1: none reported within 60 s).
  int made() {
    pollfd pfd{ready_fd_, POLLIN, 0};
    int n = -1;
    if (::poll(&pfd, 1, 60000) == 1 && ::read(ready_fd_, &n, sizeof n) != sizeof n)
      n = -1;
    return n;
  }

private:
  pid_t pid_ = -1;
  int ready_fd_ = -1;
};

nlohmann::json counters(const std::string &control) {
  auto a = ask(control, R"({"v":1,"cmd":"info"})");
  return a.reply.is_object() ? a.reply.value("counters", nlohmann::json()) : nlohmann::json();
}

std::uint64_t counter(const std::string &control, const char *name) {
  auto c = counters(control);
  return c.is_object() ? c.value(name, std::uint64_t{0}) : 0;
}

// `connections` clients of the control socket, each sending `requests`
// copies of `body` at once, none reading yet. `tiny`: each takes one
// message into a 4 KiB buffer, so unread replies pile up in hbmond.
std::vector<zmq::socket_t> ask_at_once(zmq::context_t &ctx, const std::string &control,
                                       int connections, int requests, const char *body, bool tiny) {
  std::vector<zmq::socket_t> clients;
  for (int i = 0; i < connections; ++i) {
    clients.emplace_back(ctx, zmq::socket_type::dealer);
    if (tiny) {
      clients.back().set(zmq::sockopt::rcvhwm, 1);
      clients.back().set(zmq::sockopt::rcvbuf, 4096);
    }
    clients.back().set(zmq::sockopt::linger, 0);
    clients.back().connect(control);
  }
  for (int r = 0; r < requests; ++r)
    for (auto &c : clients) {
      c.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
      c.send(zmq::buffer(std::string_view(body)));
    }
  return clients;
}

} // namespace

// 10,000 connections to the control socket (mode 0666) from `nobody`: the
// ones over nobody's budget are shut down at once; hbmond keeps its apps,
// judges a hang on time, answers root promptly, and its memory stays
// bounded.
TEST_F(Hostile, TenThousandConnectionsToTheControlSocketFromOneUser) {
  Daemon d(config_of({app("steady", "--beats 1000000 --period 0.1", ""),
                      app("hang", "--beats 3 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2}, "enabled": false)")}),
           Daemon::Options{{}, {}, "info", ""});
  auto steady = d.wait_started("steady");
  ASSERT_TRUE(steady) << d.log();
  ASSERT_EQ(::chmod(d.dir().path().c_str(), 0755), 0); // as /run/hbmond
  const std::string control = "ipc://" + (d.dir() / "control");
  ASSERT_TRUE(ask(control, R"({"v":1,"cmd":"status"})").reply.is_object());
  const long rss_before = rss_kib(d.pid());

  constexpr int flood = 10000;
  ConnectionFlood nobody_flood(d.dir() / "control", nobody, flood);
  ASSERT_EQ(nobody_flood.made(), flood);
  // All of them were seen, and all but nobody's budget shut down.
  ASSERT_TRUE(wait_until(
      [&] { return counter(control, "control_connections_refused") >= flood - 64; }, 30s))
      << counters(control) << "\n"
      << d.log();
  auto c = counters(control);
  EXPECT_LE(c.value("connections_open", 0), 64 + 8) << c;
  EXPECT_TRUE(d.wait_for("refused a connection to the control socket from uid 65534")) << d.log();
  EXPECT_LE(d.count("refused a connection to the control socket"), 3u) << "not rate-limited";

  // Still supervising: the steady app was left alone, a hang is judged on
  // time, and root is answered promptly.
  auto started = ask(control, R"({"v":1,"cmd":"start","app":"hang"})");
  ASSERT_EQ(started.reply.value("ok", false), true) << started.reply;
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast(control);
  EXPECT_EQ(app_status(control, "steady").value("pid", 0), *steady);
  // Each connection libzmq accepts costs it memory: the budget bounds it.
  const long grown = rss_kib(d.pid()) - rss_before;
  std::printf("RSS after 10,000 connections: %+ld KiB\n", grown);
  EXPECT_LT(grown, 64 * 1024 + slack_kib) << "RSS grew by " << grown << " KiB";
}

// An app (here: a process of the app's user) opening 10,000 connections to
// its own heartbeat socket: refused beyond its budget, counted in its
// status; its own heartbeats still count, and the other apps are judged on
// time.
TEST_F(Hostile, TenThousandConnectionsToAnAppsOwnHeartbeatSocket) {
  // No trace: nobody may not write here.
  Daemon d(config_of({app_json("victim", "--beats 1000000 --period 0.1", R"("user": "nobody")"),
                      app("hang", "--beats 3 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2}, "enabled": false)")}),
           Daemon::Options{{}, {}, "info", ""});
  ASSERT_EQ(::chmod(d.dir().path().c_str(), 0755), 0); // as /run/hbmond
  auto victim = d.wait_started("victim");
  ASSERT_TRUE(victim) << d.log();
  ASSERT_TRUE(wait_until([&] {
    return app_status("ipc://" + (d.dir() / "control"), "victim").value("state", "") == "running";
  })) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");

  constexpr int flood = 10000;
  ConnectionFlood own_flood(d.dir() / "victim.hb", nobody, flood);
  ASSERT_EQ(own_flood.made(), flood);
  ASSERT_TRUE(wait_until(
      [&] { return app_status(control, "victim").value("connections_refused", 0) >= flood - 64; },
      30s))
      << app_status(control, "victim") << "\n"
      << d.log();

  auto started = ask(control, R"({"v":1,"cmd":"start","app":"hang"})");
  ASSERT_EQ(started.reply.value("ok", false), true) << started.reply;
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast(control);
  // The victim's own connection was there first: its beats still count.
  auto st = app_status(control, "victim");
  EXPECT_EQ(st.value("pid", 0), *victim) << st;
  EXPECT_EQ(st.value("state", ""), "running") << st;
  const auto beats = st.value("heartbeats", 0);
  EXPECT_TRUE(wait_until([&] {
    return app_status(control, "victim").value("heartbeats", 0) > beats;
  })) << "the victim's heartbeats stopped counting";
}

// Clients that send requests and never read the replies (hole 3): hbmond
// keeps at most a couple of unread replies per connection and drops the
// rest, counted. Subscribers that never read events are there too: they
// must stall nothing (their queue is ZeroMQ's high-water mark).
TEST_F(Hostile, ClientsThatNeverReadCostBoundedMemory) {
  // 50 apps make each status reply ~17 KB; disabled ones cost no processes.
  std::string apps = "{\"apps\": [";
  for (int i = 0; i < 50; ++i)
    apps += (i ? ", " : "") + app_json("idle" + std::to_string(i), "", R"("enabled": false)");
  apps += ", " + app_json("crashy", "--then exit 3",
                          R"("restart_delay": 0.01, "backoff_max": 0.01, "heartbeat": false,
                             "start_limit": {"burst": 100000, "interval": 1})");
  apps += "]}";
  Daemon d(apps, Daemon::Options{{}, {}, "info", ""});
  ASSERT_TRUE(d.wait_started("crashy")) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");
  const std::string events = "ipc://" + (d.dir() / "events");
  ASSERT_TRUE(ask(control, R"({"v":1,"cmd":"status"})").reply.is_object());
  const long rss_before = rss_kib(d.pid());

  zmq::context_t ctx;
  std::vector<zmq::socket_t> subscribers;
  for (int i = 0; i < 20; ++i) {
    subscribers.emplace_back(ctx, zmq::socket_type::sub);
    subscribers.back().set(zmq::sockopt::rcvhwm, 1);
    subscribers.back().set(zmq::sockopt::rcvbuf, 4096);
    subscribers.back().set(zmq::sockopt::subscribe, "");
    subscribers.back().set(zmq::sockopt::linger, 0);
    subscribers.back().connect(events);
  }
  constexpr int connections = 20, requests = 30;
  auto clients =
      ask_at_once(ctx, control, connections, requests, R"({"v":1,"cmd":"status"})", true);
  // Every request was answered or dropped; almost all were dropped.
  ASSERT_TRUE(wait_until(
      [&] { return counter(control, "control_requests") >= connections * requests; }, 30s))
      << counters(control);
  // Let the crashing app publish events nobody reads.
  ASSERT_TRUE(d.wait_started("crashy", 30s, 100)) << d.log();
  auto c = counters(control);
  EXPECT_GE(c.value("control_replies_dropped", 0), connections * (requests - 8)) << c;
  expect_status_fast(control);
  const long grown = rss_kib(d.pid()) - rss_before;
  std::printf("RSS after %d unread status replies and unread events: %+ld KiB\n",
              connections * requests, grown);
  EXPECT_LT(grown, 24 * 1024 + slack_kib) << "RSS grew by " << grown << " KiB";
}

// Clients that ask for the metrics again and again: each text is written
// off the loop, at most 4 at once, the others are told "busy"; a hang is
// still judged on time meanwhile.
TEST_F(Hostile, AMetricsFloodIsToldBusyAndHoldsUpNoVerdict) {
  std::string apps = "{\"apps\": [";
  for (int i = 0; i < 300; ++i)
    apps += (i ? ", " : "") + app_json("idle" + std::to_string(i), "", R"("enabled": false)");
  apps += ", " + app("hang", "--beats 3 --period 0.1 --then hang",
                     R"("heartbeat": {"interval": 0.3, "misses": 2}, "enabled": false)");
  apps += "]}";
  Daemon d(apps, Daemon::Options{{}, {}, "info", ""});
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  const std::string control = "ipc://" + (d.dir() / "control");
  auto started = ask(control, R"({"v":1,"cmd":"start","app":"hang"})");
  ASSERT_EQ(started.reply.value("ok", false), true) << started.reply;

  // 100 requests at once: fewer than the 256 replies hbmond may owe, and
  // two per connection, which it holds for a client that has not read yet.
  zmq::context_t ctx;
  constexpr int connections = 50, requests = 2;
  auto clients =
      ask_at_once(ctx, control, connections, requests, R"({"v":1,"cmd":"metrics"})", false);
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  int texts = 0, busy = 0;
  for (auto &c : clients)
    for (int r = 0; r < requests; ++r) {
      zmq::pollitem_t item{c.handle(), 0, ZMQ_POLLIN, 0};
      ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(20000)), 1) << "a request unanswered";
      zmq::message_t empty, body;
      ASSERT_TRUE(c.recv(empty));
      ASSERT_TRUE(c.recv(body));
      const auto reply = nlohmann::json::parse(body.to_string());
      if (reply.value("ok", false))
        texts += reply.value("metrics", "").find("hbmond_app_up{app=\"idle299\"} 0") !=
                 std::string::npos;
      else
        busy += reply.value("error", "") == "busy";
    }
  std::printf("metrics flood: %d texts written, %d askers told busy\n", texts, busy);
  EXPECT_EQ(texts + busy, connections * requests);
  EXPECT_GE(texts, 4);
  EXPECT_GE(busy, connections * requests / 2) << "at most 4 texts are written at once";
  expect_status_fast(control);
}
