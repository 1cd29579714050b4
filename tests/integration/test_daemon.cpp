// The real hbmond with real children and real ZeroMQ sockets.
#include "harness.hpp"

#include <gtest/gtest.h>
#include <map>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <zmq.hpp>

using namespace hbtest;

namespace {

class Integration : public ::testing::Test {
protected:
  TempDir work; // traces and marker files
  std::string trace(const std::string &name) { return work / (name + ".trace"); }
  std::string a(const std::string &name, const std::string &args, const std::string &extra) {
    return app_json(name, args, extra, trace(name));
  }
};

} // namespace

TEST_F(Integration, CrashIsRestartedAfterTheDelay) {
  Daemon d(config_of({a("crasher", "--beats 1 --then exit 3",
                        std::string(fast_hb) + R"(, "restart_delay": 0.3)")}));
  ASSERT_TRUE(d.wait_started("crasher")) << d.log();
  EXPECT_TRUE(d.wait_for("exited: exit status 3")) << d.log();
  EXPECT_TRUE(d.wait_for("crasher: restarting in 0.3s")) << d.log();
  ASSERT_TRUE(d.wait_started("crasher", 10s, 2)) << d.log();
  ASSERT_TRUE(d.wait_count("exited: exit status 3", 2)) << d.log();
  // consecutive failures double the delay
  EXPECT_TRUE(d.wait_for("crasher: restarting in 0.6s")) << d.log();
  EXPECT_EQ(app_status("ipc://" + d.dir() / "control", "crasher")["result"], "exit-code");
  auto t = read_trace(trace("crasher"));
  auto starts = trace_of(t, "start"), exits = trace_of(t, "exit");
  ASSERT_GE(starts.size(), 2u);
  ASSERT_GE(exits.size(), 1u);
  double gap = secs(starts[1].values[1] - exits[0].values[1]);
  EXPECT_GE(gap, 0.3) << "restarted before restart_delay";
  EXPECT_LE(gap, 0.3 + 0.5) << "restart took far longer than restart_delay";
}

TEST_F(Integration, HangIsKilledNoEarlierThanDueAndWithin250ms) {
  // No forensics record: its reading (up to 100 ms) comes between the
  // verdict and the kill, and would hide a verdict that came early.
  Daemon d(R"({"forensics": false, )" +
           config_of({a("hanger", "--beats 3 --period 0.1 --then hang", fast_hb)}).substr(1));
  auto pid = d.wait_started("hanger");
  ASSERT_TRUE(pid) << d.log();
  int fd = pidfd_open(*pid);
  ASSERT_GE(fd, 0);
  auto gone = wait_pidfd(fd, 10s);
  ::close(fd);
  ASSERT_TRUE(gone) << "hung app never killed\n" << d.log();
  EXPECT_TRUE(d.wait_for("hanger: killing pid " + std::to_string(*pid) + ": missed 2 heartbeats"))
      << d.log();
  auto t = read_trace(trace("hanger"));
  auto beats = trace_of(t, "beat");
  ASSERT_EQ(beats.size(), 3u);
  // The app traced its last beat before sending it; hbmond got it a little
  // later, so hbmond's due time is no earlier than that beat + 2 x 0.2 s,
  // and the app cannot be gone before hbmond killed it: no slack either way.
  long long due = beats.back().values[0] + 400'000'000LL;
  EXPECT_GE(*gone, due) << "killed " << secs(due - *gone) << " s before the due time";
  double late = secs(*gone - due);
  EXPECT_LE(late, 0.25) << "killed " << late << " s after the due time";
  EXPECT_TRUE(d.wait_for("hanger: restarting in")) << d.log();
  // The typed result names the first failure, not the SIGKILL that ended it.
  auto st = app_status("ipc://" + d.dir() / "control", "hanger");
  EXPECT_EQ(st["result"], "watchdog") << st;
  EXPECT_EQ(st["last_exit"]["signal"], "SIGKILL") << st;
}

TEST_F(Integration, CleanExitUnderOnFailureIsNotRestarted) {
  Daemon d(config_of(
      {a("done", "--beats 1 --then exit 0", std::string(fast_hb) + R"(, "restart_delay": 0.1)")}));
  ASSERT_TRUE(d.wait_started("done")) << d.log();
  EXPECT_TRUE(d.wait_for("exited: exit status 0")) << d.log();
  EXPECT_TRUE(d.wait_for("not restarting (restart: on-failure)")) << d.log();
  EXPECT_TRUE(d.wait_state("done", "exited")) << d.log();
  // Nothing may follow: no second start within ten restart delays.
  EXPECT_FALSE(d.wait_started("done", 1s, 2)) << d.log();
}

TEST_F(Integration, AlwaysRestartsEvenAfterACleanExit) {
  Daemon d(config_of({a("again", "--beats 1 --then exit 0",
                        std::string(fast_hb) + R"(, "restart": "always", "restart_delay": 0.1)")}));
  ASSERT_TRUE(d.wait_started("again")) << d.log();
  EXPECT_TRUE(d.wait_for("exited: exit status 0")) << d.log();
  EXPECT_TRUE(d.wait_started("again", 10s, 2)) << d.log();
}

TEST_F(Integration, NeverDoesNotRestartACrash) {
  Daemon d(config_of({a("once", "--beats 1 --then exit 7",
                        std::string(fast_hb) + R"(, "restart": "never", "restart_delay": 0.1)")}));
  ASSERT_TRUE(d.wait_started("once")) << d.log();
  EXPECT_TRUE(d.wait_for("exited: exit status 7")) << d.log();
  EXPECT_TRUE(d.wait_state("once", "exited")) << d.log();
  EXPECT_FALSE(d.wait_started("once", 1s, 2)) << d.log();
}

TEST_F(Integration, StartLimitEndsInFailed) {
  Daemon d(config_of({a("flappy", "--then exit 1", std::string(fast_hb) + R"(, "restart_delay": 0,
                         "start_limit": {"burst": 3, "interval": 60})")}));
  EXPECT_TRUE(d.wait_for("flappy: start limit hit: 3 starts within 60s")) << d.log();
  EXPECT_TRUE(d.wait_state("flappy", "failed")) << d.log();
  EXPECT_EQ(d.count("flappy: started, pid"), 3u) << d.log();
  EXPECT_EQ(trace_of(read_trace(trace("flappy")), "start").size(), 3u);
}

TEST_F(Integration, ShutdownKillsTermIgnoringAppsAndTheirChildrenAtOnce) {
  const std::string stubborn = std::string(fast_hb) + R"(, "stop_timeout": 1)";
  // mule1 also has a child that left its session and group (setsid): only
  // hbmond's sweep of the processes re-parented to it can find that one.
  Daemon d(config_of({a("mule1", "--ignore-term --grandchild --escape --then beat", stubborn),
                      a("mule2", "--ignore-term --grandchild --then beat", stubborn)}));
  ASSERT_TRUE(d.wait_state("mule1", "running")) << d.log();
  ASSERT_TRUE(d.wait_state("mule2", "running")) << d.log();
  std::vector<pid_t> pids;
  for (auto name : {"mule1", "mule2"}) {
    // The child writes its own trace line, in its own time.
    std::vector<TraceLine> t;
    ASSERT_TRUE(wait_until([&] {
      t = read_trace(trace(name));
      return !trace_of(t, "start").empty() && !trace_of(t, "child").empty();
    })) << name
        << "'s child never traced its start";
    pids.push_back(static_cast<pid_t>(trace_of(t, "start").at(0).values.at(0)));
    pids.push_back(static_cast<pid_t>(trace_of(t, "child").at(0).values.at(0)));
  }
  std::vector<TraceLine> escaped;
  ASSERT_TRUE(wait_until([&] {
    escaped = trace_of(read_trace(trace("mule1")), "escaped");
    return !escaped.empty();
  })) << "mule1's child never left its session";
  const pid_t escapee = static_cast<pid_t>(escaped[0].values.at(0));
  ASSERT_NE(::getsid(escapee), ::getsid(pids[0])) << "the escapee did not leave the session";
  pids.push_back(escapee);
  const int escapee_fd = pidfd_open(escapee);
  ASSERT_GE(escapee_fd, 0);
  auto t0 = Clock::now();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
  double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(took, 1.0) << "SIGKILL came before stop_timeout";
  // Both apps are stopped at once: one stop_timeout, not two.
  EXPECT_LT(took, 1.9) << d.log();
  for (pid_t p : pids)
    EXPECT_TRUE(process_gone(p)) << "pid " << p << " survived the shutdown\n" << d.log();
  EXPECT_GE(d.count("still running 1s after SIGTERM, sending SIGKILL"), 2u) << d.log();
  EXPECT_EQ(d.count("killing stray process " + std::to_string(escapee)), 1u) << d.log();
  kill_pidfd(escapee_fd); // in case it did survive: never leak it
  ::close(escapee_fd);
}

TEST_F(Integration, AChildLeftInTheGroupDiesWithItsApp) {
  // The app forks a child into its own process group and exits: hbmond
  // SIGKILLs the rest of the group as it reaps the app, not at shutdown.
  Daemon d(config_of(
      {a("parent", "--fork 1 --then exit 3", std::string(fast_hb) + R"(, "restart": "never")")}));
  ASSERT_TRUE(d.wait_for("parent: pid")) << d.log();
  auto children = trace_of(read_trace(trace("parent")), "child");
  ASSERT_EQ(children.size(), 1u);
  const pid_t child = static_cast<pid_t>(children[0].values.at(0));
  int fd = pidfd_open(child);
  if (fd >= 0) { // else already killed and reaped
    if (!wait_pidfd(fd, 5s)) {
      ADD_FAILURE() << "the app's child outlived it\n" << d.log();
      kill_pidfd(fd);
    }
    ::close(fd);
  }
  EXPECT_TRUE(d.wait_state("parent", "exited")) << d.log();
}

TEST_F(Integration, ExecFailureIsAFailedStartNotACrash) {
  std::string noexec = work / "not-executable";
  std::ofstream(noexec) << "#!/bin/sh\n";
  Daemon d(config_of(
      {R"({"name": "ghost", "command": ["/nonexistent/program"], "restart_delay": 0.1,
           "start_limit": {"burst": 2, "interval": 60}})",
       R"({"name": "noexec", "command": [")" + noexec + R"("], "restart_delay": 0.1,
           "start_limit": {"burst": 2, "interval": 60}})",
       R"({"name": "nowhere", "command": ["no-such-command-anywhere"], "restart_delay": 0.1,
           "start_limit": {"burst": 2, "interval": 60}})",
       R"({"name": "unbound", "command": ["/bin/sleep", "100"], "restart_delay": 0.1,
           "heartbeat": {"endpoint": "ipc:///nonexistent-dir/x.hb"},
           "start_limit": {"burst": 2, "interval": 60}})"}));
  EXPECT_TRUE(d.wait_for("ghost: failed to start: exec /nonexistent/program: No such file or "
                         "directory"))
      << d.log();
  EXPECT_TRUE(d.wait_for("noexec: failed to start: exec " + noexec + ": Permission denied"))
      << d.log();
  EXPECT_TRUE(d.wait_for("nowhere: failed to start: exec no-such-command-anywhere: command not "
                         "found in PATH"))
      << d.log();
  // Without its heartbeat socket an app cannot be supervised: a failed start.
  EXPECT_TRUE(d.wait_for("unbound: failed to start: bind ipc:///nonexistent-dir/x.hb: No such "
                         "file or directory"))
      << d.log();
  EXPECT_EQ(d.count("unbound: started"), 0u) << d.log();
  // They count toward the start limit like any failed start.
  EXPECT_TRUE(d.wait_for("ghost: start limit hit")) << d.log();
  EXPECT_TRUE(d.wait_state("ghost", "failed")) << d.log();
  EXPECT_TRUE(d.wait_state("unbound", "failed")) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

TEST_F(Integration, HeartbeatsFromAForeignProcessAreRefused) {
  const std::string ep = "ipc://" + work / "victim.hb";
  Daemon d(config_of({a(
      "victim", "--then hang",
      R"("heartbeat": {"interval": 0.2, "misses": 2, "grace": 0.4, "endpoint": ")" + ep + "\"}")}));
  auto pid = d.wait_started("victim");
  ASSERT_TRUE(pid) << d.log();
  int fd = pidfd_open(*pid);
  ASSERT_GE(fd, 0);
  // This test process is not the app nor its descendant: its beats must not
  // keep the hung app alive.
  zmq::context_t ctx;
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(ep);
  std::optional<long long> gone;
  std::int64_t sent = 0;
  auto end = Clock::now() + 5s;
  while (!gone && Clock::now() < end) {
    sent += push.send(zmq::str_buffer("WATCHDOG=1"), zmq::send_flags::dontwait).has_value();
    gone = wait_pidfd(fd, 50ms); // the beat period of the spoofer
  }
  ::close(fd);
  EXPECT_TRUE(gone) << "spoofed heartbeats kept the app alive\n" << d.log();
  EXPECT_TRUE(d.wait_for("victim: refused a heartbeat from pid " + std::to_string(::getpid())))
      << d.log();
  EXPECT_TRUE(d.wait_for("victim: killing pid " + std::to_string(*pid) + ": missed 2 heartbeats"))
      << d.log();
  // Every refusal is counted; one is logged (at most one line per 10 s).
  // The stop's log line is a fence: lines logged before it are read.
  const std::string control = "ipc://" + d.dir() / "control";
  ASSERT_EQ(ask(control, R"({"v":1,"cmd":"stop","app":"victim"})").reply["ok"], true);
  ASSERT_TRUE(d.wait_for("victim: stop requested by")) << d.log();
  auto st = app_status(control, "victim");
  ASSERT_TRUE(st.is_object()) << d.log();
  const auto refused = st["heartbeats_refused"].get<std::int64_t>();
  EXPECT_GE(refused, 5) << "sent " << sent;
  EXPECT_LE(refused, sent);
  EXPECT_EQ(st["heartbeats"], 0) << st;
  EXPECT_EQ(d.count("refused a heartbeat"), 1u) << d.log();
}

TEST_F(Integration, AppsGetTheirOwnEnvironmentNotTheDaemons) {
  // hbmond's own service environment (systemd's, or an outer hbmond's)
  // must not reach its apps: they would ping the wrong watchdog.
  const std::string ep = "ipc://" + work / "env.hb";
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "no-such-socket",
           "WATCHDOG_USEC=60000000",
           "WATCHDOG_PID=1",
           "LISTEN_FDS=3",
           "LISTEN_PID=1",
           "LISTEN_FDNAMES=x",
           "JOURNAL_STREAM=8:9",
           "HBMON_ENDPOINT=ipc:///wrong",
           "HBMON_INTERVAL_USEC=1",
           "HBMON_APP=wrong",
           "HBMON_EXTRA=leak",
           "HBTEST_PASSED_ON=yes"};
  Daemon d(config_of({R"({"name": "env", "command": ["/usr/bin/env"], "restart": "never",
                          "heartbeat": {"interval": 0.25, "endpoint": ")" +
                      ep + R"("}})"}),
           o);
  // Its output comes before the news of its exit.
  ASSERT_TRUE(d.wait_for("env: pid")) << d.log();
  std::map<std::string, std::string> env;
  const std::string tag = "[env] ";
  for (const auto &l : d.lines())
    if (auto at = l.find(tag); at != std::string::npos) {
      auto kv = l.substr(at + tag.size());
      env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
  EXPECT_EQ(env["HBMON_ENDPOINT"], ep) << d.log();
  EXPECT_EQ(env["HBMON_INTERVAL_USEC"], "250000");
  EXPECT_EQ(env["HBMON_INTERVAL"], "0.25");
  EXPECT_EQ(env["HBMON_APP"], "env");
  EXPECT_EQ(env["HBTEST_PASSED_ON"], "yes") << "the rest of the environment is passed on";
  for (auto key : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                   "LISTEN_FDNAMES", "JOURNAL_STREAM", "HBMON_EXTRA"})
    EXPECT_EQ(env.count(key), 0u) << key << " reached the app\n" << d.log();
}

TEST_F(Integration, ASecondDaemonOnTheSameRuntimeDirExitsNamingTheFirst) {
  Daemon first(config_of({a("web", "--then beat", fast_hb)}));
  ASSERT_TRUE(first.wait_state("web", "running")) << first.log();
  Daemon::Options o;
  o.args = {"--config",         first.config_path(), "--runtime-dir",
            first.dir().path(), "--log-level",       "debug"};
  Daemon second("", o);
  EXPECT_EQ(second.wait_exit(10s), 1) << second.log();
  EXPECT_TRUE(second.wait_for("pid " + std::to_string(first.pid()) + " (hbmond) is serving it", 1s))
      << second.log();
  EXPECT_EQ(second.count("web: started, pid"), 0u) << second.log();
  // The first is untouched: its control socket answers, and its app's
  // heartbeats still reach it.
  const std::string control = "ipc://" + first.dir() / "control";
  auto before = app_status(control, "web");
  ASSERT_TRUE(before.is_object()) << "the first hbmond lost its control socket";
  EXPECT_EQ(before["state"], "running");
  EXPECT_TRUE(wait_until([&] {
    auto now = app_status(control, "web");
    return now.is_object() && now["heartbeats"] > before["heartbeats"];
  })) << first.log();
  EXPECT_EQ(first.count("web: started, pid"), 1u) << first.log();
}

TEST_F(Integration, SocketFileBelongsToTheAppUserOnly) {
  const std::string path = work / "private.hb";
  Daemon d(config_of({a("private", "--then beat",
                        R"("user": "nobody", "heartbeat": {"interval": 0.2, "endpoint": "ipc://)" +
                            path + "\"}")}));
  ASSERT_TRUE(d.wait_started("private")) << d.log();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  struct passwd *pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
}

TEST_F(Integration, AppOutputIsTaggedSplitAndSanitized) {
  Daemon d(config_of({a("talker",
                        "--say hello-from-stdout --warn oops-on-stderr --junk --long 9000 "
                        "--then beat",
                        fast_hb)}));
  EXPECT_TRUE(d.wait_for("[talker] hello-from-stdout")) << d.log();
  EXPECT_TRUE(d.wait_for("[talker] oops-on-stderr")) << d.log();
  auto junk = d.wait_for("[talker] bin");
  ASSERT_TRUE(junk) << d.log();
  EXPECT_NE(junk->find("bin\\x01\\x02\\xff\\xfe\\x1b[31m\\x00tail"), std::string::npos) << *junk;
  // 9000 bytes: 4096 + 4096 + 808
  const std::size_t pieces[] = {4096, 4096, 808};
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string tag = "[talker] x";
    auto l = d.wait_line(
        [&](const std::string &s) {
          auto p = s.find(tag);
          return p != std::string::npos &&
                 s.find_first_not_of('x', p + tag.size() - 1) == std::string::npos;
        },
        10s, i + 1);
    ASSERT_TRUE(l) << d.log();
    EXPECT_EQ(l->size() - (l->find(tag) + tag.size() - 1), pieces[i]);
  }
}

// hbmond holds several fds per app; a child gets none of them, only its
// stdio (spawn unshares just the low fds: see sys/spawn.cpp).
TEST_F(Integration, AChildInheritsOnlyItsStdio) {
  std::string apps;
  for (int i = 0; i < 30; ++i)
    apps += a("busy" + std::to_string(i), "--then beat", fast_hb) + ", ";
  apps += R"j({"name": "fds", "restart": "never", "heartbeat": null, "command": ["/bin/sh", "-c",)j"
          R"j( "cd /proc/self/fd && echo open: * && echo stdin: $(readlink 0)"]})j";
  Daemon d("{\"apps\": [" + apps + "]}");
  EXPECT_TRUE(d.wait_for("[fds] open: 0 1 2")) << d.log();
  EXPECT_TRUE(d.wait_for("[fds] stdin: /dev/null")) << d.log();
  EXPECT_EQ(d.count("[fds] open:"), 1u) << d.log();
}

TEST_F(Integration, ALastLineWithoutNewlineEndsWithItsRun) {
  Daemon d(config_of({a("part", "--partial last-words --then exit 1",
                        std::string(fast_hb) + R"(, "restart_delay": 0.1)")}));
  ASSERT_TRUE(d.wait_count("part: pid", 2)) << d.log();
  // Each run's unfinished line is logged on its own, before its exit.
  EXPECT_TRUE(d.wait_count("[part] last-words", 2)) << d.log();
  EXPECT_EQ(d.count("last-wordslast-words"), 0u) << d.log();
  auto first = d.wait_for("[part] last-words");
  auto exit_line = d.wait_for("part: pid");
  ASSERT_TRUE(first && exit_line);
  std::size_t i_words = 0, i_exit = 0;
  for (std::size_t i = 0; i < d.lines().size(); ++i) {
    if (!i_words && d.lines()[i] == *first)
      i_words = i + 1;
    if (!i_exit && d.lines()[i] == *exit_line)
      i_exit = i + 1;
  }
  EXPECT_LT(i_words, i_exit) << d.log();
}

TEST_F(Integration, WatchdogTriggerIsTheAppsOwnPanicButton) {
  Daemon d(config_of({a("selfkill", "--beats 1 --then trigger",
                        std::string(fast_hb) + R"(, "restart_delay": 0.1)")}));
  auto pid = d.wait_started("selfkill");
  ASSERT_TRUE(pid) << d.log();
  EXPECT_TRUE(d.wait_for("selfkill: killing pid " + std::to_string(*pid) +
                         ": app requested it (WATCHDOG=trigger)"))
      << d.log();
  EXPECT_TRUE(d.wait_started("selfkill", 10s, 2)) << d.log();
}

TEST_F(Integration, ReadyAndStatusMoveTheAppToRunning) {
  Daemon d(config_of({a("polite", "--ready --status warming-up --then hang",
                        R"("heartbeat": {"interval": 5, "grace": 10})")}));
  ASSERT_TRUE(d.wait_started("polite")) << d.log();
  EXPECT_TRUE(d.wait_for("polite: starting -> running: ready")) << d.log();
  // READY=1 and STATUS= came in one message: status shows the text.
  auto st = app_status("ipc://" + d.dir() / "control", "polite");
  ASSERT_TRUE(st.is_object()) << d.log();
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["status"], "warming-up");
  EXPECT_EQ(st["heartbeats"], 1);
}

TEST_F(Integration, NotifySocketSeesReadyStatusWatchdogAndStopping) {
  NotifyListener sd(work / "notify.sock");
  Daemon::Options o;
  o.env = {"NOTIFY_SOCKET=" + work / "notify.sock", "WATCHDOG_USEC=1000000"};
  Daemon d(config_of({a("one", "--then beat", fast_hb), a("two", "--then beat", fast_hb)}), o);
  auto ready = sd.wait("READY=1");
  ASSERT_TRUE(ready) << d.log();
  // READY comes after every app was spawned: hbmond logged both starts
  // before it sent READY, so both lines are in the pipe already.
  d.poll_log();
  EXPECT_EQ(d.count("one: started, pid"), 1u) << d.log();
  EXPECT_EQ(d.count("two: started, pid"), 1u) << d.log();
  bool status_before_ready = false;
  for (auto &[m, t] : sd.seen)
    status_before_ready |= m.rfind("STATUS=2 apps", 0) == 0;
  EXPECT_TRUE(status_before_ready);
  EXPECT_TRUE(sd.wait("STATUS=2 apps: 2 running")) << d.log();
  // WATCHDOG=1 every WATCHDOG_USEC/2 = 0.5 s: collect pings over ~2.2 s.
  std::vector<long long> pings;
  auto end = Clock::now() + 2200ms;
  while (Clock::now() < end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    auto m = sd.next(left);
    if (!m)
      break;
    if (m->first == "WATCHDOG=1")
      pings.push_back(m->second);
  }
  ASSERT_GE(pings.size(), 3u);
  EXPECT_LE(pings.size(), 6u) << "pinging far more often than WATCHDOG_USEC/2";
  for (std::size_t i = 1; i < pings.size(); ++i) {
    double gap = secs(pings[i] - pings[i - 1]);
    EXPECT_GT(gap, 0.3);
    EXPECT_LT(gap, 1.0) << "a gap this long would trip systemd's watchdog";
  }
  // A reload is bracketed by RELOADING=1 (with MONOTONIC_USEC) and READY=1.
  d.signal(SIGHUP);
  auto reloading = sd.wait("RELOADING=1");
  ASSERT_TRUE(reloading) << d.log();
  EXPECT_NE(reloading->first.find("\nMONOTONIC_USEC="), std::string::npos) << reloading->first;
  EXPECT_TRUE(sd.wait("READY=1")) << d.log();
  d.signal(SIGTERM);
  EXPECT_TRUE(sd.wait("STOPPING=1")) << d.log();
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

namespace {
// hbmond --exec [hbmond flags] --endpoint <in work> -- hbtest_app <app flags>
Daemon::Options exec_mode(const TempDir &work, std::vector<std::string> flags,
                          const std::string &app_args) {
  Daemon::Options o;
  o.args = {"--exec"};
  o.args.insert(o.args.end(), flags.begin(), flags.end());
  o.args.insert(o.args.end(), {"--endpoint", "ipc://" + work / "exec.hb", "--", app_path});
  std::istringstream in(app_args);
  for (std::string w; in >> w;)
    o.args.push_back(w);
  return o;
}
} // namespace

TEST_F(Integration, ExecModeExitsZeroWhenTheCommandDoes) {
  Daemon d("", exec_mode(work, {"--interval", "0.2", "--misses", "2"}, "--beats 2 --then exit 0"));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_EQ(d.count("started, pid"), 1u) << d.log();
}

TEST_F(Integration, ExecModeRestartsACrashThenExitsZero) {
  Daemon d("", exec_mode(work, {}, "--once " + work / "crashed-once" + " --then exit 3"));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_EQ(d.count("exited: exit status 3"), 1u) << d.log();
  EXPECT_EQ(d.count("started, pid"), 2u) << d.log();
}

TEST_F(Integration, ExecModeKillsAHangThenExitsZero) {
  Daemon d("", exec_mode(work, {"--interval", "0.2", "--misses", "2"},
                         "--once " + work / "hung-once" + " --beats 1 --then hang"));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_EQ(d.count("missed 2 heartbeats"), 1u) << d.log();
  EXPECT_EQ(d.count("started, pid"), 2u) << d.log();
}

TEST_F(Integration, InvalidConfigAtStartExitsNonZeroNamingThePlace) {
  Daemon d(R"({"apps": [{"name": "x", "command": ["/bin/true"], "heartbeat": {"intervall": 1}}]})");
  EXPECT_EQ(d.wait_exit(), 1);
  auto line = d.wait_for("apps[0].heartbeat.intervall");
  ASSERT_TRUE(line) << d.log();
  EXPECT_NE(line->find(d.config_path()), std::string::npos) << *line;
  EXPECT_NE(line->find("did you mean \"interval\""), std::string::npos) << *line;
}
