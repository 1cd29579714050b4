// hbmonctl for scripts (SPEC.md "hbmonctl, v2"): start, stop and restart wait
// for the outcome, several apps per command (names, patterns, all),
// is-active and is-failed, signal, JSON errors and the table without legend.
#include "ctl.hpp"

#include <atomic>
#include <sys/stat.h>
#include <thread>
#include <zmq.hpp>

using namespace hbtest;

namespace {

const std::string quick = R"("heartbeat": {"interval": 0.3}, "restart_delay": 0.1)";

std::string state_of(const std::string &control, const std::string &name) {
  auto st = app_status(control, name);
  return st.is_object() && st["state"].is_string() ? st["state"].get<std::string>() : "?";
}

} // namespace

TEST_F(Ctl, StartWaitsUntilRunningAndFailsWhenTheAppCannotStart) {
  auto d = start(
      config_of({app("web", "--beats 3 --period 0.2 --then beat", quick + R"(, "enabled": false)"),
                 R"({"name": "broken", "command": [")" + work / "missing" +
                     R"("], "enabled": false, "restart_delay": 5})"}));
  // Running (its first heartbeat came) when the command returns, not merely spawned.
  auto r = ctl({"start", "web"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "web: running\n") << describe(r);
  EXPECT_EQ(state_of(control_, "web"), "running");
  // A binary that is not there: exit 1, with the reason.
  r = ctl({"start", "broken"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("broken: backoff"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << describe(r);
  // --no-block: back at once, with the state hbmond answered.
  r = ctl({"stop", "--no-block", "web"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "web: stopping\n") << describe(r);
}

TEST_F(Ctl, StopWaitsUntilStoppedAndRestartUntilRunningAgain) {
  auto d = start(config_of({app("stubborn", "--ignore-term --then beat --period 0.1",
                                quick + R"(, "stop_timeout": 1)")}));
  auto first = d->wait_started("stubborn");
  ASSERT_TRUE(first) << d->log();
  ASSERT_TRUE(d->wait_state("stubborn", "running")) << d->log();
  // SIGTERM is ignored: stopped only by the SIGKILL a stop_timeout later.
  auto r = ctl({"restart", "stubborn"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "stubborn: running\n") << describe(r);
  EXPECT_GE(r.seconds, 0.9) << describe(r);
  EXPECT_EQ(state_of(control_, "stubborn"), "running");
  EXPECT_NE(pid_of("stubborn"), first);
  r = ctl({"--json", "stop", "stubborn"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out, nullptr, false)["apps"][0]["state"], "stopped") << describe(r);
  EXPECT_EQ(state_of(control_, "stubborn"), "stopped");
}

TEST_F(Ctl, AWaitForAnAppThatFlapsEndsAtItsFirstFall) {
  // Restarted at once, forever: its backoff lasts a moment each time.
  auto d = start(config_of({app("flap", "--then exit 1",
                                R"("heartbeat": {"interval": 0.3}, "restart_delay": 0,
                                   "backoff_max": 0, "start_limit": {"interval": 0},
                                   "enabled": false)")}));
  auto r = ctl({"start", "flap"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("flap: backoff: pid"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("exited: exit status 1"), std::string::npos) << describe(r);
  EXPECT_LT(r.seconds, 5.0) << describe(r);
  r = ctl({"--json", "restart", "flap"});
  EXPECT_EQ(r.status, 1) << describe(r);
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["error"], "wait-failed") << r.out;
  EXPECT_EQ(j["apps"][0]["state"], "backoff") << r.out;
  EXPECT_TRUE(r.err.empty()) << describe(r);
}

// A daemon whose app never gets anywhere (as one stuck in the kernel): it
// answers every request at once, the app stays `starting` with a
// stop_timeout and grace of 0, so the wait ends at the 5 s margin.
TEST_F(Ctl, AWaitIsBoundedByStopTimeoutPlusGracePlusFiveSeconds) {
  zmq::context_t zctx;
  zmq::socket_t router(zctx, zmq::socket_type::router), pub(zctx, zmq::socket_type::pub);
  router.set(zmq::sockopt::linger, 0);
  pub.set(zmq::sockopt::linger, 0);
  const std::string control = "ipc://" + work / "stuck", events = "ipc://" + work / "events";
  router.bind(control);
  pub.bind(events);
  std::atomic<bool> done = false;
  std::thread fake([&] {
    router.set(zmq::sockopt::rcvtimeo, 100);
    while (!done) {
      std::vector<zmq::message_t> frames;
      zmq::message_t part;
      if (!router.recv(part))
        continue;
      frames.push_back(std::move(part));
      while (frames.back().more() && router.recv(part))
        frames.push_back(std::move(part));
      json req = json::parse(frames.back().to_string(), nullptr, false);
      json reply = {{"v", 1}, {"ok", true}};
      if (req["cmd"] == "info")
        reply["events"] = events;
      else if (req["cmd"] == "start")
        reply.update({{"seq", 0},
                      {"apps",
                       {{{"app", "stuck"},
                         {"state", "starting"},
                         {"stop_timeout", 0},
                         {"grace", 0},
                         {"reason", "waiting for the first heartbeat"}}}}});
      else
        reply["apps"] = {{{"name", "stuck"}, {"state", "starting"}}};
      for (std::size_t i = 0; i + 1 < frames.size(); ++i)
        router.send(frames[i], zmq::send_flags::sndmore);
      router.send(zmq::buffer(reply.dump()));
    }
  });
  auto r = run({hbmonctl_path, "--control", control, "start", "stuck"}, 30s);
  done = true;
  fake.join();
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("stuck: still starting after 5s, not running"), std::string::npos)
      << describe(r);
  EXPECT_GE(r.seconds, 5.0) << describe(r);
  EXPECT_LT(r.seconds, 8.0) << describe(r);
}

TEST_F(Ctl, SeveralAppsPerCommandByNamePatternAndAll) {
  auto d = start(config_of({app("batch-1", "--then beat --period 0.1", quick),
                            app("batch-2", "--then beat --period 0.1", quick),
                            app("web", "--then beat --period 0.1", quick)}));
  for (auto name : {"batch-1", "batch-2", "web"})
    ASSERT_TRUE(d->wait_state(name, "running")) << d->log();
  auto web = pid_of("web");
  auto r = ctl({"stop", "batch-*"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "batch-1: stopped\nbatch-2: stopped\n") << describe(r);
  EXPECT_EQ(pid_of("web"), web) << "a pattern touched an app it does not match";
  // A selector that names nothing: nothing is done, exit 1.
  r = ctl({"start", "batch-1", "nosuch", "x*"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("no app named nosuch, x*"), std::string::npos) << describe(r);
  EXPECT_EQ(state_of(control_, "batch-1"), "stopped");
  r = ctl({"restart", "web", "batch-1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "batch-1: running\nweb: running\n") << describe(r);
  EXPECT_NE(pid_of("web"), web);
  r = ctl({"start", "all"});
  EXPECT_EQ(r.status, 0) << describe(r);
  for (auto name : {"batch-1", "batch-2", "web"})
    EXPECT_EQ(state_of(control_, name), "running") << name;
  r = ctl({"--json", "status", "batch-?"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out, nullptr, false)["apps"].size(), 2u) << r.out;
}

TEST_F(Ctl, IsActiveAndIsFailedAnswerByExitStatusQuietly) {
  auto d = start(config_of(
      {app("web", "--then beat --period 0.1", quick),
       app("idle", "--then beat", R"("enabled": false)"),
       app("dead", "--then exit 1",
           R"("heartbeat": null, "restart_delay": 0, "start_limit": {"burst": 1, "interval": 60})")}));
  ASSERT_TRUE(d->wait_state("web", "running")) << d->log();
  ASSERT_TRUE(d->wait_state("dead", "failed")) << d->log();
  struct Case {
    std::vector<std::string> args;
    int status;
  } cases[] = {
      {{"is-active", "web"}, 0},         {{"is-active", "web", "idle"}, 3},
      {{"is-active", "dead"}, 3},        {{"is-active", "web", "nosuch"}, 4},
      {{"is-failed", "dead"}, 0},        {{"is-failed", "web", "dead"}, 0},
      {{"is-failed", "web", "idle"}, 1}, {{"is-failed", "n*"}, 4},
      {{"is-active", "w*"}, 0},
  };
  for (const auto &c : cases) {
    auto r = ctl(c.args);
    EXPECT_EQ(r.status, c.status) << c.args[0] << " " << c.args[1] << "\n" << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
  }
  auto r = ctl({"--json", "is-active", "web", "idle"});
  EXPECT_EQ(r.status, 3) << describe(r);
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["is-active"], false) << r.out;
  EXPECT_EQ(j["apps"][0], json({{"name", "idle"}, {"state", "stopped"}})) << r.out;
  // Unreachable stays 3 as for every verb, whatever is-active would say.
  r = run({hbmonctl_path, "--control", "ipc://" + work / "nothing", "is-failed", "web"});
  EXPECT_EQ(r.status, 3) << describe(r);
}

TEST_F(Ctl, SignalReachesTheAppsAndOnlyAnAdminMaySendIt) {
  auto d = start(config_of({app("web", "--then beat --period 0.1", quick),
                            app("idle", "--then beat", R"("enabled": false)")}));
  ASSERT_EQ(::chmod(d->dir().path().c_str(), 0755), 0); // others reach the 0666 socket
  auto pid = d->wait_started("web");
  ASSERT_TRUE(pid) << d->log();
  auto r = ctl_as("nobody", {"signal", "web", "USR1"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << describe(r);
  EXPECT_TRUE(d->wait_for("refused signal web from uid")) << d->log();
  EXPECT_EQ(pid_of("web"), pid) << "a non-admin's signal arrived";
  // A stopped app named outright: refused; picked by `all`: skipped.
  r = ctl({"signal", "idle", "USR1"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("idle is not running"), std::string::npos) << describe(r);
  r = ctl({"signal", "nosuch", "USR1"});
  EXPECT_EQ(r.status, 1) << describe(r);
  r = ctl({"signal", "web", "NOSUCHSIG"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("no signal named"), std::string::npos) << describe(r);
  r = ctl({"signal", "all", "SIGUSR1"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_NE(r.out.find("web: sent SIGUSR1 to pid " + std::to_string(*pid)), std::string::npos)
      << describe(r);
  EXPECT_NE(r.out.find("idle: not running, no signal sent"), std::string::npos) << describe(r);
  EXPECT_TRUE(d->wait_for("web: pid " + std::to_string(*pid) + " exited: killed by SIGUSR1"))
      << d->log();
  EXPECT_EQ(ctl({"signal", "web"}).status, 2);
}

TEST_F(Ctl, JsonErrorsGoToStdoutAndTheTableCanLoseItsLegend) {
  auto d = start(config_of({app("web", "--then beat --period 0.1", quick),
                            app("idle", "--then beat", R"("enabled": false)")}));
  ASSERT_TRUE(d->wait_state("web", "running")) << d->log();
  struct Case {
    std::vector<std::string> args;
    int status;
    const char *error;
  } cases[] = {
      {{"--json", "stop", "nosuch"}, 1, "unknown-app"},
      {{"--json", "frobnicate"}, 2, "usage"},
      {{"--json", "--control", "ipc://" + work / "nothing", "status"}, 3, "unreachable"},
  };
  for (const auto &c : cases) {
    auto r = run([&] {
      std::vector<std::string> argv = {hbmonctl_path, "--control", control_};
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      return argv;
    }());
    EXPECT_EQ(r.status, c.status) << describe(r);
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_EQ(j["error"], c.error) << describe(r);
    EXPECT_TRUE(j["message"].is_string()) << describe(r);
    EXPECT_TRUE(r.err.empty()) << describe(r);
  }
  auto r = ctl({"status", "--no-legend"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out.find("NAME"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("2 apps"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  // The new status fields.
  auto web = app_status(control_, "web"), idle = app_status(control_, "idle");
  EXPECT_EQ(web["enabled"], true) << web;
  EXPECT_EQ(idle["enabled"], false) << idle;
  EXPECT_EQ(web["command"][0], app_path) << web;
  EXPECT_TRUE(web["user"].is_null()) << web;
  EXPECT_TRUE(web["uptime"].is_number()) << web;
  EXPECT_TRUE(idle["uptime"].is_null()) << idle;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(web["since"].get<double>(), now - 60) << web;
  EXPECT_LE(web["since"].get<double>(), now + 1) << web;
}

// Selectors are data: odd bytes match nothing and reach no terminal; `all`
// with no app at all is no error.
TEST_F(Ctl, OddSelectorsMatchNothingAndAllOfNoAppIsNoError) {
  auto d = start(config_of({}));
  auto r = ctl({"stop", "all"});
  EXPECT_EQ(r.status, 0) << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);
  EXPECT_EQ(ctl({"is-active", "all"}).status, 0);
  r = ctl({"restart", "[", "*\x1b[2J", "../*", "\\"});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("no app named [, *\\x1b[2J, ../*, \\"), std::string::npos) << describe(r);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << describe(r);
  r = ctl({"stop", std::string(300, '*')});
  EXPECT_EQ(r.status, 1) << describe(r);
  EXPECT_NE(r.err.find("1 to 256 bytes"), std::string::npos) << describe(r);
  expect_status_fast(control_);
}
