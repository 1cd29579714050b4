// Re-exec (SPEC "Re-exec"): hbmond replaces itself with the binary at its
// path and keeps every app: pids, counters, states, deadlines, pipes and
// sockets. A refused check keeps the running instance; a restore that fails
// after the exec takes every app down with it (the guardian's rule).
#include "child_holder.hpp"
#include "harness.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <sys/syscall.h>
#include <thread>

using namespace hbtest;

namespace {

class Reexec : public ::testing::Test {
protected:
  TempDir work;

  // Every app's status, by name.
  static std::map<std::string, nlohmann::json> statuses(const std::string &control) {
    std::map<std::string, nlohmann::json> out;
    auto a = ask(control, R"({"v":1,"cmd":"status"})");
    if (a.reply.is_object() && a.reply.contains("apps"))
      for (const auto &app : a.reply["apps"])
        out[app["name"].get<std::string>()] = app;
    return out;
  }

  // How many processes have `pid` for their parent (hbmond: its apps, its
  // guardian, exec probes running).
  static std::size_t children_of(pid_t pid) {
    std::size_t n = 0;
    for (const auto &e : std::filesystem::directory_iterator("/proc")) {
      std::ifstream in(e.path() / "stat");
      std::string stat;
      if (!std::getline(in, stat))
        continue;
      const auto close = stat.rfind(')');
      if (close == std::string::npos)
        continue;
      std::istringstream rest(stat.substr(close + 2));
      char state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      n += ppid == pid;
    }
    return n;
  }

  static nlohmann::json info(const std::string &control) {
    return ask(control, R"({"v":1,"cmd":"info"})").reply;
  }

  // SIGUSR2, then the new program's word that it took over (its n-th).
  static bool reexec(Daemon &d, int n) {
    d.signal(SIGUSR2);
    return d.wait_for("re-executed (re-exec " + std::to_string(n) + ",", 10s).has_value();
  }

  // A shell script at `path` (replacing what is there in one rename, as a
  // package upgrade does).
  void script(const std::string &path, const std::string &body) {
    const std::string tmp = path + ".new";
    std::ofstream(tmp) << "#!/bin/sh\n" << body << "\n";
    std::filesystem::permissions(tmp, std::filesystem::perms::owner_all |
                                          std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec);
    std::filesystem::rename(tmp, path);
  }

  // hbmond started from a copy at `path`: what a re-exec runs is what is
  // at that path then.
  Daemon::Options from(const std::string &path, const std::string &config) {
    std::filesystem::copy_file(hbmond_path, path);
    Daemon::Options o;
    // The harness names its hbmond first: the wrapper drops it.
    o.wrapper = {"/bin/sh", "-c", "shift; exec \"$0\" \"$@\"", path};
    o.args = {"--config", config, "--runtime-dir", work / "run", "--log-level", "debug"};
    return o;
  }
};

} // namespace

// 51 apps in every state: 40 beating over ZeroMQ, one over a notify socket,
// one probed by an exec probe, 3 in a long backoff, 2 stopped, 2 failed,
// one mid-stop (it ignores SIGTERM). Twenty re-execs in a row: no app is
// touched, nothing is counted twice or lost, no heartbeat is taken for a
// miss, hbmond's fds stay where they were. Then one more re-exec, timed to
// fall on a hung app's kill: it is still killed on time.
TEST_F(Reexec, FiftyAppsInEveryStateLiveThroughTwentyReexecsUntouched) {
  std::string apps = R"({"apps": [)";
  for (int i = 0; i < 40; ++i)
    apps += app_json("b" + std::to_string(i), "--beats 1000000 --period 0.1",
                     R"("heartbeat": {"interval": 0.5, "misses": 2})") +
            ", ";
  apps += R"({"name": "notify", "command": [")" + std::string(notify_app_path) + R"(", ")" +
          work / "notify.trace" +
          R"(", "1000000"], "heartbeat": {"protocol": "notify", "interval": 0.5}}, )";
  apps += R"({"name": "probed", "command": ["/bin/sleep", "1000"], "heartbeat": null, )"
          R"("probe": {"exec": ["/bin/true"], "interval": 1, "timeout": 1}}, )";
  for (int i = 0; i < 3; ++i)
    apps += app_json("backoff" + std::to_string(i), "--then exit 3",
                     R"("heartbeat": null, "restart_delay": 60)") +
            ", ";
  for (int i = 0; i < 2; ++i)
    apps += app_json("off" + std::to_string(i), "", R"("enabled": false)") + ", ";
  for (int i = 0; i < 2; ++i)
    apps += app_json("failed" + std::to_string(i), "--then exit 3",
                     R"("heartbeat": null, "restart_delay": 0.05,)"
                     R"( "start_limit": {"burst": 2, "interval": 60})") +
            ", ";
  apps += app_json("stopping", "--beats 1000000 --period 0.1 --ignore-term",
                   R"("heartbeat": {"interval": 0.5}, "stop_timeout": 60)") +
          ", ";
  apps += app_json("hung", "--beats 3 --period 0.1 --then hang",
                   R"("heartbeat": {"interval": 0.5, "misses": 2}, "restart_delay": 60,)"
                   R"( "enabled": false)",
                   work / "hung.trace") +
          "]}";
  Daemon d(apps);
  const std::string control = "ipc://" + d.dir() / "control";
  ASSERT_TRUE(d.wait_for("supervising 51 apps")) << d.log();
  ASSERT_TRUE(wait_until([&] {
    d.poll_log();
    auto st = statuses(control);
    return st["failed0"]["state"] == "failed" && st["failed1"]["state"] == "failed";
  })) << d.log();
  ASSERT_TRUE(d.wait_for("probed: starting -> running")) << d.log();
  ask(control, R"({"v":1,"cmd":"stop","apps":["stopping"]})");
  ASSERT_TRUE(d.wait_state("stopping", "stopping")) << d.log();

  auto before = statuses(control);
  ASSERT_EQ(before.size(), 51u);
  EXPECT_EQ(before["stopping"]["state"], "stopping");
  EXPECT_EQ(before["off0"]["state"], "stopped");
  EXPECT_EQ(before["failed0"]["state"], "failed");
  EXPECT_EQ(before["backoff0"]["state"], "backoff");
  const std::size_t fds = open_fds(d.pid());
  const std::size_t children = children_of(d.pid());
  const nlohmann::json first = info(control);
  ASSERT_EQ(first["reexecs"], 0);

  // Back to back, faster than the senders reconnect. Instrumented, a
  // sender of its own (ASan's hbtest_app) may take longer to reconnect than
  // the 200 ms the SPEC gives it after a handover, on a busy machine: there
  // each re-exec waits until every sender got a heartbeat through again,
  // and one miss short of the kill is allowed (never the kill: the pids and
  // restarts below).
  const int misses_allowed = sanitized ? 1 : 0;
  for (int n = 1; n <= 20; ++n) {
    const auto beats = sanitized ? statuses(control) : decltype(statuses(control)){};
    ASSERT_TRUE(reexec(d, n)) << "re-exec " << n << "\n" << d.log();
    if (sanitized) {
      ASSERT_TRUE(wait_until([&] {
        d.poll_log();
        auto now = statuses(control);
        for (int i = 0; i < 40; ++i) {
          const std::string b = "b" + std::to_string(i);
          if (now[b]["heartbeats"] <= beats.at(b)["heartbeats"])
            return false;
        }
        return true;
      })) << "re-exec "
          << n << ": a sender did not come back\n"
          << d.log();
    }
  }

  const nlohmann::json last = info(control);
  EXPECT_EQ(last["reexecs"], 20);
  EXPECT_EQ(last["pid"], d.pid());
  EXPECT_EQ(last["started"], first["started"]);

  auto after = statuses(control);
  ASSERT_EQ(after.size(), 51u);
  for (auto &[name, was] : before) {
    if (name == "hung")
      continue;
    const auto &now = after[name];
    EXPECT_EQ(now["pid"], was["pid"]) << name;
    EXPECT_EQ(now["state"], was["state"]) << name;
    EXPECT_EQ(now["restarts"], was["restarts"]) << name;
    // (A notify app pings right at each due time: a miss short of the kill
    // is no news there, with or without re-execs.)
    if (name != "notify") {
      EXPECT_LE(now["misses"], misses_allowed) << name << " lost a heartbeat to the re-execs";
    }
    EXPECT_EQ(now["last_exit"], was["last_exit"]) << name;
    EXPECT_GE(now["heartbeats"], was["heartbeats"]) << name;
    EXPECT_EQ(now["heartbeats_refused"], 0) << name;
  }
  // (While re-execs follow each other faster than ZeroMQ senders
  // reconnect, 100 ms, few heartbeats get through; none is judged missing.)
  EXPECT_GT(after["b0"]["heartbeats"], before["b0"]["heartbeats"]);
  EXPECT_GT(after["notify"]["heartbeats"], before["notify"]["heartbeats"]);
  EXPECT_EQ(after["probed"]["last_probe"]["ok"], true);
  for (const std::string &l : d.lines())
    EXPECT_TRUE(l.find("missed heartbeat") == std::string::npos ||
                l.find("debug") != std::string::npos ||
                (misses_allowed > 0 && l.find("missed heartbeat 1/2") != std::string::npos))
        << l;
  // (An exec probe running when they were counted held two more.)
  EXPECT_TRUE(wait_until([&] { return open_fds(d.pid()) <= fds; }, 3s))
      << open_fds(d.pid()) << " fds open, " << fds << " before the re-execs";
  // The same guardian throughout: no second one, nothing left behind.
  EXPECT_TRUE(wait_until([&] { return children_of(d.pid()) <= children; }, 3s))
      << children_of(d.pid()) << " children, " << children << " before the re-execs";
  // The one mid-stop is still stopping; its process is still ours to end.
  EXPECT_EQ(after["stopping"]["state"], "stopping");
  ask(control, R"({"v":1,"cmd":"signal","apps":["stopping"],"signal":"KILL"})");
  EXPECT_TRUE(d.wait_for("stopping: pid " + after["stopping"]["pid"].dump() + " exited"))
      << d.log();

  // A hung app, killed 2 intervals after its last beat as if there were no
  // re-exec, but for a due time inside a handover, judged 200 ms after it:
  // a re-exec is sent to fall on that due time (a schedule, not a wait).
  ask(control, R"({"v":1,"cmd":"start","apps":["hung"]})");
  const auto hung = d.wait_started("hung");
  ASSERT_TRUE(hung) << d.log();
  const int hung_fd = pidfd_open(*hung);
  ASSERT_TRUE(
      wait_until([&] { return !trace_of(read_trace(work / "hung.trace"), "alive").empty(); }));
  const long long due =
      trace_of(read_trace(work / "hung.trace"), "beat").back().values[0] + 1'000'000'000LL;
  const long long wake = due - 10'000'000LL;
  // Its death is timed from here on, while the re-exec runs.
  std::optional<long long> gone;
  std::thread watcher([&] { gone = wait_pidfd(hung_fd, 15s); });
  timespec at{static_cast<time_t>(wake / 1'000'000'000), static_cast<long>(wake % 1'000'000'000)};
  ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
  EXPECT_TRUE(reexec(d, 21)) << d.log();
  watcher.join();
  ::close(hung_fd);
  ASSERT_TRUE(gone) << d.log();
  EXPECT_GE(*gone, due) << "killed " << secs(due - *gone) << " s early\n" << d.log();
  // Late by at most the usual 250 ms, the grace, and the handover itself
  // (~30 ms for 51 apps; ~300 ms in the unoptimized sanitized build).
  EXPECT_LE(secs(*gone - due), 0.25 + 0.2 + (sanitized ? 0.5 : 0.1)) << "killed late\n" << d.log();
}

// What an app wrote lives through a re-exec: a line it had begun ends in
// the next hbmond, the recent lines `logs` shows keep their numbers, and an
// app's stdout is the same pipe.
TEST_F(Reexec, AnAppsOutputAndRecentLinesGoOnAcrossIt) {
  Daemon d(
      config_of({app_json("talker", "--say first --partial half-a-", R"("heartbeat": null)")}));
  const std::string control = "ipc://" + d.dir() / "control";
  ASSERT_TRUE(d.wait_for("[talker] first")) << d.log();
  const auto logs = [&] {
    return ask(control, R"({"v":1,"cmd":"logs","app":"talker","lines":10})").reply;
  };
  const nlohmann::json was = logs();
  ASSERT_EQ(was["lines"].size(), 1u) << was;
  ASSERT_TRUE(reexec(d, 1)) << d.log();
  const nlohmann::json now = logs();
  EXPECT_EQ(now["lines"], was["lines"]);
  EXPECT_EQ(now["cursor"], was["cursor"]) << "a follower's place means another line now";
  // The line it had begun was not cut at the re-exec: it ends, whole, when
  // its run does.
  EXPECT_EQ(d.count("half-a-"), 0u) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0);
  EXPECT_EQ(d.count("[talker] half-a-"), 1u) << d.log();
}

// hbmond's own counters (info's "counters") go on across a re-exec, as the
// apps' do: the requests counted before it are not forgotten.
TEST_F(Reexec, HbmondsOwnCountersGoOnAcrossIt) {
  Daemon d(config_of({app_json("a", "--then beat", fast_hb)}));
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(ask(control, R"({"v":1,"cmd":"status"})").reply.is_object());
  const auto before = info(control)["counters"].value("control_requests", 0u);
  ASSERT_GE(before, 21u);
  ASSERT_TRUE(reexec(d, 1)) << d.log();
  const auto after = info(control)["counters"].value("control_requests", 0u);
  EXPECT_GT(after, before) << "counted anew from zero";
}

// A re-exec first waits for the exec of every child that has not made it
// yet. One that dies before (here: killed while a tracer holds it at its
// first instruction) ends that wait at once, though its report pipe never
// ends (its write end is still in hbmond's fd table, which the child never
// got to leave): hbmond asks the pidfd too, and the re-exec goes on.
TEST_F(Reexec, AChildThatDiesBeforeItsExecHoldsUpNoReexec) {
  Daemon d(
      config_of({app_json("held", "--then beat", std::string(fast_hb) + R"(, "enabled": false)")}));
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  ChildHolder holder(d.pid());
  const auto child = start_held(holder, control, "held");
  ASSERT_TRUE(child) << "no child held (can the test trace hbmond?)\n" << d.log();

  d.signal(SIGUSR2);
  // hbmond's loop thread waits in poll(2) only there, for the held child.
  const std::string syscall_file = "/proc/" + std::to_string(d.pid()) + "/syscall";
  ASSERT_TRUE(wait_until([&] {
    std::ifstream in(syscall_file);
    std::string nr;
    return in >> nr && nr == std::to_string(SYS_poll);
  })) << "hbmond never waited for the held child's exec\n"
      << d.log();
  holder.kill();
  EXPECT_TRUE(d.wait_for("re-executed (re-exec 1,", 10s)) << d.log();
  EXPECT_EQ(d.count("re-exec refused"), 0u) << d.log();
  EXPECT_EQ(info(control)["reexecs"], 1);
  // The start that died is a run that ended; the app starts again.
  const std::string first = "held: started, pid " + std::to_string(*child);
  EXPECT_TRUE(d.wait_line([&](const std::string &line) {
    return line.find("held: started, pid ") != std::string::npos &&
           line.find(first) == std::string::npos;
  })) << d.log();
}

// The binary at hbmond's path refuses (a config it does not take, or a
// state it cannot read): the running hbmond goes on, every app with it, and
// the command says why. Then an upgrade puts a new binary at that path:
// the re-exec runs it.
TEST_F(Reexec, ARefusedCheckKeepsTheRunningInstanceAndAnUpgradedBinaryIsRun) {
  const std::string bin = work / "hbmond";
  std::ofstream(work / "apps.json")
      << config_of({app_json("a", "--beats 1000000 --period 0.1", "")});
  Daemon d("", from(bin, work / "apps.json"));
  const std::string control = "ipc://" + work / "run/control";
  const auto pid = d.wait_started("a");
  ASSERT_TRUE(pid) << d.log();

  script(bin, "echo 'cannot read state format 9 (a newer hbmond)' >&2; exit 1");
  const Answer refused = ask(control, R"({"v":1,"cmd":"reexec"})");
  EXPECT_EQ(refused.reply.value("error", ""), "reexec-failed") << refused.reply;
  EXPECT_NE(refused.reply.value("message", "").find("cannot read state format 9"),
            std::string::npos)
      << refused.reply;
  EXPECT_TRUE(d.wait_for("re-exec refused, hbmond goes on")) << d.log();
  EXPECT_EQ(info(control)["reexecs"], 0);
  EXPECT_EQ(info(control)["pid"], d.pid());

  // A config the new binary refuses: refused likewise, with its words.
  std::filesystem::remove(bin);
  std::filesystem::copy_file(hbmond_path, bin);
  std::ofstream(work / "apps.json") << R"({"apps": [{"name": "a"}]})";
  d.signal(SIGUSR2);
  const auto line = d.wait_for("re-exec refused, hbmond goes on", 10s, 2);
  ASSERT_TRUE(line) << d.log();
  EXPECT_NE(line->find("apps.json"), std::string::npos) << *line;
  EXPECT_EQ(info(control)["reexecs"], 0);

  // The upgrade: a new binary at the path (here one that says so first).
  std::ofstream(work / "apps.json")
      << config_of({app_json("a", "--beats 1000000 --period 0.1", "")});
  script(bin, "echo \"upgraded binary runs $*\" >&2; exec " + std::string(hbmond_path) + " \"$@\"");
  ASSERT_TRUE(reexec(d, 1)) << d.log();
  EXPECT_TRUE(d.wait_for("upgraded binary runs --config")) << d.log();
  EXPECT_EQ(info(control)["reexecs"], 1);
  EXPECT_EQ(statuses(control)["a"]["pid"], *pid);
}

// After the exec there is no old instance to go back to: a state the new
// program cannot take over ends it, and the guardian takes every app down
// with it (no orphans); the log says why.
TEST_F(Reexec, ARestoreThatFailsAfterTheExecTakesEveryAppDown) {
  const std::string bin = work / "hbmond";
  std::ofstream(work / "apps.json")
      << config_of({app_json("a", "--beats 1000000 --period 0.1 --fork 2", "", work / "a.trace"),
                    app_json("b", "", R"("heartbeat": null)")});
  Daemon d("", from(bin, work / "apps.json"));
  const auto a = d.wait_started("a");
  const auto b = d.wait_started("b");
  ASSERT_TRUE(a && b) << d.log();
  ASSERT_TRUE(d.wait_state("a", "running")) << d.log();
  std::vector<int> fds{pidfd_open(*a), pidfd_open(*b)};
  ASSERT_TRUE(
      wait_until([&] { return trace_of(read_trace(work / "a.trace"), "child").size() == 2; }));
  for (const auto &t : trace_of(read_trace(work / "a.trace"), "child"))
    fds.push_back(pidfd_open(static_cast<pid_t>(t.values[0])));
  // The check passes; the exec finds an empty state where its own was.
  script(bin, "case \"$1\" in --check-handover) exec " + std::string(hbmond_path) +
                  " \"$@\";; esac\nexec 3</dev/null\nexec " + std::string(hbmond_path) +
                  " --config " + work / "apps.json" + " --runtime-dir " + work / "run" +
                  " --handover 3");
  d.signal(SIGUSR2);
  EXPECT_EQ(d.wait_exit(), 1) << d.log();
  EXPECT_NE(d.log().find("re-exec failed: cannot take over the apps"), std::string::npos)
      << d.log();
  for (int fd : fds) {
    EXPECT_TRUE(wait_pidfd(fd, 5s)) << "an app's process outlived a failed restore";
    ::close(fd);
  }
}

// The check passes, then the execve fails (here the file stops being
// executable in between): hbmond goes on as it was, its probes too, and
// the command says why.
TEST_F(Reexec, AnExecThatFailsLeavesHbmondAsItWas) {
  const std::string bin = work / "hbmond";
  std::ofstream(work / "apps.json")
      << config_of({app_json("a", "--beats 1000000 --period 0.1", ""),
                    R"({"name": "probed", "command": ["/bin/sleep", "1000"], "heartbeat": null, )"
                    R"("probe": {"exec": ["/bin/true"], "interval": 0.2, "timeout": 0.2}})"});
  Daemon d("", from(bin, work / "apps.json"));
  const std::string control = "ipc://" + work / "run/control";
  const auto a = d.wait_started("a");
  ASSERT_TRUE(a) << d.log();
  ASSERT_TRUE(d.wait_for("probed: starting -> running")) << d.log();
  script(bin, "chmod a-x \"$0\"; exit 0");
  const Answer refused = ask(control, R"({"v":1,"cmd":"reexec"})");
  EXPECT_EQ(refused.reply.value("error", ""), "reexec-failed") << refused.reply;
  EXPECT_NE(refused.reply.value("message", "").find("Permission denied"), std::string::npos)
      << refused.reply;
  EXPECT_EQ(info(control)["reexecs"], 0);
  EXPECT_EQ(statuses(control)["a"]["pid"], *a);
  // Probes go on: verdicts newer than the failed exec come (the probes in
  // flight were cancelled before it).
  const auto failed = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] {
    d.poll_log();
    const auto p = statuses(control)["probed"]["last_probe"];
    return std::chrono::steady_clock::now() - failed > 500ms && p.is_object() &&
           p["age"].get<double>() < 0.3;
  })) << d.log();
}

// systemd sees the same main process go on: RELOADING=1 before the exec,
// READY=1 once the new program has taken over, and the watchdog pings
// resume at their pace (WATCHDOG_USEC 1 s: a ping every 0.5 s).
TEST_F(Reexec, SystemdSeesReloadingThenReadyAndPingsGoOn) {
  NotifyListener sd(work / "notify.sock");
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "notify.sock", "WATCHDOG_USEC=1000000"};
  Daemon d(config_of({app_json("a", "--beats 1000000 --period 0.1", "")}), o);
  ASSERT_TRUE(sd.wait("READY=1")) << d.log();
  d.signal(SIGUSR2);
  const auto reloading = sd.wait("RELOADING=1");
  ASSERT_TRUE(reloading) << d.log();
  const auto ready = sd.wait("READY=1");
  ASSERT_TRUE(ready) << d.log();
  EXPECT_TRUE(d.wait_for("re-executed (re-exec 1,")) << d.log();
  const auto ping = sd.wait("WATCHDOG=1", 2s);
  ASSERT_TRUE(ping) << d.log();
  EXPECT_LT(secs(ping->second - ready->second), 1.0) << "a gap that would trip systemd's watchdog";
}

// A stop while the new binary is being checked (here it never ends) does
// not wait for the check: it is killed, and hbmond stops at once.
TEST_F(Reexec, AStopDuringTheCheckEndsTheCheckAndHbmondStopsAtOnce) {
  const std::string bin = work / "hbmond";
  std::ofstream(work / "apps.json")
      << config_of({app_json("a", "--beats 1000000 --period 0.1", "")});
  Daemon d("", from(bin, work / "apps.json"));
  ASSERT_TRUE(d.wait_started("a")) << d.log();
  script(bin, "exec sleep 60");
  d.signal(SIGUSR2);
  ASSERT_TRUE(d.wait_for("with this state first")) << d.log();
  const auto asked = Clock::now();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - asked).count(), 5.0)
      << "the stop waited for the check";
  EXPECT_NE(d.log().find("re-exec refused, hbmond goes on: hbmond began to shut down"),
            std::string::npos)
      << d.log();
}
