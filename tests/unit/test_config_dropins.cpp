// Drop-ins (the pure half): a main file and `{"apps": [...]}` files read
// after it make one config; every problem names the file it is in.
#include "core/config.hpp"
#include "fake_accounts.hpp"
#include "fake_directories.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace hbmon;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const hbtest::FakeAccounts accounts;
const hbtest::FakeDirectories directories;
const std::string main_path = "/etc/hbmond/apps.json";

std::string app(const std::string &name, const std::string &extra = "") {
  return R"({"name": ")" + name + R"(", "command": ["/bin/true"])" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

ConfigSource dropin(const std::string &file, const std::string &text) {
  return {"/etc/hbmond/apps.d/" + file, text};
}

Config parse(const std::string &main_text, const std::vector<ConfigSource> &dropins) {
  return parse_config(ConfigSource{main_path, main_text}, dropins, accounts, directories);
}

std::string error_of(const std::string &main_text, const std::vector<ConfigSource> &dropins) {
  try {
    parse(main_text, dropins);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(Dropins, AppsFollowTheMainFileInTheOrderGiven) {
  const Config cfg =
      parse(R"({"apps": [)" + app("main") + "]}",
            {dropin("10-b.json", R"({"apps": [)" + app("b1") + "," + app("b2") + "]}"),
             dropin("20-a.json", R"({"apps": [)" + app("a") + "]}"),
             dropin("30-empty.json", R"({"apps": []})")});
  std::vector<std::string> names;
  for (const auto &a : cfg.apps)
    names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"main", "b1", "b2", "a"}));
  EXPECT_EQ(cfg.dropins, (std::vector<std::string>{"/etc/hbmond/apps.d/10-b.json",
                                                   "/etc/hbmond/apps.d/20-a.json",
                                                   "/etc/hbmond/apps.d/30-empty.json"}));
  EXPECT_EQ(cfg.apps[3].heartbeat->endpoint, "ipc:///run/hbmond/a.hb");
}

TEST(Dropins, ANameDefinedTwiceNamesBothFiles) {
  const std::string e = error_of(R"({"apps": [)" + app("web") + "]}",
                                 {dropin("web.json", R"({"apps": [)" + app("web") + "]}")});
  EXPECT_THAT(e, HasSubstr("/etc/hbmond/apps.d/web.json: apps[0].name: duplicate name \"web\", "
                           "first used at apps[0].name in"));
  EXPECT_THAT(e, HasSubstr("/etc/hbmond/apps.json"));
  const std::string e2 =
      error_of(R"({"apps": []})", {dropin("a.json", R"({"apps": [)" + app("x") + "]}"),
                                   dropin("b.json", R"({"apps": [)" + app("x") + "]}")});
  EXPECT_THAT(e2, HasSubstr("/etc/hbmond/apps.d/b.json: apps[0].name: duplicate name \"x\", "
                            "first used at apps[0].name in /etc/hbmond/apps.d/a.json"));
}

TEST(Dropins, AnEndpointUsedTwiceNamesBothFiles) {
  const std::string ep = R"("heartbeat": {"endpoint": "ipc:///run/hbmond/shared.hb"})";
  const std::string e = error_of(R"({"apps": [)" + app("one", ep) + "]}",
                                 {dropin("two.json", R"({"apps": [)" + app("two", ep) + "]}")});
  EXPECT_THAT(e, HasSubstr("/etc/hbmond/apps.d/two.json: apps[0].heartbeat.endpoint: "
                           "\"ipc:///run/hbmond/shared.hb\" is already used by "
                           "apps[0].heartbeat.endpoint"));
}

TEST(Dropins, AProblemInADropinNamesTheDropin) {
  const std::string e =
      error_of(R"({"apps": [)" + app("ok") + "]}",
               {dropin("bad.json", R"({"apps": [)" + app("bad", R"("restart_delay": -1)") + "]}")});
  EXPECT_THAT(e, HasSubstr("/etc/hbmond/apps.d/bad.json: apps[0].restart_delay: "));
  EXPECT_THAT(e, Not(HasSubstr("/etc/hbmond/apps.json:")));
}

TEST(Dropins, ADropinHoldsAppsOnly) {
  EXPECT_THAT(
      error_of(R"({"apps": []})", {dropin("x.json", R"({"apps": [], "control": "ipc:///tmp/c"})")}),
      HasSubstr("/etc/hbmond/apps.d/x.json: control: belongs in the main config file; "
                "a drop-in holds only \"apps\""));
  EXPECT_THAT(error_of(R"({"apps": []})", {dropin("x.json", R"({"apps": [], "aps": 1})")}),
              HasSubstr("/etc/hbmond/apps.d/x.json: aps: unknown key; a drop-in holds only"));
  EXPECT_THAT(error_of(R"({"apps": []})", {dropin("x.json", R"([])")}),
              HasSubstr("/etc/hbmond/apps.d/x.json: a drop-in must be an object"));
  EXPECT_THAT(error_of(R"({"apps": []})", {dropin("x.json", R"({})")}),
              HasSubstr("/etc/hbmond/apps.d/x.json: apps: missing"));
  EXPECT_THAT(error_of(R"({"apps": []})", {dropin("x.json", "{\"apps\": [")}),
              HasSubstr("/etc/hbmond/apps.d/x.json:1:11: invalid JSON"));
}

TEST(Dropins, NoDropinsIsTheMainFileAlone) {
  const Config cfg = parse(R"({"apps": [)" + app("main") + "]}", {});
  EXPECT_EQ(cfg.apps.size(), 1u);
  EXPECT_TRUE(cfg.dropins.empty());
}

TEST(EnvFileKey, AnAbsolutePathKeptAsWritten) {
  const Config cfg =
      parse(R"({"apps": [)" + app("web", R"("env_file": "/etc/web.env")") + "]}", {});
  EXPECT_EQ(cfg.apps[0].env_file, "/etc/web.env");
  EXPECT_FALSE(parse(R"({"apps": [)" + app("web") + "]}", {}).apps[0].env_file);
  EXPECT_THAT(error_of(R"({"apps": [)" + app("web", R"("env_file": "web.env")") + "]}", {}),
              HasSubstr("apps[0].env_file: must be an absolute path"));
  EXPECT_THAT(error_of(R"({"apps": [)" + app("web", R"("env_file": 3)") + "]}", {}),
              HasSubstr("apps[0].env_file: must be a string"));
}
