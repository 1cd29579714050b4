// Reloads in a hostile world: too few file descriptors. The running apps
// must never pay for it.
#include "hostile.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

using namespace hbtest;
using nlohmann::json;

namespace {

// How many fds `pid` holds now.
std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto &e :
       fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

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

} // namespace

TEST_F(Hostile, AReloadShortOfFdsChangesNothingAndALaterOneApplies) {
  const std::string beat = R"("heartbeat": {"interval": 0.5})";
  Daemon d(config_of({app("keep", "--then beat --period 0.1", beat),
                      app("gone", "--then beat --period 0.1", beat)}),
           Daemon::Options{{}, {}, "info", ""});
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
