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
