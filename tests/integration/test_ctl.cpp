// hbmonctl against a real daemon: the verbs, exit statuses, authorization,
// reload, hostile clients and the events stream.
#include "ctl.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <zmq.hpp>

using namespace hbtest;

TEST_F(Ctl, StatusTableAndJsonCarryEveryField) {
  auto d = start(config_of({app("web", "--ready --status serving --then beat --period 0.1"),
                            app("idle", "--then beat", R"("enabled": false)")}));
  ASSERT_TRUE(d->wait_state("web", "running")) << d->log();
  auto r = ctl({"status"});
  ASSERT_EQ(r.status, 0) << describe(r);
  for (auto want : {"NAME", "STATE", "PID", "UPTIME", "RESTARTS", "HEARTBEAT", "LAST-EXIT",
                    "STATUS", "web", "running", "serving", "idle", "stopped"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  EXPECT_NE(r.out.find("2 apps: 1 running, 1 stopped"), std::string::npos) << r.out;

  auto j = status_json();
  ASSERT_TRUE(j.is_object()) << j;
  ASSERT_EQ(j["apps"].size(), 2u);
  for (const auto &a : j["apps"])
    for (auto key : {"name", "state", "pid", "uptime", "restarts", "last_heartbeat_age",
                     "last_exit", "status", "reason", "heartbeats", "heartbeats_refused", "misses"})
      EXPECT_TRUE(a.contains(key)) << key << " missing in " << a;
  auto web = j["apps"][1]["name"] == "web" ? j["apps"][1] : j["apps"][0];
  EXPECT_EQ(web["state"], "running");
  EXPECT_EQ(web["status"], "serving");
  EXPECT_GT(web["heartbeats"].get<int>(), 0);
  EXPECT_TRUE(web["pid"].is_number());

  // A filter, and an unknown name in it.
  r = ctl({"--json", "status", "web"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out)["apps"].size(), 1u);
  r = ctl({"status", "nosuch"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
}

// What an app written for systemd's watchdog says of itself besides STATUS=
// (RELOADING=1, ERRNO=) is in the JSON and in front of the STATUS column.
TEST_F(Ctl, StatusShowsWhatANotifyAppSaysOfItself) {
  const std::string say =
      "from systemd import daemon; import time; daemon.notify("
      "'READY=1\\\\nWATCHDOG=1\\\\nRELOADING=1\\\\nERRNO=5\\\\nSTATUS=rereading "
      "its files'); time.sleep(120)";
  auto d = start(config_of({R"({"name": "sd", "command": ["/usr/bin/python3", "-c", ")" + say +
                            R"("], "heartbeat": {"protocol": "notify", "interval": 60}})"}));
  ASSERT_TRUE(d->wait_state("sd", "running")) << d->log();
  auto r = ctl({"--json", "status", "sd"});
  ASSERT_EQ(r.status, 0) << describe(r);
  const json app = json::parse(r.out)["apps"][0];
  EXPECT_EQ(app["reloading"], true) << app;
  EXPECT_EQ(app["errno"], 5) << app;
  EXPECT_EQ(app["status"], "rereading its files") << app;
  EXPECT_EQ(app["fds_closed"], 0) << app;
  r = ctl({"status", "sd"});
  EXPECT_NE(r.out.find("[reloading, errno 5] rereading its files"), std::string::npos) << r.out;
}

TEST_F(Ctl, PanicKillsRestartsAndLogsWhoAndWhy) {
  auto d = start(config_of({app("web", "--then beat --period 0.1",
                                R"("heartbeat": {"interval": 0.3}, "restart_delay": 0.1)")}));
  auto pid = d->wait_started("web");
  ASSERT_TRUE(pid) << d->log();
  auto r = ctl({"panic", "web", "--reason", "stuck on a lock"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_for("web: panic button pressed: stuck on a lock (pressed by uid 0, pid"))
      << d->log();
  EXPECT_TRUE(d->wait_for("web: killing pid " + std::to_string(*pid) + ": panic: stuck on a lock"))
      << d->log();
  auto next = d->wait_started("web", 10s, 2);
  ASSERT_TRUE(next) << d->log();
  EXPECT_NE(*next, *pid);
  EXPECT_TRUE(process_gone(*pid));
}

TEST_F(Ctl, StopStaysDownStartComesBackRestartReplacesThePid) {
  auto d = start(config_of({app("web", "--then beat --period 0.1")}));
  auto pid = d->wait_started("web");
  ASSERT_TRUE(pid) << d->log();
  auto r = ctl({"stop", "web"});
  ASSERT_EQ(r.status, 0) << describe(r);
  ASSERT_TRUE(d->wait_state("web", "stopped")) << d->log();
  EXPECT_FALSE(d->wait_started("web", 1s, 2)) << "a stopped app came back\n" << d->log();
  r = ctl({"start", "web"});
  ASSERT_EQ(r.status, 0) << describe(r);
  auto second = d->wait_started("web", 10s, 2);
  ASSERT_TRUE(second) << d->log();
  r = ctl({"restart", "web"});
  ASSERT_EQ(r.status, 0) << describe(r);
  auto third = d->wait_started("web", 10s, 3);
  ASSERT_TRUE(third) << d->log();
  EXPECT_NE(*third, *second);
}

TEST_F(Ctl, ExitStatusesForUnknownAppUsageAndNoDaemon) {
  auto d = start(config_of({app("web", "--then beat --period 0.1")}));
  auto r = ctl({"panic", "nosuch"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one clear line\n" << r.err;

  EXPECT_EQ(ctl({"frobnicate"}).status, 2);
  EXPECT_EQ(ctl({"panic"}).status, 2);
  EXPECT_EQ(ctl({"status", "--bogus-flag"}).status, 2);
  EXPECT_EQ(run({hbmonctl_path, "--timeout", "zero", "status"}).status, 2);

  // No socket file at all: at once.
  r = run({hbmonctl_path, "--control", "ipc://" + work / "nothing-here", "status"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_LT(r.seconds, 2.0);
  // A socket file nobody serves: within the timeout.
  const std::string stale = work / "stale";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, stale.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
  ::close(fd);
  r = run({hbmonctl_path, "--control", "ipc://" + stale, "--timeout", "1", "status"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_LT(r.seconds, 2.0);
  // A daemon that accepts but never answers: within the timeout.
  zmq::context_t zctx;
  zmq::socket_t mute(zctx, zmq::socket_type::router);
  mute.set(zmq::sockopt::linger, 0);
  mute.bind("ipc://" + work / "mute");
  r = run({hbmonctl_path, "--control", "ipc://" + work / "mute", "--timeout", "1", "status"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_GE(r.seconds, 0.9);
  EXPECT_LT(r.seconds, 3.0);
}

TEST_F(Ctl, UnprivilegedUserMayLookButNotTouch) {
  auto d = start(config_of({app("web", "--then beat --period 0.1")}));
  // nobody must reach the socket: open up the temp dir (the socket is 0666).
  ASSERT_EQ(::chmod(d->dir().path().c_str(), 0755), 0);
  auto pid = d->wait_started("web");
  ASSERT_TRUE(pid) << d->log();
  auto r = ctl_as("nobody", {"status"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("web"), std::string::npos);
  for (std::vector<std::string> verb : std::vector<std::vector<std::string>>{{"panic", "web"},
                                                                             {"stop", "web"},
                                                                             {"start", "web"},
                                                                             {"restart", "web"},
                                                                             {"reload"},
                                                                             {"reexec"}}) {
    r = ctl_as("nobody", verb);
    EXPECT_EQ(r.status, 1) << verb[0] << "\n" << describe(r);
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  }
  struct passwd *pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  EXPECT_TRUE(d->wait_for("refused panic web from uid " + std::to_string(pw->pw_uid))) << d->log();
  EXPECT_EQ(d->count("refused "), 6u) << d->log();
  EXPECT_EQ(d->count("re-exec"), 0u) << d->log();
  // Nothing changed: same process, never restarted.
  EXPECT_EQ(pid_of("web"), *pid);
  EXPECT_EQ(d->count("web: started, pid"), 1u) << d->log();
}

TEST_F(Ctl, AMemberOfGroupHbmondMayActANonMemberMayNot) {
  Account member("hbtest-admin", "hbmond");
  auto d = start(config_of({app("web", "--then beat --period 0.1",
                                R"("heartbeat": {"interval": 0.3}, "restart_delay": 0.1)")}));
  ASSERT_EQ(::chmod(d->dir().path().c_str(), 0755), 0); // others reach the 0666 socket
  ASSERT_TRUE(d->wait_started("web")) << d->log();
  auto r = ctl_as(member.name(), {"panic", "web", "--reason", "member"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_started("web", 10s, 2)) << d->log();
  r = ctl_as(member.name(), {"stop", "web"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_state("web", "stopped")) << d->log();
  r = ctl_as(member.name(), {"start", "web"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_started("web", 10s, 3)) << d->log();
  r = ctl_as(member.name(), {"reload"});
  EXPECT_EQ(r.status, 0) << describe(r);
  r = ctl_as("nobody", {"panic", "web"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
}

TEST_F(Ctl, ANonRootDaemonTrustsItsOwnUser) {
  Account owner("hbtest-owner");
  Daemon::Options o;
  o.user = owner.name();
  auto d = start(config_of({app("web", "--then beat --period 0.1",
                                R"("heartbeat": {"interval": 0.3}, "restart_delay": 0.1)")}),
                 o);
  ASSERT_EQ(::chmod(d->dir().path().c_str(), 0755), 0);
  ASSERT_TRUE(d->wait_started("web")) << d->log();
  auto r = ctl_as(owner.name(), {"panic", "web", "--reason", "owner"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_started("web", 10s, 2)) << d->log();
  r = ctl_as("nobody", {"stop", "web"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  r = ctl({"restart", "web"}); // root, always
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_started("web", 10s, 3)) << d->log();
}

TEST_F(Ctl, AnAdminStoppedAppStaysStoppedAcrossReloads) {
  auto d = start(
      config_of({app("web", "--then beat --period 0.1"), app("idle", "--then beat --period 0.1")}));
  ASSERT_TRUE(d->wait_state("idle", "running")) << d->log();
  auto r = ctl({"stop", "idle"});
  ASSERT_EQ(r.status, 0) << describe(r);
  ASSERT_TRUE(d->wait_state("idle", "stopped")) << d->log();
  // Unchanged by the first reload, changed by the second: stopped after both.
  r = ctl({"reload"});
  ASSERT_EQ(r.status, 0) << describe(r);
  std::ofstream(d->config_path()) << config_of(
      {app("web", "--then beat --period 0.1"),
       app("idle", "--then beat --period 0.1", R"("heartbeat": {"interval": 0.5})")});
  r = ctl({"--json", "reload"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out, nullptr, false)["changed"], json({"idle"})) << r.out;
  // A start would follow this line in the same turn of hbmond's loop, so
  // before the status request below is read.
  ASSERT_TRUE(d->wait_for("idle: new settings applied")) << d->log();
  auto st = app_status(control_, "idle");
  EXPECT_EQ(st["state"], "stopped") << st;
  d->poll_log();
  EXPECT_EQ(d->count("idle: started, pid"), 1u) << d->log();
  // An admin start brings it back, with its new settings.
  r = ctl({"start", "idle"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(d->wait_started("idle", 10s, 2)) << d->log();
}

TEST_F(Ctl, AChangedAppThatHadExitedOrFailedStartsAgain) {
  const std::string hb = R"("heartbeat": {"interval": 0.3}, "restart_delay": 0)";
  auto d = start(config_of(
      {app("done", "--then exit 0", hb),
       app("flappy", "--then exit 1", hb + R"(, "start_limit": {"burst": 2, "interval": 60})")}));
  ASSERT_TRUE(d->wait_state("done", "exited")) << d->log();
  ASSERT_TRUE(d->wait_state("flappy", "failed")) << d->log();
  std::ofstream(d->config_path()) << config_of(
      {app("done", "--then exit 0", hb + R"(, "stop_timeout": 2)"),
       app("flappy", "--then exit 1",
           hb + R"(, "start_limit": {"burst": 2, "interval": 60}, "stop_timeout": 2)")});
  auto r = ctl({"--json", "reload"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out, nullptr, false)["changed"], json({"done", "flappy"})) << r.out;
  EXPECT_TRUE(d->wait_started("done", 10s, 2)) << d->log();
  EXPECT_TRUE(d->wait_started("flappy", 10s, 3)) << d->log();
}

TEST_F(Ctl, ReloadAppliesExactlyTheDifference) {
  auto d = start(
      config_of({app("keep", "--then beat --period 0.1"), app("change", "--then beat --period 0.1"),
                 app("drop", "--then beat --period 0.1")}));
  ASSERT_TRUE(d->wait_state("keep", "running")) << d->log();
  ASSERT_TRUE(d->wait_state("change", "running")) << d->log();
  ASSERT_TRUE(d->wait_state("drop", "running")) << d->log();
  auto keep = pid_of("keep"), change = pid_of("change"), drop = pid_of("drop");
  ASSERT_TRUE(keep && change && drop);

  // An invalid file: refused with the place, nothing touched.
  std::ofstream(d->config_path()) << R"({"apps": [{"name": "keep", "command": []}]})";
  auto r = ctl({"reload"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("apps[0].command"), std::string::npos) << r.err;
  EXPECT_TRUE(d->wait_for("reload failed, the running config is kept")) << d->log();
  EXPECT_EQ(pid_of("keep"), keep);
  EXPECT_EQ(pid_of("change"), change);
  EXPECT_EQ(pid_of("drop"), drop);

  // A valid one: add, remove, change.
  std::ofstream(d->config_path()) << config_of(
      {app("keep", "--then beat --period 0.1"),
       app("change", "--then beat --period 0.1", R"("heartbeat": {"interval": 0.5})"),
       app("fresh", "--then beat --period 0.1")});
  r = ctl({"--json", "reload"});
  ASSERT_EQ(r.status, 0) << describe(r);
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["added"], json({"fresh"})) << r.out;
  EXPECT_EQ(j["removed"], json({"drop"})) << r.out;
  EXPECT_EQ(j["changed"], json({"change"})) << r.out;
  EXPECT_EQ(j["unchanged"], json({"keep"})) << r.out;
  ASSERT_TRUE(d->wait_started("fresh")) << d->log();
  ASSERT_TRUE(d->wait_started("change", 10s, 2)) << d->log();
  ASSERT_TRUE(d->wait_for("drop: removed")) << d->log();
  EXPECT_EQ(pid_of("keep"), keep) << "an unchanged app was touched";
  EXPECT_NE(pid_of("change"), change);
  EXPECT_TRUE(process_gone(*drop));
  EXPECT_TRUE(process_gone(*change));
  j = status_json();
  EXPECT_EQ(j["apps"].size(), 3u) << j;

  // SIGHUP does the same: now "fresh" goes.
  std::ofstream(d->config_path()) << config_of(
      {app("keep", "--then beat --period 0.1"),
       app("change", "--then beat --period 0.1", R"("heartbeat": {"interval": 0.5})")});
  d->signal(SIGHUP);
  EXPECT_TRUE(d->wait_for("reloaded: added -; removed fresh; changed -; unchanged change, keep"))
      << d->log();
  EXPECT_TRUE(d->wait_for("fresh: removed")) << d->log();
  EXPECT_EQ(pid_of("keep"), keep);
}

TEST_F(Ctl, HostileClientsDoNotStopTheDaemon) {
  auto d = start(config_of({app("web", "--then beat --period 0.1"),
                            app("hang", "--beats 2 --period 0.1 --then hang",
                                R"("heartbeat": {"interval": 0.3}, "restart_delay": 0.2)")}));
  ASSERT_TRUE(d->wait_state("web", "running")) << d->log();
  zmq::context_t zctx;
  // Garbage: multi-part junk, binary, a 1 MiB request.
  zmq::socket_t junk(zctx, zmq::socket_type::dealer);
  junk.set(zmq::sockopt::linger, 0);
  junk.connect(control_);
  for (int i = 0; i < 100; ++i) {
    junk.send(zmq::str_buffer("\x00\xff\x01"), zmq::send_flags::sndmore);
    junk.send(zmq::str_buffer("{"), zmq::send_flags::sndmore);
    junk.send(zmq::str_buffer("garbage"), zmq::send_flags::none);
  }
  std::string mib(1 << 20, '{');
  junk.send(zmq::buffer(mib), zmq::send_flags::none);
  // 1,000 requests from clients that never read their replies.
  std::vector<zmq::socket_t> deaf;
  for (int i = 0; i < 10; ++i) {
    deaf.emplace_back(zctx, zmq::socket_type::dealer);
    deaf.back().set(zmq::sockopt::linger, 0);
    deaf.back().connect(control_);
    for (int k = 0; k < 100; ++k)
      deaf.back().send(zmq::str_buffer(R"({"v":1,"cmd":"status"})"), zmq::send_flags::dontwait);
  }
  // Others are still served, promptly...
  expect_status_fast(control_);
  auto r = ctl({"status"});
  EXPECT_EQ(r.status, 0) << describe(r);
  // ...and supervision goes on: the hung app is still killed and restarted.
  EXPECT_TRUE(d->wait_for("hang: killing pid")) << d->log();
  EXPECT_TRUE(d->wait_started("hang", 10s, 2)) << d->log();
  // The junk got error replies: the envelope back, then the reply.
  zmq::message_t part;
  junk.set(zmq::sockopt::rcvtimeo, 2000);
  ASSERT_TRUE(junk.recv(part));
  while (part.more())
    ASSERT_TRUE(junk.recv(part));
  EXPECT_NE(part.to_string().find("\"ok\":false"), std::string::npos) << part.to_string();
}

TEST_F(Ctl, WatchStreamsEventsAndEndsCleanlyOnCtrlC) {
  auto d = start(config_of({app("flap", "--beats 1 --then exit 3",
                                R"("heartbeat": {"interval": 0.3}, "restart_delay": 0.2,
                                   "start_limit": {"burst": 1000, "interval": 60})")}));
  for (bool as_json : {false, true}) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<std::string> argv = {hbmonctl_path, "--control", control_};
    if (as_json)
      argv.push_back("--json");
    argv.push_back("watch");
    std::vector<char *> args;
    for (auto &a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    // The app flaps every ~0.3 s, so events keep coming once subscribed:
    // read until a start and at least three whole events have arrived.
    std::string text;
    auto end = Clock::now() + 10s;
    const std::string want = as_json ? "\"event\":\"started\"" : "flap: started, pid";
    while (
        (text.find(want) == std::string::npos || std::count(text.begin(), text.end(), '\n') < 3) &&
        Clock::now() < end) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 500) > 0) {
        char buf[4096];
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0)
          break;
        text.append(buf, static_cast<std::size_t>(n));
      }
    }
    EXPECT_NE(text.find(want), std::string::npos) << text;
    if (as_json) {
      // Numbered one by one, with both clocks.
      std::istringstream lines(text.substr(0, text.rfind('\n') + 1)); // whole lines
      std::string line;
      std::int64_t last_seq = 0;
      double last_mono = 0;
      int events = 0;
      while (std::getline(lines, line)) {
        if (line.empty())
          continue;
        auto ev = json::parse(line, nullptr, false);
        ASSERT_TRUE(ev.contains("event")) << line;
        ASSERT_TRUE(ev["seq"].is_number_integer() && ev["monotonic"].is_number()) << line;
        if (last_seq) {
          EXPECT_EQ(ev["seq"].get<std::int64_t>(), last_seq + 1) << text;
        }
        EXPECT_GE(ev["monotonic"].get<double>(), last_mono) << text;
        last_seq = ev["seq"].get<std::int64_t>();
        ++events;
        last_mono = ev["monotonic"].get<double>();
      }
      EXPECT_GT(last_seq, 0) << text;
      EXPECT_GE(events, 3) << text;
    }
    ::kill(pid, SIGINT);
    int st = 0;
    ::waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "watch did not end cleanly on SIGINT";
    ::close(out[0]);
  }
}

TEST_F(Ctl, MetricsCountRestartsKillsAndHeartbeatGapsAndGoOnAcrossAReexec) {
  auto d = start(config_of(
      {app("crasher", "--beats 1 --then exit 3", R"("restart_delay": 0.1)"),
       app("hung", "--beats 2 --period 0.1 --then hang",
           R"("heartbeat": {"interval": 0.2, "misses": 2}, "restart_delay": 0.1)"),
       app("slow", "--then beat --period 0.5", R"("heartbeat": {"interval": 0.3, "misses": 3})"),
       app("fast", "--then beat --period 0.1")}));
  ASSERT_TRUE(d->wait_started("crasher", 10s, 3)) << d->log();
  ASSERT_TRUE(d->wait_for("hung: killing pid")) << d->log();
  ASSERT_TRUE(d->wait_started("hung", 10s, 2)) << d->log();
  // Each miss of the slow app is followed by its late beat: after the
  // fourth, at least two gaps of about 1.7 intervals were taken (the first
  // miss may come before its first beat, on a slow start: no gap then).
  ASSERT_TRUE(d->wait_count("slow: missed heartbeat 1/3", 4)) << d->log();
  // The crasher stopped, its counters stay as they are.
  auto r = ctl({"stop", "crasher"});
  ASSERT_EQ(r.status, 0) << describe(r);

  // Anyone who may ask for the status may read the metrics.
  ASSERT_EQ(::chmod(d->dir().path().c_str(), 0755), 0);
  r = ctl_as("nobody", {"metrics"});
  ASSERT_EQ(r.status, 0) << describe(r);
  const std::string text = "\n" + r.out;
  const std::string version = ctl({"--version"}).out.substr(std::string("hbmonctl ").size());
  EXPECT_EQ(
      metric(text, "hbmond_build_info{version=\"" + version.substr(0, version.size() - 1) + "\"}"),
      1)
      << text;
  EXPECT_EQ(metric(text, "hbmond_reexecs_total"), 0);
  const auto crashes =
      metric(text, R"(hbmond_app_restarts_total{app="crasher",result="exit-code"})");
  ASSERT_TRUE(crashes) << text;
  EXPECT_GE(*crashes, 2);
  EXPECT_EQ(metric(text, R"(hbmond_app_state{app="crasher",state="stopped"})"), 1);
  EXPECT_EQ(metric(text, R"(hbmond_app_up{app="crasher"})"), 0);
  EXPECT_GE(metric(text, R"(hbmond_app_kills_total{app="hung",reason="heartbeat"})").value_or(0), 1)
      << text;
  EXPECT_GE(metric(text, R"(hbmond_app_restarts_total{app="hung",result="watchdog"})").value_or(0),
            1)
      << text;
  EXPECT_EQ(metric(text, R"(hbmond_app_kills_total{app="slow",reason="heartbeat"})"), 0);
  EXPECT_EQ(metric(text, R"(hbmond_app_up{app="slow"})"), 1);
  // The slow app's gaps are near misses, the fast one's well inside.
  const auto slow_gaps = metric(text, R"(hbmond_app_heartbeat_gap_intervals_count{app="slow"})");
  ASSERT_GE(slow_gaps.value_or(0), 2) << text;
  EXPECT_LT(*metric(text, R"(hbmond_app_heartbeat_gap_intervals_bucket{app="slow",le="1.25"})"),
            *slow_gaps)
      << text;
  EXPECT_GT(*metric(text, R"(hbmond_app_heartbeat_gap_intervals_bucket{app="fast",le="0.5"})"), 0)
      << text;
  EXPECT_GT(metric(text, R"(hbmond_app_heartbeats_total{app="fast"})").value_or(0), 2) << text;

  // A re-exec keeps every counter: the stopped crasher's exactly.
  r = ctl({"reexec"});
  ASSERT_EQ(r.status, 0) << describe(r) << d->log();
  r = ctl({"metrics"});
  ASSERT_EQ(r.status, 0) << describe(r);
  const std::string after = "\n" + r.out;
  EXPECT_EQ(metric(after, "hbmond_reexecs_total"), 1);
  EXPECT_EQ(metric(after, R"(hbmond_app_restarts_total{app="crasher",result="exit-code"})"),
            crashes);
  EXPECT_GE(metric(after, R"(hbmond_app_heartbeat_gap_intervals_count{app="slow"})"), slow_gaps);
  EXPECT_GE(metric(after, R"(hbmond_app_kills_total{app="hung",reason="heartbeat"})"),
            metric(text, R"(hbmond_app_kills_total{app="hung",reason="heartbeat"})"));
}

// forensics APP lists an app's records, --show prints one: for root, group
// hbmond and the app's own user, never for another local user; an id is
// an id, not a path.
TEST_F(Ctl, ForensicsListsAndShowsAnAppsRecordsToWhomItsLinesAreFor) {
  auto d = start(
      config_of({app("hang", "--beats 2 --period 0.1 --then hang",
                     R"("heartbeat": {"interval": 0.2, "misses": 1}, "restart_delay": 60)")}));
  ASSERT_TRUE(d->wait_for("hang: forensics record ")) << d->log();
  auto r = ctl({"forensics", "hang"});
  ASSERT_EQ(r.status, 0) << describe(r);
  // One line: the id, then its file.
  const std::string id = r.out.substr(0, r.out.find("  "));
  EXPECT_EQ(r.out, id + "  " + d->forensics_dir() + "/hang/" + id + ".json\n");
  r = ctl({"forensics", "hang", "--show", id});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("\"reason\": \"missed 1 heartbeat\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"threads\": ["), std::string::npos) << r.out;
  EXPECT_EQ(ctl({"forensics", "hang", "--show", "last"}).out, r.out);
  r = ctl({"--json", "forensics", "hang", "--list"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out)["records"], json::array({id}));

  r = ctl({"forensics", "hang", "--show", "../../../etc/passwd"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("is not a record's id"), std::string::npos) << r.err;
  r = ctl({"forensics", "hang", "--show", "20991231T000000.000Z-1"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("hang has no record 20991231T000000.000Z-1"), std::string::npos) << r.err;

  ASSERT_EQ(::chmod(d->dir().path().c_str(), 0755), 0);
  r = ctl_as("nobody", {"forensics", "hang"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("permission denied: the forensics records of hang are for root, group "
                       "hbmond and the app's own user"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(d->wait_for("refused forensics hang from uid 65534")) << d->log();
}
