// Drop-ins (<config dir>/apps.d/*.json), as the daemon meets them: at start,
// at --check and at each reload; one another user could have written is
// refused, and the running config is kept.
#include "harness.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace hbtest;
using json = nlohmann::json;

namespace {

class Config : public ::testing::Test {};

void write_file(const std::string &path, const std::string &text, mode_t mode) {
  std::ofstream(path) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::string dropin_of(const std::string &name) {
  return R"({"apps": [)" + app_json(name, "--then beat --period 0.1", "") + "]}";
}

json reload(const std::string &control) { return ask(control, R"({"v":1,"cmd":"reload"})").reply; }

} // namespace

TEST_F(Config, DropinsAreReadAtEachReloadAndOneOthersMayWriteIsRefused) {
  Daemon d(config_of({app_json("main", "--then beat --period 0.1", "")}));
  const std::string control = "ipc://" + d.dir() / "control", dropins = d.dir() / "apps.d";
  const auto main = d.wait_started("main");
  ASSERT_TRUE(main) << d.log();

  ASSERT_EQ(::mkdir(dropins.c_str(), 0755), 0);
  write_file(dropins + "/10-web.json", dropin_of("web"), 0644);
  json r = reload(control);
  ASSERT_EQ(r["ok"], true) << r;
  EXPECT_EQ(r["added"], json({"web"})) << r;
  const auto web = d.wait_started("web");
  ASSERT_TRUE(web) << d.log();

  // Writable by its group: anyone in it could run anything as root.
  write_file(dropins + "/20-extra.json", dropin_of("extra"), 0664);
  r = reload(control);
  EXPECT_EQ(r["error"], "invalid-config") << r;
  EXPECT_NE(r.value("message", "")
                .find(dropins + "/20-extra.json: refused: it is writable by "
                                "its group"),
            std::string::npos)
      << r;
  ASSERT_TRUE(d.wait_for("reload failed, the running config is kept")) << d.log();
  EXPECT_EQ(app_status(control, "web")["pid"], *web);
  EXPECT_EQ(app_status(control, "main")["pid"], *main);
  EXPECT_TRUE(app_status(control, "extra").is_null());

  ASSERT_EQ(::chmod((dropins + "/20-extra.json").c_str(), 0644), 0);
  ASSERT_EQ(::unlink((dropins + "/10-web.json").c_str()), 0);
  r = reload(control);
  ASSERT_EQ(r["ok"], true) << r;
  EXPECT_EQ(r["added"], json({"extra"})) << r;
  EXPECT_EQ(r["removed"], json({"web"})) << r;
  EXPECT_EQ(r["unchanged"], json({"main"})) << r;
  EXPECT_TRUE(d.wait_started("extra")) << d.log();
}

TEST_F(Config, CheckNamesTheDropinsItReadAndTheOneItRefuses) {
  TempDir work;
  const std::string config = work / "apps.json", dropins = work / "apps.d";
  std::ofstream(config) << config_of({app_json("main", "--then beat", "")});
  ASSERT_EQ(::mkdir(dropins.c_str(), 0755), 0);
  write_file(dropins + "/web.json", dropin_of("web"), 0644);
  Daemon::Options o;
  o.args = {"--check", "--config", config};
  {
    Daemon d("", o);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    EXPECT_TRUE(d.wait_for(": valid, 2 apps (with 1 drop-in: " + dropins + "/web.json)", 1s))
        << d.log();
  }
  write_file(dropins + "/main.json", dropin_of("main"), 0644);
  Daemon d("", o);
  EXPECT_EQ(d.wait_exit(), 1) << d.log();
  EXPECT_TRUE(d.wait_for(dropins +
                             "/main.json: apps[0].name: duplicate name \"main\", first "
                             "used at apps[0].name in " +
                             config,
                         1s))
      << d.log();
}

TEST_F(Config, AnEnvFileIsReadAtEachStartAndOneOthersMayChangeIsAFailedStart) {
  TempDir work;
  ASSERT_EQ(::chmod(work.path().c_str(), 0755), 0);
  const std::string env = work / "app.env";
  write_file(env, "# secrets\nGREETING=\"hello world\"\n", 0600);
  const std::string app = R"({"name": "show", "command": ["/bin/sh", "-c",
      "echo greeting=$GREETING from=$FROM"], "heartbeat": null, "restart": "always",
      "restart_delay": 0.2, "env": {"FROM": "env", "GREETING": "from env"},
      "env_file": ")" + env +
                          R"("})";
  Daemon d(config_of({app}));
  // The file wins over `env`, and each start reads it again.
  ASSERT_TRUE(d.wait_for("[show] greeting=hello world from=env")) << d.log();
  write_file(env, "GREETING=changed\n", 0600);
  ASSERT_TRUE(d.wait_for("[show] greeting=changed from=env")) << d.log();
  // Writable by its group: a failed start with the reason, nothing run.
  write_file(env, "GREETING=group\n", 0660);
  ASSERT_TRUE(d.wait_for("show: failed to start: env_file " + env +
                         ": refused: it is writable by its group"))
      << d.log();
  ASSERT_EQ(::unlink(env.c_str()), 0);
  ASSERT_TRUE(d.wait_for("show: failed to start: env_file " + env + ": No such file or directory"))
      << d.log();
  EXPECT_EQ(d.count("greeting=group"), 0u) << d.log();
}
