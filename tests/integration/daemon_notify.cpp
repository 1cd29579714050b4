// Apps written for systemd's watchdog, run unmodified under heartbeat
// protocol "notify": real clients (libsystemd's sd_notify() in C,
// python3-systemd, systemd-notify in a shell script) against the real
// hbmond. Each says READY=1 and a STATUS=, pings WATCHDOG=1 at half of
// WATCHDOG_USEC, then hangs: it must be killed on time and started again.
#include "hostile.hpp" // the hang-kill timing checks

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>

using namespace hbtest;

namespace {

constexpr double interval = 0.3; // WATCHDOG_USEC=600000: pings every 0.3 s
const std::string notify_hb = R"("heartbeat": {"protocol": "notify", "interval": 0.3})";

class NotifyClients : public Hostile {
protected:
  // An app object running `argv` (its trace and its pings added), restarted
  // 0.1 s after each kill.
  std::string client(const std::string &name, const std::string &program, int pings,
                     const std::string &extra = "") {
    return R"({"name": ")" + name + R"(", "command": [")" + program + R"(", ")" +
           work / (name + ".trace") + R"(", ")" + std::to_string(pings) + R"("], )" + notify_hb +
           R"(, "restart_delay": 0.1)" + (extra.empty() ? "" : ", " + extra) + "}";
  }

  // The app is running, showing `text`: its READY=1 came with that STATUS=.
  void expect_running_with_status(Daemon &d, const std::string &name, const std::string &text) {
    ASSERT_TRUE(d.wait_state(name, "running")) << d.log();
    const nlohmann::json st = app_status("ipc://" + d.dir() / "control", name);
    ASSERT_TRUE(st.is_object()) << "no answer to status\n" << d.log();
    EXPECT_EQ(st["status"], text) << st;
    EXPECT_EQ(st["reason"], "ready") << st;
  }
};

// CLOCK_MONOTONIC - CLOCK_REALTIME now: added to a realtime trace time.
long long realtime_to_mono() {
  timespec r{}, m{};
  clock_gettime(CLOCK_REALTIME, &r);
  clock_gettime(CLOCK_MONOTONIC, &m);
  return (static_cast<long long>(m.tv_sec) - r.tv_sec) * 1'000'000'000 + (m.tv_nsec - r.tv_nsec);
}

} // namespace

TEST_F(NotifyClients, ACAppWithLibsystemdSeesTheWatchdogItsChildDoesNotAndItsBarrierReturns) {
  // hbmond itself runs under a service manager with a NOTIFY_SOCKET of its
  // own: the app's messages go to hbmond's socket for it, never there.
  NotifyListener systemd(work / "systemd.notify");
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "systemd.notify", "WATCHDOG_USEC=10000000"};
  Daemon d(config_of({client("c", notify_app_path, 8)}), o);
  expect_running_with_status(d, "c", "C client up");
  expect_hang_killed_on_time(d, "c", interval, 2);
  ASSERT_TRUE(d.wait_started("c", 10s, 2)) << "not started again\n" << d.log();

  const auto trace = read_trace(work / "c.trace");
  const auto enabled = trace_of(trace, "enabled");
  ASSERT_FALSE(enabled.empty());
  EXPECT_EQ(enabled[0].values, (std::vector<long long>{1, 600000}))
      << "sd_watchdog_enabled() in the app: yes, WATCHDOG_USEC = 2 x interval";
  const auto child = trace_of(trace, "child-enabled");
  ASSERT_FALSE(child.empty());
  EXPECT_EQ(child[0].values, std::vector<long long>{0}) << "WATCHDOG_PID names the app alone";
  const auto barrier = trace_of(trace, "barrier");
  ASSERT_FALSE(barrier.empty());
  EXPECT_GE(barrier[0].values.at(0), 0) << "sd_notify_barrier() failed";
  EXPECT_LT(secs(barrier[0].values.at(1)), 1.0) << "sd_notify_barrier() waited for its timeout";

  // Nothing of the app's reached hbmond's own service manager.
  while (systemd.next(0ms)) {
  }
  for (const auto &[m, t] : systemd.seen)
    EXPECT_EQ(m.find("client up"), std::string::npos) << m;
  for (auto m = systemd.next(0ms); m; m = systemd.next(0ms))
    EXPECT_EQ(m->first.find("client up"), std::string::npos) << m->first;
}

TEST_F(NotifyClients, APythonAppWithPython3SystemdIsKilledOnTimeAndRestarted) {
  Daemon d(config_of({client("py", std::string(notify_clients_dir) + "/notify_app.py", 8)}));
  expect_running_with_status(d, "py", "python client up");
  expect_hang_killed_on_time(d, "py", interval, 2);
  EXPECT_TRUE(d.wait_started("py", 10s, 2)) << "not started again\n" << d.log();
  EXPECT_TRUE(d.wait_for("py: killing pid")) << d.log();
}

TEST_F(NotifyClients, AShellAppWithSystemdNotifyIsKilledOnTimeAndRestarted) {
  const long long offset = realtime_to_mono();
  Daemon d(config_of({client("sh", std::string(notify_clients_dir) + "/notify_app.sh", 4)}));
  expect_hang_killed_on_time(d, "sh", interval, 2, 1, offset);
  EXPECT_TRUE(d.wait_started("sh", 10s, 2)) << "not started again\n" << d.log();
  // systemd-notify waits on a barrier after each message: answered at once,
  // its pings kept their pace (at 5 s, its own timeout, it would give up).
  const auto beats = trace_of(read_trace(work / "sh.trace"), "beat");
  ASSERT_GE(beats.size(), 4u);
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_LT(secs(beats[i].values.at(0) - beats[i - 1].values.at(0)), interval + 0.5)
        << "ping " << i << " was held up";
}

TEST_F(NotifyClients, TheSocketIsTheAppUsersAloneAndGoesWithHbmond) {
  const passwd *nobody = ::getpwnam("nobody");
  ASSERT_TRUE(nobody) << "needs the user nobody";
  ::chmod(work.path().c_str(), 0755); // nobody reaches its socket in there
  const std::string path = work / "own.notify";
  auto d = std::make_unique<Daemon>(
      config_of({R"({"name": "own", "command": [")" + std::string(notify_app_path) +
                 R"(", "/dev/null", "1000"], "user": "nobody",
      "heartbeat": {"protocol": "notify", "interval": 0.3, "endpoint": ")" +
                 path + R"("}})"}));
  ASSERT_TRUE(d->wait_for("own: started, pid")) << d->log();
  EXPECT_TRUE(d->wait_state("own", "running")) << d->log(); // nobody may use it
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
  d.reset();
  EXPECT_NE(::lstat(path.c_str(), &st), 0) << "the socket file outlived hbmond";
}

// The single-app wrapper speaks the notify protocol too, with its socket in
// a private directory of its own (removed at exit).
TEST_F(NotifyClients, ExecModeWithProtocolNotifyKillsAHangAndRestarts) {
  Daemon::Options o;
  o.env = {"XDG_RUNTIME_DIR=" + work.path()};
  o.args = {"--exec",        "--protocol",        "notify", "--interval", "0.3", "--",
            notify_app_path, work / "exec.trace", "3"};
  Daemon d("", o);
  ASSERT_TRUE(d.wait_for("missed 2 heartbeats")) << d.log();
  ASSERT_TRUE(d.wait_count("started, pid", 2)) << d.log();
  const auto enabled = trace_of(read_trace(work / "exec.trace"), "enabled");
  ASSERT_FALSE(enabled.empty());
  EXPECT_EQ(enabled[0].values, (std::vector<long long>{1, 600000}));
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  std::size_t left = 0;
  for (const auto &e : fs::directory_iterator(work.path()))
    left += e.path().filename().string().rfind("hbmond-exec.", 0) == 0;
  EXPECT_EQ(left, 0u) << "the private directory outlived hbmond";
}
