// Attacks through the file system: a local user who can write the directory
// of one of hbmond's sockets could swap the socket file for a link between
// the bind and the chown and have root chown any file to the app's user.
// Such a directory is refused before anything is bound in it: at --check, at
// start and at reload (sys/directories.hpp; the chown itself is shown never
// to follow a link in tests/unit/test_directories.cpp).
#include "harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

using namespace hbtest;

namespace {

class HostileFiles : public ::testing::Test {
protected:
  TempDir work;

  // A directory in `work` that belongs to nobody, as one of a user's own.
  std::string nobodys_dir(const std::string &name) {
    const std::string dir = work / name;
    EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
    EXPECT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
    return dir;
  }

  static std::string web(const std::string &endpoint_dir) {
    return config_of({app_json("web", "--then beat",
                               R"("heartbeat": {"interval": 0.2, "endpoint": "ipc://)" +
                                   endpoint_dir + R"(/web.hb"})")});
  }

  // The words of the refusal of `dir` at `place`.
  static std::string refusal(const std::string &place, const std::string &dir) {
    return place + ": \"ipc://" + dir;
  }
  static std::string reason(const std::string &dir) {
    return "unsafe directory: " + dir + " belongs to uid 65534 (nobody), not to root; ";
  }
};

} // namespace

TEST_F(HostileFiles, AnEndpointDirOfAnotherUserIsRefusedAtCheckStartAndReload) {
  const std::string open = nobodys_dir("open"), safe = work / "safe";
  ASSERT_EQ(::mkdir(safe.c_str(), 0755), 0);
  const std::string bad = work / "bad.json";
  std::ofstream(bad) << web(open);

  // --check: exit 1, naming the file, the place, the reason and the fix.
  Daemon::Options check;
  check.args = {"--check", "--config", bad, "--runtime-dir", work.path()};
  Daemon checked("", check);
  EXPECT_EQ(checked.wait_exit(), 1) << checked.log();
  EXPECT_TRUE(checked.wait_for(bad + ": " + refusal("apps[0].heartbeat.endpoint", open)))
      << checked.log();
  EXPECT_TRUE(checked.wait_for(reason(open))) << checked.log();
  EXPECT_TRUE(checked.wait_for("make " + open + " and every directory above it belong to root"))
      << checked.log();

  // So is a runtime dir of another user's, at the first endpoint in it.
  check.args = {"--check", "--config", bad, "--runtime-dir", nobodys_dir("rt")};
  Daemon checked_rt("", check);
  EXPECT_EQ(checked_rt.wait_exit(), 1) << checked_rt.log();
  EXPECT_TRUE(
      checked_rt.wait_for(refusal("control", work / "rt") + "/control\": " + reason(work / "rt")))
      << checked_rt.log();

  // At start: hbmond does not start, binds and chowns nothing.
  Daemon started(web(open));
  EXPECT_EQ(started.wait_exit(), 1) << started.log();
  EXPECT_TRUE(started.wait_for(refusal("apps[0].heartbeat.endpoint", open))) << started.log();
  EXPECT_TRUE(started.wait_for("hbmond: not started")) << started.log();
  EXPECT_FALSE(fs::exists(open + "/web.hb"));

  // At reload: refused, and the running config keeps running untouched.
  Daemon d(web(safe));
  ASSERT_TRUE(d.wait_state("web", "running")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  const auto before = app_status(control, "web");
  std::ofstream(d.config_path()) << web(open);
  const auto reply = ask(control, R"({"v":1,"cmd":"reload"})").reply;
  EXPECT_EQ(reply["ok"], false) << reply;
  EXPECT_EQ(reply["error"], "invalid-config") << reply;
  EXPECT_NE(reply.value("message", "").find(refusal("apps[0].heartbeat.endpoint", open)),
            std::string::npos)
      << reply;
  EXPECT_TRUE(d.wait_for("reload failed, the running config is kept")) << d.log();
  const auto after = app_status(control, "web");
  EXPECT_EQ(after["state"], "running") << after;
  EXPECT_EQ(after["pid"], before["pid"]) << "the app was restarted";
  EXPECT_FALSE(fs::exists(open + "/web.hb"));
}
