// Reloads in a hostile world: too few file descriptors, a slow user
// database. The running apps must never pay for it.
#include "hostile.hpp"

#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace hbtest;
using nlohmann::json;

namespace {

// hbmond's soft RLIMIT_NOFILE (its hard one stays: raising that again
// would need CAP_SYS_RESOURCE).
void set_nofile(pid_t pid, rlim_t soft) {
  rlimit rl{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &rl), 0) << std::strerror(errno);
  rl.rlim_cur = soft;
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &rl, nullptr), 0) << std::strerror(errno);
}

std::string pid_of(const std::string &control, const std::string &app) {
  return app_status(control, app)["pid"].dump();
}

// A command left running while the test goes on; its output to a file.
class Background {
public:
  Background(std::vector<std::string> argv, std::string out) : out_(std::move(out)) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char *> args;
    for (auto &a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0)
      std::abort();
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background &) = delete;
  Background &operator=(const Background &) = delete;

  // Its exit status (-1: still running after `timeout`, or killed).
  int finish(std::chrono::milliseconds timeout) {
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout))
      return -1;
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string output() const {
    std::ifstream in(out_);
    return {std::istreambuf_iterator<char>(in), {}};
  }

private:
  std::string out_;
  pid_t pid_ = 0;
};

} // namespace

TEST_F(Hostile, AReloadShortOfFdsChangesNothingAndALaterOneApplies) {
  const std::string beat = R"("heartbeat": {"interval": 0.5})";
  Daemon::Options opts{{}, {}, "info", ""};
  Daemon d(config_of({app("keep", "--then beat --period 0.1", beat),
                      app("gone", "--then beat --period 0.1", beat)}),
           opts);
  ASSERT_TRUE(d.wait_for("supervising")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";
  ASSERT_TRUE(wait_until([&] {
    auto k = app_status(control, "keep"), g = app_status(control, "gone");
    return k.is_object() && g.is_object() && k["state"] == "running" && g["state"] == "running";
  })) << d.log();
  const std::string keep = pid_of(control, "keep"), gone = pid_of(control, "gone");

  // Twenty more apps (each a pipe and a socket) where hbmond has room for
  // one or two; "gone" is removed by the same reload.
  std::string next = "{\"apps\": [" + app("keep", "--then beat --period 0.1", beat);
  for (int i = 0; i < 20; ++i)
    next += ", " + app("new" + std::to_string(i), "--then beat --period 0.1", beat);
  std::ofstream(d.config_path()) << next << "]}";
  rlimit before{};
  ASSERT_EQ(::prlimit(d.pid(), RLIMIT_NOFILE, nullptr, &before), 0);
  set_nofile(d.pid(), open_fds(d.pid()) + 8);
  ASSERT_FALSE(HasFatalFailure());

  auto refused = ask(control, R"({"v":1,"cmd":"reload"})");
  ASSERT_TRUE(refused.reply.is_object()) << "no reply to reload\n" << (d.poll_log(), d.log());
  EXPECT_EQ(refused.reply["error"], "reload-failed") << refused.reply;
  EXPECT_NE(refused.reply.value("message", "").find("Too many open files"), std::string::npos)
      << refused.reply;
  // Untouched: both apps run on with their pids, nothing was added.
  EXPECT_EQ(app_status(control, "keep")["state"], "running");
  EXPECT_EQ(app_status(control, "gone")["state"], "running");
  EXPECT_EQ(pid_of(control, "keep"), keep);
  EXPECT_EQ(pid_of(control, "gone"), gone);
  EXPECT_TRUE(app_status(control, "new0").is_null());
  ASSERT_TRUE(d.wait_for("reload refused, the running config is kept: ")) << d.log();

  // With fds to spare, the same file applies.
  set_nofile(d.pid(), before.rlim_cur);
  auto applied = ask(control, R"({"v":1,"cmd":"reload"})");
  ASSERT_EQ(applied.reply["ok"], true) << applied.reply << "\n" << d.log();
  EXPECT_EQ(applied.reply["added"].size(), 20u) << applied.reply;
  EXPECT_EQ(applied.reply["removed"], json({"gone"})) << applied.reply;
  EXPECT_TRUE(d.wait_started("new19")) << d.log();
  EXPECT_EQ(pid_of(control, "keep"), keep);
}

TEST_F(Hostile, ASlowUserDatabaseHoldsUpOnlyTheRepliesThatNeedIt) {
  // Every lookup takes 600 ms, as with an unreachable LDAP server.
  const std::string nss_log = work / "nss.log";
  Daemon::Options o{{}, preloading(HBTEST_SLOW_NSS_PATH), "info", ""};
  o.env.insert(o.env.end(), {"HBTEST_NSS_DELAY_MS=600", "HBTEST_NSS_LOG=" + nss_log});
  const std::string hang =
      app("hang", "--beats 3 --period 0.1 --then hang",
          R"("heartbeat": {"interval": 0.3, "misses": 2}, "restart_delay": 0.1)");
  Daemon d(config_of({hang}), o);
  ASSERT_EQ(::chmod(d.dir().path().c_str(), 0755), 0); // others reach the 0666 socket
  ASSERT_TRUE(d.wait_started("hang")) << d.log();
  const std::string control = "ipc://" + d.dir() / "control";

  // A reload that resolves an account, and a stop from a user whom only
  // the user database can tell to be no admin (nobody).
  std::ofstream(d.config_path()) << config_of(
      {hang, app_json("extra", "--then stall", R"("heartbeat": null, "user": "nobody")")});
  const std::vector<std::string> ctl = {hbmonctl_path, "--control", control,
                                        "--timeout",   "30",        "--json"};
  std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                        "--clear-groups", "--"};
  as_nobody.insert(as_nobody.end(), ctl.begin(), ctl.end());
  as_nobody.insert(as_nobody.end(), {"stop", "hang"});
  Background stop(as_nobody, work / "stop.out");
  std::vector<std::string> reload_argv = ctl;
  reload_argv.push_back("reload");
  Background reload(reload_argv, work / "reload.out");
  ASSERT_TRUE(d.wait_for("reloading " + d.config_path())) << d.log();

  // While the lookups run, the loop turns: status at once, a hang killed
  // on time.
  expect_status_fast(control);
  d.poll_log();
  expect_hang_killed_on_time(d, "hang", 0.3, 2, d.count("hang: started, pid"));

  // Once that reload has read the file (it is looking up nobody), the file
  // changes and another reload is asked for: it waits for the first, then
  // reads the file again.
  ASSERT_TRUE(wait_until([&] {
    std::ifstream in(nss_log);
    return std::string(std::istreambuf_iterator<char>(in), {}).find("getpwnam_r") !=
           std::string::npos;
  })) << d.log();
  std::ofstream(d.config_path()) << config_of(
      {hang, app_json("extra", "--then stall", R"("heartbeat": null, "user": "nobody")"),
       app_json("extra2", "--then stall", R"("heartbeat": null)")});
  Background again(reload_argv, work / "again.out");
  ASSERT_TRUE(d.wait_for("waits for the one in progress")) << d.log();

  // Then each gets its answer.
  EXPECT_EQ(reload.finish(20s), 0) << reload.output() << d.log();
  EXPECT_EQ(json::parse(reload.output(), nullptr, false)["added"], json({"extra"}))
      << reload.output();
  EXPECT_EQ(again.finish(20s), 0) << again.output() << d.log();
  EXPECT_EQ(json::parse(again.output(), nullptr, false)["added"], json({"extra2"}))
      << again.output();
  EXPECT_EQ(stop.finish(20s), 1) << stop.output() << d.log();
  EXPECT_NE(stop.output().find("permission denied"), std::string::npos) << stop.output();
  ASSERT_TRUE(d.wait_started("extra")) << d.log();
  EXPECT_EQ(app_status(control, "extra")["state"], "running");

  // Every lookup was made, none of them on the loop's thread.
  const std::string main_thread = std::to_string(d.pid()) + " ";
  std::size_t lookups = 0;
  std::ifstream in(nss_log);
  for (std::string line; std::getline(in, line); ++lookups)
    EXPECT_NE(line.rfind(main_thread, 0), 0u) << "on the loop's thread: " << line;
  EXPECT_GE(lookups, 3u) << "getgrnam_r for the stop, getpwnam_r and getgrouplist for the reload";
}
