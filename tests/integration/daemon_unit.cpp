// The systemd unit as shipped (units/hbmond.service.in) and what it relies
// on hbmond for: the OOM killer's kills told apart from other SIGKILLs,
// apps set back to oom_score_adj 0 and to the unit's soft fd limit, a
// reload that fails when refused, and the stop timeout extended while apps
// still stop. What only systemd can show (systemctl show, systemctl reload,
// a stop under TimeoutStopSec=) is in the e2e test (tests/e2e/inside.sh).
#include "harness.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

using namespace hbtest;

namespace {

class Unit : public ::testing::Test {
protected:
  TempDir work;
};

// A fake cgroup directory with a memory.events saying `oom_kills`.
void write_events(const std::string &dir, int oom_kills) {
  const std::string tmp = dir + "/memory.events.tmp";
  std::ofstream(tmp) << "low 0\nhigh 0\nmax 3\noom " << oom_kills << "\noom_kill " << oom_kills
                     << "\noom_group_kill 0\n";
  ASSERT_EQ(std::rename(tmp.c_str(), (dir + "/memory.events").c_str()), 0);
}

std::string sleeper(const std::string &name) {
  return R"({"name": ")" + name +
         R"(", "command": ["/bin/sleep", "60"], "heartbeat": null, "restart": "never"})";
}

int read_int(const std::string &path) {
  int v = -12345;
  std::ifstream(path) >> v;
  return v;
}

// The value of `key` in the unit's [Service] section ("" when not set).
std::string unit_setting(const std::string &key) {
  std::ifstream in(program("HBTEST_UNIT", HBTEST_UNIT_PATH));
  std::string value;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + "=", 0) == 0)
      value = line.substr(key.size() + 1);
  return value;
}

// The soft and hard limits of `pid`'s RLIMIT_NOFILE.
std::pair<rlim_t, rlim_t> nofile(pid_t pid) {
  rlimit rl{};
  if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &rl) < 0)
    return {0, 0};
  return {rl.rlim_cur, rl.rlim_max};
}

} // namespace

// The kernel's OOM killer sends SIGKILL and counts the kill in the
// cgroup's memory.events: an app that died of SIGKILL as the count rose was
// killed by it; one that died of SIGKILL with the count unchanged was not.
TEST_F(Unit, AnAppKilledAsTheOomKillCountRoseWasKilledByTheOomKiller) {
  write_events(work.path(), 7); // kills before hbmond started are not the apps'
  Daemon::Options o;
  o.env = {"HBMOND_TEST_CGROUP_DIR=" + work.path()};
  Daemon d(config_of({sleeper("plain"), sleeper("hog")}), o);
  auto plain = d.wait_started("plain");
  auto hog = d.wait_started("hog");
  ASSERT_TRUE(plain && hog) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";

  ::kill(*plain, SIGKILL); // by someone else: the count stays at 7
  ASSERT_TRUE(d.wait_for("plain: pid " + std::to_string(*plain) + " exited: killed by SIGKILL"))
      << d.log();
  EXPECT_EQ(app_status(control, "plain")["result"], "signal");

  write_events(work.path(), 8); // the kernel counts the kill as it sends it
  ::kill(*hog, SIGKILL);
  ASSERT_TRUE(d.wait_for("hog: pid " + std::to_string(*hog) + " exited: killed by the OOM killer"))
      << d.log();
  ASSERT_TRUE(d.wait_state("hog", "exited")) << d.log();
  const auto st = app_status(control, "hog");
  EXPECT_EQ(st["result"], "oom-kill") << st;
  EXPECT_EQ(st["reason"], "killed by the OOM killer") << st;
}

// The unit shields hbmond from the OOM killer (OOMScoreAdjust=) and lets one
// app's OOM kill be that app's crash (OOMPolicy=continue, not stop: every
// app); the apps would inherit hbmond's score unless it sets them back to 0.
TEST_F(Unit, AppsStartAtOomScoreAdjZeroWhateverTheUnitGivesHbmond) {
  EXPECT_EQ(unit_setting("OOMPolicy"), "continue");
  const std::string score = unit_setting("OOMScoreAdjust");
  ASSERT_FALSE(score.empty()) << "the unit does not shield hbmond";
  ASSERT_LT(std::stoi(score), 0);
  // A positive score stands in for the unit's: lowering hbmond's own below
  // 0 takes CAP_SYS_RESOURCE, which a test machine may not grant (systemd
  // does, and the e2e test checks the real one); apps inherit either alike.
  Daemon::Options o;
  o.wrapper = {"/usr/bin/choom", "-n", "500", "--"};
  Daemon d(config_of({sleeper("app")}), o);
  auto app = d.wait_started("app");
  ASSERT_TRUE(app) << d.log();
  ASSERT_EQ(read_int("/proc/" + std::to_string(d.pid()) + "/oom_score_adj"), 500);
  EXPECT_EQ(read_int("/proc/" + std::to_string(*app) + "/oom_score_adj"), 0);
}

// LimitNOFILE=SOFT:HARD: hbmond raises its own soft limit to the hard one
// (it needs several fds per app), its apps start with 1024, the soft
// limit select() works with.
TEST_F(Unit, AppsStartWithSoftFdLimit1024UnderTheUnitsLimitNOFILE) {
  const std::string limit = unit_setting("LimitNOFILE");
  const auto colon = limit.find(':');
  const rlim_t soft = std::stoul(limit.substr(0, colon));
  // Not above the hard limit this test runs with (a container's may be lower).
  const rlim_t hard = std::min<rlim_t>(
      colon == std::string::npos ? soft : std::stoul(limit.substr(colon + 1)), nofile(0).second);
  Daemon::Options o;
  o.wrapper = {"/usr/bin/prlimit",
               "--nofile=" + std::to_string(std::min(soft, hard)) + ":" + std::to_string(hard),
               "--"};
  Daemon d(config_of({sleeper("app")}), o);
  auto app = d.wait_started("app");
  ASSERT_TRUE(app) << d.log();
  EXPECT_EQ(nofile(d.pid()), std::make_pair(hard, hard)) << "hbmond raised its soft limit";
  EXPECT_EQ(nofile(*app), std::make_pair(rlim_t{1024}, hard)) << "LimitNOFILE=" << limit;
}

// `systemctl reload` runs ExecReload= and fails when it does: it must wait
// for hbmond's verdict and fail on a refused config (a SIGHUP succeeds
// whatever hbmond makes of the file), saying why for the journal.
TEST_F(Unit, TheUnitsReloadCommandFailsOnARefusedConfigAndSaysWhy) {
  std::string reload = unit_setting("ExecReload");
  const std::string bindir = "@bindir@/hbmonctl";
  ASSERT_NE(reload.find(bindir), std::string::npos) << "ExecReload=" << reload;
  reload.replace(reload.find(bindir), bindir.size(), hbmonctl_path);
  Daemon d(config_of({sleeper("app")}));
  auto app = d.wait_started("app");
  ASSERT_TRUE(app) << d.log();
  // As systemd runs it: $MAINPID set, the default control socket (here the
  // test's runtime dir).
  const std::string env =
      "MAINPID=" + std::to_string(d.pid()) + " HBMON_CONTROL=ipc://" + d.dir() / "control" + " ";
  std::ofstream(d.config_path()) << R"({"apps": [{"name": "app", "comand": ["/bin/true"]}]})";
  auto [status, out] = shell(env + reload);
  EXPECT_NE(status, 0) << "a refused config reloaded with success: " << reload;
  EXPECT_NE(out.find("apps[0].comand: unknown key"), std::string::npos) << out;
  ASSERT_TRUE(d.wait_for("the running config is kept")) << d.log();
  EXPECT_EQ(app_status("ipc://" + d.dir() / "control", "app")["pid"], *app) << "touched";
  std::ofstream(d.config_path()) << config_of({sleeper("app")});
  std::tie(status, out) = shell(env + reload);
  EXPECT_EQ(status, 0) << out;
}

// An app's stop_timeout may exceed the unit's TimeoutStopSec=: while an app
// is still stopping, hbmond asks systemd for more time, every second.
TEST_F(Unit, StopTimeoutIsExtendedWhileAnAppIsStillStopping) {
  NotifyListener sd(work / "notify.sock");
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "notify.sock"};
  // It beats once it ignores SIGTERM: running means ignoring.
  Daemon d(
      config_of({app_json("slow", "--ignore-term --then beat",
                          R"("heartbeat": {"interval": 0.2, "misses": 2}, "stop_timeout": 2.5)")}),
      o);
  ASSERT_TRUE(sd.wait("READY=1")) << d.log();
  ASSERT_TRUE(d.wait_state("slow", "running")) << d.log();
  d.signal(SIGTERM);
  ASSERT_TRUE(sd.wait("STOPPING=1")) << d.log();
  auto first = sd.wait("EXTEND_TIMEOUT_USEC=");
  ASSERT_TRUE(first) << d.log();
  EXPECT_EQ(first->first, "EXTEND_TIMEOUT_USEC=5000000");
  auto second = sd.wait("EXTEND_TIMEOUT_USEC=");
  ASSERT_TRUE(second) << "one extension only: systemd would SIGKILL 5 s later" << d.log();
  EXPECT_GT(secs(second->second - first->second), 0.5);
  EXPECT_TRUE(d.wait_for("still running 2.5s after SIGTERM, sending SIGKILL"))
      << "hbmond's own bound holds" << d.log();
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}
