#include "core/event.hpp"

#include <gtest/gtest.h>

using namespace hbmon;

TEST(Event, CarriesEveryDocumentedKey) {
  auto j = event_json({"web", "killed", State::stopping, 42, "killing pid 42: missed 2 heartbeats"},
                      7, 1.7e9, 123.25);
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["time"], 1.7e9);
  EXPECT_EQ(j["monotonic"], 123.25);
  EXPECT_EQ(j["app"], "web");
  EXPECT_EQ(j["event"], "killed");
  EXPECT_EQ(j["state"], "stopping");
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["message"], "killing pid 42: missed 2 heartbeats");
  EXPECT_EQ(j.size(), 9u);
}

TEST(Event, AboutHbmondItselfHasNoAppStateOrPid) {
  auto j = event_json({"", "reload", std::nullopt, 0, "reloaded"}, 1, 0, 0);
  EXPECT_TRUE(j["app"].is_null());
  EXPECT_TRUE(j["state"].is_null());
  EXPECT_TRUE(j["pid"].is_null());
  EXPECT_EQ(j["event"], "reload");
}

TEST(Event, TextIsOneLineAndSurvivesInvalidUtf8) {
  auto text =
      event_text(event_json({"web", "exited", State::backoff, 0, "bad \xff byte\nnext"}, 3, 1, 2));
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_NE(text.find("bad \xef\xbf\xbd byte\\nnext"), std::string::npos) << text;
  EXPECT_NE(text.find("\"pid\":null"), std::string::npos) << text;
}
