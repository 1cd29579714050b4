// The environment an app starts with (core/app_env.hpp).
#include "core/app_env.hpp"

#include "app_config.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>

using namespace hbmon;
using namespace std::chrono_literals;

namespace {
AppConfig app() { return hbtest::app_config("web", 250ms, 2, 500ms); }

std::map<std::string, std::string> as_map(const AppEnv &e) {
  std::map<std::string, std::string> m;
  for (const auto &kv : e.env) {
    EXPECT_EQ(m.count(kv.substr(0, kv.find('='))), 0u) << "twice: " << kv;
    m[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  }
  return m;
}
} // namespace

TEST(AppEnv, TheAppsOwnHeartbeatSettings) {
  auto m = as_map(app_env(app(), {}));
  EXPECT_EQ(m["HBMON_APP"], "web");
  EXPECT_EQ(m["HBMON_ENDPOINT"], "ipc:///run/hbmond/web.hb");
  EXPECT_EQ(m["HBMON_INTERVAL"], "0.25");
  EXPECT_EQ(m["HBMON_INTERVAL_USEC"], "250000");
  auto c = app();
  c.heartbeat.reset();
  m = as_map(app_env(c, {}));
  EXPECT_EQ(m.count("HBMON_ENDPOINT"), 0u);
  EXPECT_EQ(m["HBMON_APP"], "web");
}

TEST(AppEnv, ANotifyProtocolAppGetsSystemdsVariablesForItsOwnSocket) {
  auto c = app();
  c.heartbeat->protocol = HeartbeatProtocol::notify;
  c.heartbeat->endpoint = "/run/hbmond/web.notify";
  // hbmond's own, from its service manager, never reach the app.
  auto m = as_map(app_env(
      c, {"NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=30000000", "WATCHDOG_PID=1"}));
  EXPECT_EQ(m["NOTIFY_SOCKET"], "/run/hbmond/web.notify");
  EXPECT_EQ(m["WATCHDOG_USEC"], "500000"); // 2 x the 250 ms interval
  EXPECT_EQ(m.count("WATCHDOG_PID"), 0u);  // the spawn's: the child's own pid
  EXPECT_EQ(m["HBMON_ENDPOINT"], "/run/hbmond/web.notify");
  // A ZeroMQ app gets none of them.
  m = as_map(app_env(app(), {"NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=30000000"}));
  EXPECT_EQ(m.count("NOTIFY_SOCKET"), 0u);
  EXPECT_EQ(m.count("WATCHDOG_USEC"), 0u);
}

TEST(AppEnv, NothingOfHbmondsServiceManagerOrOuterHbmond) {
  const std::vector<std::string> inherited = {"NOTIFY_SOCKET=/run/systemd/notify",
                                              "WATCHDOG_USEC=10000000",
                                              "WATCHDOG_PID=1",
                                              "LISTEN_FDS=3",
                                              "LISTEN_PID=1",
                                              "LISTEN_FDNAMES=x",
                                              "JOURNAL_STREAM=8:9",
                                              "HBMON_ENDPOINT=ipc:///outer.hb",
                                              "HBMON_EXTRA=x",
                                              "LANG=C.UTF-8",
                                              "NOTIFY_SOCKETS=kept"};
  auto m = as_map(app_env(app(), inherited));
  for (auto key : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                   "LISTEN_FDNAMES", "JOURNAL_STREAM", "HBMON_EXTRA"})
    EXPECT_EQ(m.count(key), 0u) << key;
  EXPECT_EQ(m["HBMON_ENDPOINT"], "ipc:///run/hbmond/web.hb") << "its own, not the outer one";
  EXPECT_EQ(m["LANG"], "C.UTF-8");
  EXPECT_EQ(m["NOTIFY_SOCKETS"], "kept") << "only the exact names are stripped";
}

TEST(AppEnv, ItsOwnEnvWinsOverTheInheritedAndItsUserGetsUserLognameHome) {
  auto c = app();
  c.user = "1000";
  c.account = "ann"; // as verify() resolved uid 1000
  c.home = "/home/ann";
  c.env = {{"LANG", "de_DE.UTF-8"}, {"HOME", "/srv/web"}};
  auto m = as_map(app_env(c, {"LANG=C.UTF-8", "USER=root", "HOME=/root"}));
  EXPECT_EQ(m["LANG"], "de_DE.UTF-8");
  EXPECT_EQ(m["USER"], "ann") << "the account's name, also when the config gave a number";
  EXPECT_EQ(m["LOGNAME"], "ann");
  EXPECT_EQ(m["HOME"], "/srv/web") << "its env wins over the account's home";
}

TEST(AppEnv, PathFromTheResult) {
  EXPECT_EQ(app_env(app(), {}).path, default_path);
  EXPECT_EQ(app_env(app(), {"PATH=/opt/bin"}).path, "/opt/bin");
  auto c = app();
  c.env = {{"PATH", "/app/bin"}};
  auto e = app_env(c, {"PATH=/opt/bin"});
  EXPECT_EQ(e.path, "/app/bin");
  EXPECT_EQ(std::count(e.env.begin(), e.env.end(), "PATH=/app/bin"), 1);
  EXPECT_EQ(std::count(e.env.begin(), e.env.end(), "PATH=/opt/bin"), 0);
}
