// Hostile input against a running daemon. After each attack hbmond must
// still supervise (a hung app is still killed on time) and still answer
// `status` promptly.
#include "hostile.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <zmq.hpp>

using namespace hbtest;

TEST_F(Hostile, AFloodingAppDoesNotDelayOtherVerdicts) {
  Daemon d(config_of({app("flood", "--then flood", R"("heartbeat": {"interval": 1})"),
                      app("hang", "--beats 3 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2})")}),
           Daemon::Options{{}, {}, "info", ""});
  ASSERT_TRUE(d.wait_started("flood")) << d.log();
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  const std::string control = "ipc://" + d.dir() / "control";
  expect_status_fast(control);
  // The flood did reach hbmond: its own counter, not what the flooder queued.
  std::int64_t received = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        auto st = app_status(control, "flood");
        received = st.is_object() ? st["heartbeats"].get<std::int64_t>() : 0;
        return received >= 100'000;
      },
      30s))
      << "hbmond received only " << received << " heartbeats\n"
      << d.log();
  expect_status_fast(control);
  std::cout << "hbmond received " << received << " heartbeats from the flooder\n";
}

TEST_F(Hostile, JunkFramesAndHugeMessagesOnAHeartbeatSocket) {
  Daemon d(config_of({app("junk", "--beats 1 --then junk-frames",
                          R"("heartbeat": {"interval": 0.3, "misses": 2})"),
                      app("hang", "--beats 2 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2})")}));
  // Its one real heartbeat counts; the 1,000 multi-part messages are dropped
  // and counted; the 1 MiB message never arrives (ZeroMQ drops the
  // connection at ZMQ_MAXMSGSIZE). All were sent right after the beat, long
  // before the first miss: by then status must tell exactly that.
  const std::string control = "ipc://" + d.dir() / "control";
  ASSERT_TRUE(d.wait_for("junk: missed heartbeat 1/2")) << d.log();
  auto st = app_status(control, "junk");
  ASSERT_TRUE(st.is_object()) << d.log();
  EXPECT_EQ(st["messages_dropped"], 1000) << st;
  EXPECT_EQ(st["heartbeats"], 1) << st;
  EXPECT_TRUE(d.wait_for("junk: killing pid")) << d.log();
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast("ipc://" + d.dir() / "control");
}

TEST_F(Hostile, AnotherUserCannotReachAnAppsEndpoint) {
  const std::string ep = work / "victim.hb";
  ASSERT_EQ(::chmod(work.path().c_str(), 0755), 0);
  Daemon d(config_of(
      {app("victim", "--then hang",
           R"("heartbeat": {"interval": 0.3, "misses": 2, "endpoint": "ipc://)" + ep + "\"}")}));
  auto pid = d.wait_started("victim");
  ASSERT_TRUE(pid) << d.log();
  // As nobody: the socket file is 0600 root, so connecting is refused.
  std::string cmd = "/usr/sbin/runuser -u nobody -- /usr/bin/python3 -c '"
                    "import socket,sys\n"
                    "s=socket.socket(socket.AF_UNIX)\n"
                    "try:\n s.connect(sys.argv[1]); print(\"connected\")\n"
                    "except PermissionError: print(\"denied\")' " +
                    ep;
  FILE *p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {};
  std::fgets(buf, sizeof buf, p);
  ::pclose(p);
  EXPECT_EQ(std::string(buf), "denied\n");
  EXPECT_TRUE(d.wait_for("victim: killing pid " + std::to_string(*pid))) << d.log();
}

TEST_F(Hostile, OutputFloodsJunkAndClosedOutputHarmNothing) {
  Daemon d(config_of(
      {app("huge", "--long 10485760 --junk --then beat", R"("heartbeat": {"interval": 0.5})"),
       app("mute", "--close-output --then beat", R"("heartbeat": {"interval": 0.5})"),
       app("hang", "--beats 2 --period 0.1 --then hang",
           R"("heartbeat": {"interval": 0.3, "misses": 2})")}));
  // 10 MiB in one line arrives as 2,560 pieces of 4,096 bytes. The output
  // limit (1 MiB per 10 s) logs what fits after the junk line, 255 pieces,
  // and counts the rest as dropped.
  const std::string control = "ipc://" + d.dir() / "control";
  EXPECT_TRUE(d.wait_count("[huge] xxxx", 255, 30s)) << d.count("[huge] xxxx");
  EXPECT_TRUE(wait_until([&] {
    auto st = app_status(control, "huge");
    return st.is_object() && st.value("output_dropped", 0) == 2560 - 255;
  })) << app_status(control, "huge");
  EXPECT_EQ(d.count("[huge] xxxx"), 255u);
  EXPECT_TRUE(d.wait_state("mute", "running")) << d.log();
  expect_hang_killed_on_time(d, "hang", 0.3, 2);
  expect_status_fast(control);
}

TEST_F(Hostile, AForkBombingHangIsKilledWithEveryChild) {
  // The grace leaves time to fork (slow under a sanitizer); then it hangs.
  Daemon d(config_of(
      {app("bomb", "--fork 500 --beats 2 --period 0.1 --then hang",
           R"("heartbeat": {"interval": 0.3, "misses": 2, "grace": 60}, "restart": "never")")}));
  ASSERT_TRUE(d.wait_state("bomb", "exited", 30s)) << d.log();
  auto children = trace_of(read_trace(work / "bomb.trace"), "child");
  ASSERT_EQ(children.size(), 500u);
  // SIGKILL went to the whole group; 500 exits take a moment: wait for each.
  for (const auto &c : children) {
    int fd = pidfd_open(static_cast<pid_t>(c.values[0]));
    if (fd < 0)
      continue; // already gone and reaped
    EXPECT_TRUE(wait_pidfd(fd, 10s)) << "child " << c.values[0] << " survived";
    ::close(fd);
  }
}

TEST_F(Hostile, CommandsThatCannotRun) {
  Daemon d(config_of(
      {R"({"name": "dir", "command": ["/tmp"], "start_limit": {"burst": 1, "interval": 60}})",
       R"({"name": "dev", "command": ["/dev/null"], "start_limit": {"burst": 1, "interval": 60}})"}));
  EXPECT_TRUE(d.wait_for("dir: failed to start: exec /tmp: Permission denied")) << d.log();
  EXPECT_TRUE(d.wait_for("dev: failed to start: exec /dev/null: Permission denied")) << d.log();
  EXPECT_TRUE(d.wait_state("dir", "failed")) << d.log();
  expect_status_fast("ipc://" + d.dir() / "control");
}

TEST_F(Hostile, NoAppsAndTwoThousandApps) {
  {
    Daemon d(R"({"apps": []})");
    EXPECT_TRUE(d.wait_for("supervising 0 apps")) << d.log();
    expect_status_fast("ipc://" + d.dir() / "control");
  }
  // Under the sanitizers (a rerun for memory errors, unoptimized and
  // instrumented) a quarter of them walks the same code in a quarter of
  // the time: CI's budget is minutes.
  const int n = sanitized ? 500 : 2000;
  std::string apps = "{\"apps\": [";
  for (int i = 0; i < n; ++i)
    apps += std::string(i ? "," : "") + "{\"name\": \"a" + std::to_string(i) +
            "\", \"command\": [\"/bin/sleep\", \"1000\"], \"heartbeat\": null}";
  apps += "]}";
  Daemon d(apps, Daemon::Options{{}, {}, "info", ""});
  EXPECT_TRUE(d.wait_for("supervising " + std::to_string(n) + " apps", 120s))
      << d.log().substr(0, 2000);
  expect_status_fast("ipc://" + d.dir() / "control");
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(60s), 0);
}

TEST_F(Hostile, ConfigFilesThatAreNotFiles) {
  struct Case {
    std::string path, expect;
  };
  const std::string fifo = work / "fifo", dir = work / "dir", unreadable = work / "secret",
                    huge = work / "huge.json";
  ASSERT_EQ(::chmod(work.path().c_str(), 0755), 0); // nobody reads below
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  std::ofstream(unreadable) << R"({"apps": []})";
  ASSERT_EQ(::chmod(unreadable.c_str(), 0), 0);
  {
    std::ofstream h(huge);
    h.seekp(100 << 20);
    h << ' ';
  }
  for (const auto &c : {Case{fifo, "not a regular file"}, Case{dir, "not a regular file"},
                        Case{huge, "too large"}}) {
    Daemon::Options o;
    o.args = {"--check", "--config", c.path};
    Daemon d("", o);
    EXPECT_EQ(d.wait_exit(5s), 1) << c.path << "\n" << d.log();
    EXPECT_TRUE(d.wait_for(c.expect, 1s)) << c.path << "\n" << d.log();
  }
  // Root reads anything: as nobody, the unreadable file is refused.
  FILE *p = ::popen(("/usr/sbin/runuser -u nobody -- " + std::string(hbmond_path) +
                     " --check --config " + unreadable + " 2>&1")
                        .c_str(),
                    "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p))
    out += buf;
  int st = ::pclose(p);
  EXPECT_EQ(WEXITSTATUS(st), 1) << out;
  EXPECT_NE(out.find("Permission denied"), std::string::npos) << out;
}

TEST_F(Hostile, AKilledDaemonTakesItsAppsAlongAndANewOneStartsCleanly) {
  // Orphans come to this test process, so it can see them die and reap them.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string config =
      config_of({app("tree", "--grandchild --then beat", R"("heartbeat": {"interval": 0.5})"),
                 app("plain", "--then beat", R"("heartbeat": {"interval": 0.5})")});
  Daemon d(config);
  auto tree = d.wait_started("tree");
  auto plain = d.wait_started("plain");
  ASSERT_TRUE(tree && plain) << d.log();
  ASSERT_TRUE(d.wait_state("tree", "running")) << d.log();
  auto children = trace_of(read_trace(work / "tree.trace"), "child");
  ASSERT_EQ(children.size(), 1u);
  const pid_t grandchild = static_cast<pid_t>(children[0].values[0]);

  // A guardian that dies is replaced at once.
  const std::string key = "guardian started, pid ";
  auto first = d.wait_for(key);
  ASSERT_TRUE(first) << d.log();
  ::kill(std::stoi(first->substr(first->find(key) + key.size())), SIGKILL);
  EXPECT_TRUE(d.wait_for("killed by signal 9; starting another")) << d.log();
  ASSERT_TRUE(d.wait_for(key, 5s, 2)) << d.log();

  std::vector<std::pair<pid_t, int>> watched;
  for (pid_t p : {*tree, *plain, grandchild}) {
    int fd = pidfd_open(p);
    ASSERT_GE(fd, 0) << "pid " << p;
    watched.emplace_back(p, fd);
  }
  d.signal(SIGKILL);
  EXPECT_EQ(d.wait_exit(5s), -1);
  for (auto [p, fd] : watched) {
    EXPECT_TRUE(wait_pidfd(fd, 5s)) << "pid " << p << " outlived hbmond";
    ::close(fd);
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 0), 0);

  // Same config, same runtime dir: the stale socket files are replaced.
  Daemon::Options again;
  again.args = {"--config",     d.config_path(), "--runtime-dir",
                d.dir().path(), "--log-level",   "debug"};
  Daemon d2("", again);
  ASSERT_TRUE(d2.wait_started("tree")) << d2.log();
  EXPECT_TRUE(d2.wait_state("tree", "running")) << d2.log();
  EXPECT_TRUE(d2.wait_state("plain", "running")) << d2.log();
  expect_status_fast("ipc://" + d.dir() / "control");
}

namespace {
// Unix seconds of a log line's "YYYY-MM-DD HH:MM:SS.mmm" prefix (UTC or
// local: only differences are used).
double log_time(const std::string &line) {
  std::tm tm{};
  const char *rest = ::strptime(line.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (!rest)
    return 0;
  return static_cast<double>(::timegm(&tm)) + std::atof(rest);
}
} // namespace

TEST_F(Hostile, WallClockJumpsDoNotMoveDeadlines) {
  // A preloaded shim moves hbmond's wall clock (CLOCK_REALTIME) while
  // CLOCK_MONOTONIC runs on: hang verdicts must not notice.
  const std::string offset = work / "offset";
  std::ofstream(offset) << "0\n";
  Daemon::Options o;
  o.env = preloading(HBTEST_WALLCLOCK_PATH);
  o.env.push_back("HBTEST_WALLCLOCK_FILE=" + offset);
  Daemon d(config_of({app("hang", "--beats 3 --period 0.1 --then hang",
                          R"("heartbeat": {"interval": 0.3, "misses": 2}, "restart_delay": 0.1)")}),
           o);
  // Back an hour during the first run, then a day ahead of the real time
  // during the second, each after the run has sent its last heartbeat: the
  // deadline that decides its kill is pending when the clock jumps.
  const std::pair<long, double> jumps[] = {{-3600, -3600}, {86400, 86400 + 3600}};
  for (std::size_t i = 0; i < 2; ++i) {
    auto started = d.wait_for("hang: started, pid", 10s, i + 1);
    ASSERT_TRUE(started) << d.log();
    auto pid = d.wait_started("hang", 10s, i + 1);
    ASSERT_TRUE(pid) << d.log();
    ASSERT_TRUE(wait_until([&] { return traced("hang", *pid, "alive"); }))
        << "run " << i + 1 << " never hung\n"
        << d.log();
    std::ofstream(offset, std::ios::trunc) << jumps[i].first << "\n";
    expect_hang_killed_on_time(d, "hang", 0.3, 2, i + 1);
    // The jump did reach hbmond: its log's wall clock moved by it.
    auto killed = d.wait_for("hang: killing pid", 5s, i + 1);
    ASSERT_TRUE(killed) << d.log();
    const double moved = log_time(*killed) - log_time(*started);
    EXPECT_NEAR(moved, jumps[i].second, 60) << *started << "\n" << *killed;
  }
  expect_status_fast("ipc://" + d.dir() / "control");
}
