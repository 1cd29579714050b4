// The metrics' pure half: histograms, the text format, every family.
#include "app_config.hpp"
#include "core/metrics.hpp"
#include "core/metrics_text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace hbmon::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The lines of `text` that begin with `prefix`.
std::vector<std::string> lines_of(const std::string &text, std::string_view prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix))
      out.push_back(line);
  return out;
}

TEST(Histogram, AValueGoesToTheFirstBucketWhoseBoundItDoesNotExceed) {
  GapHistogram h;
  for (double v : {0.0, 0.5, 0.51, 1.0, 1.25, 1.3, 2.0, 2.5, 5.0, 5.01, 1e9})
    h.observe(gap_bounds, v);
  EXPECT_EQ(h.counts, (std::array<std::uint64_t, 8>{2, 2, 1, 1, 1, 1, 1, 2}));
  EXPECT_EQ(h.count(), 11u);
  EXPECT_DOUBLE_EQ(h.sum, 0.0 + 0.5 + 0.51 + 1.0 + 1.25 + 1.3 + 2.0 + 2.5 + 5.0 + 5.01 + 1e9);
}

TEST(Writer, AFamilyHasItsHelpAndTypeThenItsSamples) {
  Writer w;
  w.family("x_total", "counter", "Things.\nWith a \\ in it.");
  w.sample("x_total", {}, std::uint64_t{7});
  w.sample("x_total", {{"app", "web"}, {"result", "exit-code"}}, std::uint64_t{0});
  w.sample("x_total", {{"app", "web"}}, 0.25);
  EXPECT_EQ(w.text(), "# HELP x_total Things.\\nWith a \\\\ in it.\n"
                      "# TYPE x_total counter\n"
                      "x_total 7\n"
                      "x_total{app=\"web\",result=\"exit-code\"} 0\n"
                      "x_total{app=\"web\"} 0.25\n");
}

TEST(Writer, LabelValuesAreEscaped) {
  Writer w;
  w.sample("x", {{"v", "a\"b\\c\nd"}}, std::uint64_t{1});
  EXPECT_EQ(w.text(), "x{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Writer, FloatsAreWrittenAsPrometheusReadsThem) {
  Writer w;
  w.sample("x", {}, 1.0);
  w.sample("x", {}, 1e-9);
  w.sample("x", {}, std::numeric_limits<double>::infinity());
  w.sample("x", {}, -std::numeric_limits<double>::infinity());
  w.sample("x", {}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(w.text(), "x 1\nx 1e-09\nx +Inf\nx -Inf\nx NaN\n");
}

TEST(Writer, AHistogramsBucketsAreCumulativeWithSumAndCount) {
  GapHistogram h;
  h.observe(gap_bounds, 0.9);
  h.observe(gap_bounds, 1.1);
  h.observe(gap_bounds, 7);
  Writer w;
  w.histogram("g", {{"app", "a"}}, gap_bounds, h);
  EXPECT_EQ(w.text(), "g_bucket{app=\"a\",le=\"0.5\"} 0\n"
                      "g_bucket{app=\"a\",le=\"1\"} 1\n"
                      "g_bucket{app=\"a\",le=\"1.25\"} 2\n"
                      "g_bucket{app=\"a\",le=\"1.5\"} 2\n"
                      "g_bucket{app=\"a\",le=\"2\"} 2\n"
                      "g_bucket{app=\"a\",le=\"3\"} 2\n"
                      "g_bucket{app=\"a\",le=\"5\"} 2\n"
                      "g_bucket{app=\"a\",le=\"+Inf\"} 3\n"
                      "g_sum{app=\"a\"} 9\n"
                      "g_count{app=\"a\"} 3\n");
}

class Render : public ::testing::Test {
protected:
  Watchdog::Memory web, db;
  AppCounters web_counters, db_counters;
  std::string render_both() {
    const std::array apps{AppSample{"web", web, web_counters}, AppSample{"db", db, db_counters}};
    return render({.version = "1.2.3", .reexecs = 4}, apps);
  }
};

TEST_F(Render, EveryFamilyOfTheSpecOnceWithItsType) {
  const std::string text = render_both();
  for (const char *family :
       {"hbmond_build_info gauge", "hbmond_reexecs_total counter", "hbmond_app_up gauge",
        "hbmond_app_state gauge", "hbmond_app_restarts_total counter",
        "hbmond_app_kills_total counter", "hbmond_app_heartbeats_total counter",
        "hbmond_app_heartbeats_refused_total counter",
        "hbmond_app_heartbeat_gap_intervals histogram"})
    EXPECT_EQ(lines_of(text, std::string("# TYPE ") + family).size(), 1u) << family;
  EXPECT_THAT(text, HasSubstr("\nhbmond_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_reexecs_total 4\n"));
}

TEST_F(Render, EachAppsStateIsOneOfItsSevenStateSeries) {
  web.state = State::running;
  db.state = State::backoff;
  const std::string text = render_both();
  EXPECT_EQ(lines_of(text, "hbmond_app_state{app=\"web\"").size(), 7u);
  EXPECT_EQ(lines_of(text, "hbmond_app_state{app=\"db\"").size(), 7u);
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_state{app=\"web\",state=\"running\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_state{app=\"web\",state=\"backoff\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_state{app=\"db\",state=\"backoff\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_up{app=\"web\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_up{app=\"db\"} 0\n"));
}

TEST_F(Render, CountersAreWrittenForEveryLabelValueAtZeroToo) {
  web.restarts_by_result[static_cast<std::size_t>(Result::exit_code)] = 3;
  web.kills[static_cast<std::size_t>(KillReason::heartbeat)] = 2;
  web.heartbeats = 99;
  web_counters.heartbeats_refused = 5;
  web_counters.messages_dropped = 1;
  const std::string text = render_both();
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_restarts_total{app=\"web\",result=\"exit-code\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_restarts_total{app=\"db\",result=\"exit-code\"} 0\n"));
  EXPECT_EQ(lines_of(text, "hbmond_app_restarts_total{app=\"db\"").size(),
            result_names.entries.size());
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_kills_total{app=\"web\",reason=\"heartbeat\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_kills_total{app=\"web\",reason=\"stop-timeout\"} 0\n"));
  EXPECT_EQ(lines_of(text, "hbmond_app_kills_total{app=\"db\"").size(), 4u);
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_heartbeats_total{app=\"web\"} 99\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_heartbeats_refused_total{app=\"web\"} 6\n"));
}

TEST_F(Render, TheGapHistogramOfEachApp) {
  web.gaps.observe(gap_bounds, 1.9);
  const std::string text = render_both();
  EXPECT_THAT(text,
              HasSubstr("\nhbmond_app_heartbeat_gap_intervals_bucket{app=\"web\",le=\"1.5\"} 0\n"
                        "hbmond_app_heartbeat_gap_intervals_bucket{app=\"web\",le=\"2\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_heartbeat_gap_intervals_count{app=\"db\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("\n\n")));
}

} // namespace
} // namespace hbmon::metrics
