// What hbmond finds in its process when it starts (its working directory,
// its umask, its fds 0-2) must not decide where or how its apps run.
#include "harness.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace hbtest;

namespace {

class Files : public ::testing::Test {
protected:
  TempDir work;
};

std::string read_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

namespace {

// `argv` as hbmonctl run by `user`: its exit status.
int hbmonctl_as(const std::string &user, const std::string &control,
                const std::string &verb = "status") {
  const std::string cmd = "/usr/sbin/runuser -u " + user + " -- " + hbmonctl_path + " --control " +
                          control + " " + verb + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_F(Files, UnderUmask077TheRuntimeDirStillLetsOtherUsersIn) {
  ASSERT_EQ(::chmod(work.path().c_str(), 0755), 0);
  const std::string rt = work / "rt", config = work / "apps.json";
  std::ofstream(config) << config_of({app_json(
      "web", "--then beat", R"("user": "nobody", "heartbeat": {"interval": 0.2, "misses": 5})")});
  Daemon::Options o;
  o.args = {"--config", config, "--runtime-dir", rt, "--log-level", "debug"};
  // hbmond creates rt under the caller's umask 077.
  const mode_t old = ::umask(077);
  Daemon d("", o);
  ::umask(old);
  // The app, as nobody, reaches its endpoint in rt.
  EXPECT_TRUE(d.wait_state("web", "running")) << d.log();
  struct stat st {};
  ASSERT_EQ(::stat(rt.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // And so does every local user's hbmonctl status.
  EXPECT_EQ(hbmonctl_as("nobody", "ipc://" + rt + "/control"), 0) << d.log();
}

TEST_F(Files, ExecBindsInAPrivateDirectoryRemovedAtExit) {
  // What the command sees: its endpoint, and the mode and owner of the
  // directory that holds it.
  const std::string out = work / "endpoint";
  Daemon::Options o;
  o.env = {"XDG_RUNTIME_DIR=" + work.path()};
  o.args = {"--exec", "--", "/bin/sh", "-c",
            "ep=${HBMON_ENDPOINT#ipc://}; stat -c '%a %u' \"${ep%/*}\" > " + out +
                "; echo \"$ep\" >> " + out};
  Daemon d("", o);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  std::istringstream seen(read_file(out));
  std::string mode, uid, endpoint;
  seen >> mode >> uid >> endpoint;
  EXPECT_EQ(mode, "700") << read_file(out);
  EXPECT_EQ(uid, std::to_string(::geteuid()));
  const std::string dir = fs::path(endpoint).parent_path().string();
  EXPECT_EQ(fs::path(dir).parent_path().string(), work.path()) << endpoint;
  EXPECT_EQ(fs::path(dir).filename().string().rfind("hbmond-exec.", 0), 0u) << endpoint;
  EXPECT_FALSE(fs::exists(dir)) << dir << " outlived hbmond";
}
