// An app's processes from the outside: the credentials and directory it
// starts with, and that none of its descendants outlives hbmond.
#include "child_holder.hpp"
#include "harness.hpp"

#include <algorithm>
#include <future>
#include <grp.h>
#include <gtest/gtest.h>
#include <map>
#include <pwd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>

using namespace hbtest;

namespace {

class Processes : public ::testing::Test {
protected:
  TempDir work; // traces and directories
  std::string trace(const std::string &name) { return work / (name + ".trace"); }
  std::string a(const std::string &name, const std::string &args, const std::string &extra) {
    return app_json(name, args, extra, trace(name));
  }
};

// The "Uid:", "Gid:" and "Groups:" lines of /proc/<pid>/status, tabs as spaces.
std::map<std::string, std::string> credentials(pid_t pid) {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string key = line.substr(0, colon), value = line.substr(colon + 1);
    std::replace(value.begin(), value.end(), '\t', ' ');
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of(' ') + 1);
    if (key == "Uid" || key == "Gid" || key == "Groups")
      out[key] = value;
  }
  return out;
}

std::string four_times(unsigned id) {
  const std::string s = std::to_string(id);
  return s + " " + s + " " + s + " " + s; // real, effective, saved, filesystem
}

// The kernel lists the supplementary groups sorted.
std::string group_list(std::vector<gid_t> groups) {
  std::sort(groups.begin(), groups.end());
  std::string s;
  for (gid_t g : groups)
    s += (s.empty() ? "" : " ") + std::to_string(g);
  return s;
}

} // namespace

// The child sets its ids with the raw system calls (sys/spawn.cpp): each of
// them must have happened, for every one of the ids.

// hbmond does not wait for a child's exec: a child held before it (by a
// tracer, from its first instruction) holds up nothing. hbmond answers at
// once, shows the app starting with that pid, and other apps go on; the
// watchdog hears of the run once the exec is done.
TEST_F(Processes, AChildThatHasNotExecdYetHoldsUpNothing) {
  Daemon d(config_of({a("steady", "--then beat", fast_hb),
                      a("held", "--then beat", std::string(fast_hb) + R"(, "enabled": false)")}));
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  ASSERT_TRUE(d.wait_state("steady", "running")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  const std::string hbmond_exe =
      std::filesystem::read_symlink("/proc/" + std::to_string(d.pid()) + "/exe");

  ChildHolder holder(d.pid());
  ASSERT_TRUE(holder.attached()) << "cannot trace hbmond (ptrace)";
  // With a spawn that waits for the exec, hbmond would not answer this.
  const auto [status, out] = hbmonctl(control, "--timeout 3 start --no-block held");
  EXPECT_EQ(status, 0) << out;
  const auto child = holder.child(10s);
  ASSERT_TRUE(child) << d.log();
  // Still hbmond's program: the child has not exec'd.
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(*child) + "/exe"), hbmond_exe);
  const auto held = app_status(control, "held");
  ASSERT_TRUE(held.is_object()) << "no answer while a child waits for its exec\n" << d.log();
  EXPECT_EQ(held["state"], "starting");
  EXPECT_EQ(held["pid"], *child);
  expect_status_fast(control);
  EXPECT_EQ(app_status(control, "steady")["state"], "running");
  EXPECT_EQ(d.count("held: started"), 0u) << d.log();

  holder.release();
  const auto pid = d.wait_started("held");
  ASSERT_TRUE(pid) << d.log();
  EXPECT_EQ(*pid, *child);
  EXPECT_TRUE(d.wait_state("held", "running")) << d.log();
}

// READY=1 (and the "supervising" line) wait for every boot start's exec,
// not just its spawn: a child held before its exec holds them up, and they
// come once it has exec'd. hbmond is held before its own exec (a stopped
// shell that execs it) so that the tracer sees its very first start.
TEST_F(Processes, ReadyWaitsForTheBootStartsExecNotItsSpawn) {
  NotifyListener sd(work / "notify.sock");
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "notify.sock"};
  o.wrapper = {"/bin/sh", "-c", "kill -STOP $$; exec \"$@\"", "sh"};
  Daemon d(config_of({a("boot", "--then beat", fast_hb)}), o);
  const std::string stat_file = "/proc/" + std::to_string(d.pid()) + "/stat";
  ASSERT_TRUE(wait_until([&] {
    std::ifstream in(stat_file);
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T';
  })) << "the wrapper never stopped";
  ChildHolder holder(d.pid(), 1); // its guardian goes
  ASSERT_TRUE(holder.attached()) << "cannot trace hbmond (ptrace)";
  ::kill(d.pid(), SIGCONT);
  const auto child = holder.child(10s);
  ASSERT_TRUE(child) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  const auto held = app_status(control, "boot");
  ASSERT_TRUE(held.is_object()) << d.log();
  EXPECT_EQ(held["state"], "starting");
  // hbmond sent what it had to send before it answered: READY is not in.
  while (auto m = sd.next(0ms))
    EXPECT_NE(m->first.rfind("READY=1", 0), 0u) << "READY=1 before the boot start's exec";
  d.poll_log();
  EXPECT_EQ(d.count("supervising"), 0u) << d.log();

  holder.release();
  EXPECT_TRUE(sd.wait("READY=1")) << d.log();
  d.poll_log();
  EXPECT_EQ(d.count("boot: started, pid " + std::to_string(*child)), 1u) << d.log();
}

// What comes for an app while its child has not exec'd waits for the exec:
// a stop then stops the run that has begun, not a watchdog that has not
// heard of it yet (which would then take the exec for a start).
TEST_F(Processes, AStopWhileTheChildHasNotExecdStopsTheRunOnceItHas) {
  Daemon d(config_of({a("held", "--then beat", std::string(fast_hb) + R"(, "enabled": false)")}));
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  ChildHolder holder(d.pid());
  const auto child = start_held(holder, control, "held");
  ASSERT_TRUE(child) << "no child held (can the test trace hbmond?)\n" << d.log();
  EXPECT_EQ(hbmonctl(control, "--timeout 3 stop --no-block held").first, 0);
  holder.release();
  EXPECT_TRUE(d.wait_for("held: started, pid " + std::to_string(*child))) << d.log();
  EXPECT_TRUE(wait_gone(*child, 10s)) << d.log();
  EXPECT_TRUE(d.wait_state("held", "stopped")) << d.log();
  EXPECT_EQ(app_status(control, "held")["state"], "stopped") << d.log();
}

TEST_F(Processes, AnAppRunsWithExactlyItsAccountsIds) {
  const passwd *nobody = ::getpwnam("nobody");
  const group *daemon_group = ::getgrnam("daemon");
  ASSERT_TRUE(nobody && daemon_group) << "needs the user nobody and the group daemon";
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = daemon_group->gr_gid;
  std::vector<gid_t> groups(64);
  int n = static_cast<int>(groups.size());
  ASSERT_GE(::getgrouplist("nobody", gid, groups.data(), &n), 0);
  groups.resize(static_cast<std::size_t>(n));

  const std::string sleeper = R"("command": ["/bin/sleep", "60"], "heartbeat": null)";
  Daemon d(config_of({R"({"name": "both", "user": "nobody", "group": "daemon", )" + sleeper + "}",
                      R"({"name": "grouponly", "group": "daemon", )" + sleeper + "}"}));
  auto both = d.wait_started("both");
  auto group_only = d.wait_started("grouponly");
  ASSERT_TRUE(both && group_only) << d.log();

  auto c = credentials(*both);
  EXPECT_EQ(c["Uid"], four_times(uid));
  EXPECT_EQ(c["Gid"], four_times(gid));
  EXPECT_EQ(c["Groups"], group_list(groups)) << "the account's groups, not hbmond's";
  // Without a user: hbmond's uid, the group as gid and as the only group.
  c = credentials(*group_only);
  EXPECT_EQ(c["Uid"], four_times(::getuid()));
  EXPECT_EQ(c["Gid"], four_times(gid));
  EXPECT_EQ(c["Groups"], std::to_string(gid));
}

// The working directory is entered after the switch to the app's user
// (sys/spawn.cpp), as systemd does: root may enter any directory, the app
// only its own.
TEST_F(Processes, TheWorkingDirectoryIsEnteredAsTheAppsUser) {
  ASSERT_EQ(::chmod(work.path().c_str(), 0755), 0); // nobody may pass through
  const std::string locked = work / "locked", open = work / "open";
  ASSERT_EQ(::mkdir(locked.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(open.c_str(), 0755), 0);
  auto pwd_in = [](const std::string &name, const std::string &dir) {
    return R"({"name": ")" + name + R"(", "command": ["/bin/pwd"], "user": "nobody", "cwd": ")" +
           dir + R"(", "heartbeat": null, "restart": "never"})";
  };
  Daemon d(config_of({pwd_in("locked", locked), pwd_in("open", open)}));
  EXPECT_TRUE(d.wait_for("locked: failed to start: chdir " + locked + ": Permission denied"))
      << d.log();
  EXPECT_TRUE(d.wait_state("locked", "failed")) << d.log();
  EXPECT_TRUE(d.wait_for("[open] " + open)) << d.log();
  EXPECT_EQ(d.count("[locked]"), 0u) << d.log();
}

// An escaped process (setsid) whose descendants fork on: each of them
// becomes hbmond's child only once its parent is dead, so a single sweep at
// shutdown leaves them under pid 1. hbmond sweeps until none is left.
TEST_F(Processes, ShutdownLeavesNoDescendantBehindHoweverLateItIsReparented) {
  Daemon d(config_of({a("forker", "--escape-chain 3 --then beat", fast_hb)}));
  ASSERT_TRUE(d.wait_state("forker", "running")) << d.log();
  std::vector<TraceLine> escaped;
  ASSERT_TRUE(wait_until([&] {
    escaped = trace_of(read_trace(trace("forker")), "escaped");
    return escaped.size() == 3;
  })) << "the chain did not fork";
  std::vector<std::pair<pid_t, int>> chain; // pid, pidfd
  for (const auto &t : escaped) {
    const pid_t pid = static_cast<pid_t>(t.values.at(0));
    chain.emplace_back(pid, pidfd_open(pid));
    ASSERT_GE(chain.back().second, 0);
  }
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
  for (auto [pid, fd] : chain) {
    EXPECT_TRUE(process_gone(pid)) << "pid " << pid << " outlived hbmond\n" << d.log();
    EXPECT_EQ(d.count("killing stray process " + std::to_string(pid)), 1u) << d.log();
    kill_pidfd(fd); // in case it did survive: never leak it
    ::close(fd);
  }
}

// A start during the shutdown would only be SIGKILLed at its end, after the
// full stop timeout: refused, and nothing is spawned.
TEST_F(Processes, StartAndRestartAreRefusedDuringTheShutdown) {
  Daemon d(config_of(
      {a("slow", "--ignore-term --then beat", std::string(fast_hb) + R"(, "stop_timeout": 2)"),
       a("other", "--then beat", std::string(fast_hb) + R"(, "enabled": false)")}));
  ASSERT_TRUE(d.wait_state("slow", "running")) << d.log();
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_for("stopping every app")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  // A stopped app and one still stopping: either would be spawned anew.
  for (const std::string request : {"start other", "restart slow", "reload"}) {
    auto [status, out] = hbmonctl(control, request);
    EXPECT_EQ(status, 1) << request << ": " << out;
    EXPECT_NE(out.find("hbmond is shutting down"), std::string::npos) << request << ": " << out;
  }
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
  EXPECT_EQ(d.count("other: started, pid"), 0u) << d.log();
  EXPECT_EQ(d.count("slow: started, pid"), 1u) << d.log();
}

// A stop signal reaches an app's process once: the group's signal reaches
// the leader, which is not signalled again (a shell's TERM trap would run
// twice). A real-time stop signal is queued, so each send is counted.
TEST_F(Processes, TheStopSignalReachesTheAppOnce) {
  Daemon d(config_of(
      {app_json("counted", "--count-signal 40", R"("heartbeat": null, "stop_signal": "RTMIN+6")",
                work / "counted.trace")}));
  ASSERT_TRUE(d.wait_state("counted", "running")) << d.log();
  ASSERT_TRUE(
      wait_until([&] { return !trace_of(read_trace(work / "counted.trace"), "start").empty(); }));
  ask("ipc://" + d.dir() / "control", R"({"v":1,"cmd":"stop","apps":["counted"]})");
  ASSERT_TRUE(d.wait_for("counted: pid")) << d.log();
  const auto counts = trace_of(read_trace(work / "counted.trace"), "signals");
  ASSERT_EQ(counts.size(), 1u) << d.log();
  EXPECT_EQ(counts[0].values[0], 1) << "the stop signal came more than once";
}
