// Liveness probes against real services started by the test: Python's
// http.server made healthy, then to answer 500, then to hang; a TCP
// listener that stops listening; an exec probe shaped like pg_isready.
#include "harness.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

using namespace hbtest;

namespace {

class Probes : public ::testing::Test {
protected:
  TempDir work;

  void set(const std::string &file, const std::string &text) {
    std::ofstream(work / file) << text << "\n";
  }
};

// interval 0.3 s, timeout 0.2 s, 2 failures, the first probe after 0.1 s.
const std::string timing =
    R"("interval": 0.3, "timeout": 0.2, "failures": 2, "initial_delay": 0.1)";

// The same with 3 failures: room to look at the status between them.
const std::string slow_timing =
    R"("interval": 0.3, "timeout": 0.2, "failures": 3, "initial_delay": 0.1)";

} // namespace

TEST_F(Probes, AnHttpServiceIsRunningAtItsFirstGoodProbeAndKilledFor500sAndForAHang) {
  const int port = free_port();
  set("mode", "ok");
  Daemon d(config_of(
      {R"({"name": "web", "command": ["/usr/bin/python3", ")" + std::string(notify_clients_dir) +
       R"(/probe_server.py", ")" + std::to_string(port) + R"(", ")" + work / "mode" +
       R"("], "heartbeat": null, "restart_delay": 0.1, "probe": {"http": "http://127.0.0.1:)" +
       std::to_string(port) + R"(/healthz", )" + slow_timing + "}}"}));
  ASSERT_TRUE(d.wait_state("web", "running")) << d.log();
  EXPECT_TRUE(d.wait_for("web: starting -> running: probe ok")) << d.log();

  set("mode", "500");
  EXPECT_TRUE(d.wait_for("web: probe failed 1/3: HTTP 500")) << d.log();
  const PipedChild ctl =
      spawn_piped({hbmonctl_path, "--control", "ipc://" + d.dir() / "control", "status", "web"});
  std::string table;
  char buf[4096];
  for (ssize_t n; (n = ::read(ctl.out, buf, sizeof buf)) > 0;)
    table.append(buf, static_cast<std::size_t>(n));
  ::waitpid(ctl.pid, nullptr, 0);
  ::close(ctl.out);
  ::close(ctl.err);
  EXPECT_NE(table.find("[probe failed 1x "), std::string::npos) << table;
  EXPECT_NE(table.find(" ago: HTTP 500]"), std::string::npos) << table;
  ASSERT_TRUE(d.wait_for("web: killing pid")) << d.log();
  EXPECT_TRUE(d.wait_for("failed 3 probes")) << d.log();
  set("mode", "ok");
  ASSERT_TRUE(d.wait_state("web", "running", 10s, 2)) << d.log();

  set("mode", "hang");
  EXPECT_TRUE(d.wait_for("web: probe failed 1/3: timed out after 0.2s")) << d.log();
  ASSERT_TRUE(d.wait_count("web: killing pid", 2)) << d.log();
  set("mode", "ok");
  EXPECT_TRUE(d.wait_state("web", "running", 10s, 3)) << d.log();
  const nlohmann::json st = app_status("ipc://" + d.dir() / "control", "web");
  ASSERT_TRUE(st.is_object());
  EXPECT_TRUE(st["last_probe"].is_object()) << st;
}

TEST_F(Probes, ATcpServiceThatStopsListeningIsKilledAndRestarted) {
  const int port = free_port();
  const std::string listen_then_stop =
      "import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
      "socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', " +
      std::to_string(port) + ")); s.listen(8); time.sleep(1.5); s.close(); time.sleep(3600)";
  Daemon d(
      config_of({R"({"name": "db", "command": ["/usr/bin/python3", "-c", ")" + listen_then_stop +
                 R"("], "heartbeat": null, "restart_delay": 0.1, "probe": {"tcp": "127.0.0.1:)" +
                 std::to_string(port) + R"(", )" + timing + "}}"}));
  ASSERT_TRUE(d.wait_state("db", "running")) << d.log();
  EXPECT_TRUE(d.wait_for("db: probe failed 1/2: connect: Connection refused")) << d.log();
  EXPECT_TRUE(d.wait_for("db: killing pid")) << d.log();
  EXPECT_TRUE(d.wait_state("db", "running", 10s, 2)) << d.log();
}

TEST_F(Probes, AnExecProbeShapedLikePgIsreadyJudgesByItsExitStatus) {
  set("ready", "yes");
  const std::string script = work / "isready";
  std::ofstream(script) << "#!/bin/sh\nif [ -e " << work / "ready"
                        << " ]; then echo 'accepting connections'; else echo 'no response' >&2; "
                           "exit 1; fi\n";
  ::chmod(script.c_str(), 0755);
  Daemon d(config_of({R"({"name": "pg", "command": ["/bin/sleep", "infinity"], "heartbeat": null,
      "restart_delay": 0.1, "probe": {"exec": [")" +
                      script + R"("], )" + timing + "}}"}));
  ASSERT_TRUE(d.wait_state("pg", "running")) << d.log();
  EXPECT_TRUE(d.wait_for("pg: probe: accepting connections")) << "its output, at debug\n"
                                                              << d.log();
  std::filesystem::remove(work / "ready");
  EXPECT_TRUE(d.wait_for("pg: probe failed 1/2: exit status 1")) << d.log();
  EXPECT_TRUE(d.wait_for("pg: probe: no response")) << d.log();
  EXPECT_TRUE(d.wait_for("pg: killing pid")) << d.log();
  set("ready", "yes");
  EXPECT_TRUE(d.wait_state("pg", "running", 10s, 2)) << d.log();
}

// An exec probe that forks and hangs: killed at its timeout with its whole
// group, and that is a failure.
TEST_F(Probes, AnExecProbeThatForksAndHangsIsKilledWithItsGroupAtItsTimeout) {
  const std::string script = work / "hangs";
  std::ofstream(script) << "#!/bin/sh\necho $$ >> " << work / "probes"
                        << "\nsleep 3600 &\nwait\n";
  ::chmod(script.c_str(), 0755);
  Daemon d(config_of({R"({"name": "app", "command": ["/bin/sleep", "infinity"], "heartbeat": null,
      "restart_delay": 5, "probe": {"exec": [")" +
                      script + R"("], )" + timing + "}}"}));
  ASSERT_TRUE(d.wait_for("app: probe failed 1/2: timed out after 0.2s")) << d.log();
  ASSERT_TRUE(d.wait_for("app: killing pid")) << d.log();
  // Every probe's process group is gone: no sleep of theirs is left.
  std::ifstream in(work / "probes");
  std::vector<pid_t> groups;
  for (pid_t p; in >> p;)
    groups.push_back(p);
  ASSERT_FALSE(groups.empty());
  for (pid_t g : groups)
    EXPECT_TRUE(wait_until([&] { return ::kill(-g, 0) < 0 && errno == ESRCH; }, 5s))
        << "probe group " << g << " outlived its timeout";
}
