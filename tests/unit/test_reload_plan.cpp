// The reload diff, on plain settings: which apps are added, removed,
// changed (restarted) or left alone.
#include "app_config.hpp"
#include "core/reload_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hbmon {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Config config_of(std::vector<AppConfig> apps) {
  Config c;
  c.apps = std::move(apps);
  return c;
}

TEST(ReloadPlan, EveryNameLandsInExactlyOneList) {
  const AppConfig web = hbtest::app_config("web"), db = hbtest::app_config("db"),
                  old = hbtest::app_config("old");
  AppConfig web2 = web;
  web2.command.push_back("--verbose");
  const ReloadPlan p = plan_reload({{"web", &web}, {"db", &db}, {"old", &old}},
                                   config_of({hbtest::app_config("new"), web2, db}));
  EXPECT_THAT(p.added, ElementsAre("new"));
  EXPECT_THAT(p.removed, ElementsAre("old"));
  EXPECT_THAT(p.changed, ElementsAre("web"));
  EXPECT_THAT(p.unchanged, ElementsAre("db"));
}

TEST(ReloadPlan, AnyFieldCountsAsAChange) {
  const AppConfig base = hbtest::app_config("web");
  std::vector<AppConfig> variants(6, base);
  variants[0].env["X"] = "1";
  variants[1].heartbeat->interval *= 2;
  variants[2].enabled = false;
  variants[3].stop_timeout *= 2;
  variants[4].cwd = "/tmp";
  variants[5].restart = RestartPolicy::always;
  for (const AppConfig &v : variants) {
    const ReloadPlan p = plan_reload({{"web", &base}}, config_of({v}));
    EXPECT_THAT(p.changed, ElementsAre("web"));
    EXPECT_THAT(p.unchanged, IsEmpty());
  }
}

TEST(ReloadPlan, AnAppBeingReplacedIsJudgedByItsSuccessor) {
  const AppConfig successor = hbtest::app_config("web");
  // The same file reloaded twice: the pending replacement stands.
  EXPECT_THAT(plan_reload({{"web", &successor}}, config_of({successor})).unchanged,
              ElementsAre("web"));
  AppConfig other = successor;
  other.env["X"] = "2";
  EXPECT_THAT(plan_reload({{"web", &successor}}, config_of({other})).changed, ElementsAre("web"));
}

TEST(ReloadPlan, AnAppOnItsWayOutThatComesBackIsChanged) {
  const ReloadPlan p = plan_reload({{"web", nullptr}}, config_of({hbtest::app_config("web")}));
  EXPECT_THAT(p.changed, ElementsAre("web"));
  EXPECT_THAT(p.added, IsEmpty());
  EXPECT_THAT(plan_reload({{"web", nullptr}}, config_of({})).removed, ElementsAre("web"));
}

TEST(ReloadPlan, NothingSupervisedEverythingAdded) {
  const ReloadPlan p =
      plan_reload({}, config_of({hbtest::app_config("b"), hbtest::app_config("a")}));
  EXPECT_THAT(p.added, ElementsAre("b", "a")); // as the config lists them
  EXPECT_THAT(p.removed, IsEmpty());
}

} // namespace
} // namespace hbmon
