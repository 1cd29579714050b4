// What hbmond finds in its process when it starts (its working directory,
// its umask, its fds 0-2) must not decide where or how its apps run.
#include "harness.hpp"

#include <climits>
#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <thread>

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

TEST_F(Files, ExecRunsTheCommandWhereHbmondRunsNotWherePWDSays) {
  char here[PATH_MAX];
  ASSERT_NE(::realpath(".", here), nullptr);
  const std::string out = work / "cwd";
  Daemon::Options o;
  // PWD is whatever the caller's environment says: here it is stale.
  o.env = {"PWD=" + work.path()};
  o.args = {"--exec", "--endpoint",     "ipc://" + work / "exec.hb", "--", "/bin/sh",
            "-c",     "pwd -P > " + out};
  Daemon d("", o);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_EQ(read_file(out), std::string(here) + "\n") << d.log();
}

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

namespace {

std::string link_of(pid_t pid, int fd) {
  std::error_code ec;
  auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
  return ec ? "(closed)" : target.string();
}

} // namespace

TEST_F(Files, StartedWithFds0To2ClosedAnAppStillGetsItsOwnOutput) {
  const std::string rt = work / "rt", config = work / "apps.json";
  std::ofstream(config) << config_of(
      {app_json("web", "--warn to-stderr --then beat", R"("heartbeat": {"interval": 0.2})")});
  // hbmond as `hbmond ... <&- >&- 2>&-` would start it.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd = 0; fd <= 2; ++fd)
    posix_spawn_file_actions_addclose(&fa, fd);
  std::vector<std::string> args = {hbmond_path, "--config", config, "--runtime-dir", rt};
  std::vector<char *> argv, envp;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    if (std::string kv = *e; kv.rfind("NOTIFY_SOCKET=", 0) != 0 && kv.rfind("WATCHDOG_", 0) != 0)
      env.push_back(kv);
  for (auto &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);

  const std::string control = "ipc://" + rt + "/control";
  nlohmann::json st;
  EXPECT_TRUE(wait_until([&] {
    st = app_status(control, "web");
    return st.is_object() && st["state"] == "running";
  })) << st;
  if (st.is_object() && st["pid"].is_number()) {
    const pid_t app = st["pid"].get<pid_t>();
    // Its stdout and stderr are the pipes hbmond reads (one each: stderr
    // is logged at another priority), not one of hbmond's own files, and
    // not whatever the app opened first.
    const std::string out = link_of(app, 1), err = link_of(app, 2);
    EXPECT_EQ(out.rfind("pipe:", 0), 0u) << out;
    EXPECT_EQ(err.rfind("pipe:", 0), 0u) << err;
    EXPECT_NE(err, out);
    EXPECT_EQ(link_of(app, 0), "/dev/null");
  }
  for (int fd = 0; fd <= 2; ++fd)
    EXPECT_EQ(link_of(pid, fd), "/dev/null") << "hbmond's fd " << fd;

  ::kill(pid, SIGTERM);
  const int pfd = pidfd_open(pid);
  EXPECT_TRUE(wait_pidfd(pfd, 15s)) << "hbmond did not stop";
  ::close(pfd);
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
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

namespace {

struct HeldFds {
  std::size_t all = 0;
  std::size_t pipe_write_ends = 0;
};

// What process `pid` holds: its fds, and how many of them write to a pipe.
HeldFds held_fds(pid_t pid) {
  HeldFds h;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(proc + "/fd", ec)) {
    ++h.all;
    if (link_of(pid, std::stoi(e.path().filename())).rfind("pipe:", 0) != 0)
      continue;
    std::ifstream info(proc + "/fdinfo/" + e.path().filename().string());
    for (std::string key; info >> key;)
      if (key == "flags:") {
        std::string octal;
        info >> octal;
        h.pipe_write_ends += (std::stoi(octal, nullptr, 8) & O_ACCMODE) == O_WRONLY;
        break;
      }
  }
  return h;
}

// hbmond running `apps` (app objects), each of them running: what it holds.
HeldFds held_with(const std::vector<std::string> &apps) {
  std::string config = "{\"apps\": [";
  for (std::size_t i = 0; i < apps.size(); ++i)
    config += (i ? ", " : "") + apps[i];
  Daemon d(config + "]}");
  for (std::size_t i = 0; i < apps.size(); ++i)
    EXPECT_TRUE(d.wait_state("a" + std::to_string(i), "running")) << d.log();
  return held_fds(d.pid());
}

} // namespace

// An app costs hbmond few fds (issue 19's goal: 1,000s of apps under the
// fd limit), and none that writes to its output pipes: each run holds the
// only write ends, so a pipe ends with the last process writing to it.
TEST_F(Files, AnAppCostsHbmondFewFdsAndNoWriteEndOfItsPipes) {
  constexpr std::size_t n = 10; // apps beside the first
  std::vector<std::string> zmq, notify;
  for (std::size_t i = 0; i <= n; ++i) {
    const std::string name = "a" + std::to_string(i);
    zmq.push_back(app_json(name, "--then beat", R"("heartbeat": {"interval": 0.5})"));
    notify.push_back(R"({"name": ")" + name + R"(", "command": [")" + notify_app_path + R"(", ")" +
                     work / (name + ".trace") +
                     R"(", "1000000"], "heartbeat": {"protocol": "notify", "interval": 0.5}})");
  }
  // What one app costs is told by hbmond with one and with n + 1 of them
  // (the first app brings what hbmond needs once, such as its guardian).
  const HeldFds one_zmq = held_with({zmq[0]}), over_zmq = held_with(zmq),
                one_notify = held_with({notify[0]}), over_notify = held_with(notify);
  // Per app over ZeroMQ: its pidfd, the read ends of its stdout and
  // stderr, and libzmq's for its socket (the listener, the app's
  // connection, the socket's mailbox, and the connection guard's monitor:
  // two mailboxes). Over notify: the pidfd, the two read ends, the socket.
  EXPECT_LE(over_zmq.all, one_zmq.all + n * 8) << "with one app " << one_zmq.all;
  EXPECT_LE(over_notify.all, one_notify.all + n * 4) << "with one app " << one_notify.all;
  EXPECT_EQ(over_zmq.pipe_write_ends, one_zmq.pipe_write_ends);
  EXPECT_EQ(over_notify.pipe_write_ends, one_notify.pipe_write_ends);
}

// An app's pipe is watched only while a run may write to it: once its last
// writer is gone (the run ended for good), hbmond does not look at the
// pipe's end-of-file again and again (a level-triggered watch left on it
// would spin the loop on a whole core). hbmond with an app that has ended
// uses next to no CPU.
TEST_F(Files, APipeWhoseRunHasEndedIsNotWatchedAndHbmondIdles) {
  Daemon d(config_of({app_json("done", "--beats 0 --then exit 0", R"("heartbeat": null)")}));
  ASSERT_TRUE(d.wait_state("done", "exited")) << d.log();
  const auto cpu_ticks = [&] {
    std::ifstream in("/proc/" + std::to_string(d.pid()) + "/stat");
    std::string stat;
    std::getline(in, stat);
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) // fields 3 to 13: state ... cmajflt
      fields >> skip;
    long utime = 0, stime = 0;
    fields >> utime >> stime;
    return utime + stime;
  };
  const long before = cpu_ticks();
  // A second in which hbmond has nothing to do (no sleep stands in for an
  // event here: the time is what is measured).
  std::this_thread::sleep_for(1s);
  const long used = cpu_ticks() - before;
  const long hz = ::sysconf(_SC_CLK_TCK);
  // Spinning takes most of a core even on a busy machine; idle, ~0.
  EXPECT_LT(used, hz / 5) << used << " ticks of " << hz << " in 1 s\n" << d.log();
}
