// The metrics' pure half: histograms, the text format, every family.
#include "app_config.hpp"
#include "core/metrics.hpp"
#include "core/metrics_text.hpp"
#include "sys/gzip.hpp"
#include "sys/loop.hpp"
#include "sys/proc.hpp"

#include <ctime>
#include <unistd.h>
#include <zlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace hbmon::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Use 20 ms of CPU time: enough ticks for /proc to show.
void spin_a_little() {
  const std::clock_t until = std::clock() + CLOCKS_PER_SEC / 50;
  volatile unsigned long sink = 0;
  while (std::clock() < until)
    sink = sink + 1;
}

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
  LagHistogram lag;
  std::string render_both() {
    const std::array apps{AppSample{"web", web, web_counters}, AppSample{"db", db, db_counters}};
    return render({.version = "1.2.3", .reexecs = 4, .loop_lag = lag}, apps);
  }
};

TEST_F(Render, EveryFamilyOfTheSpecOnceWithItsType) {
  const std::string text = render_both();
  for (const char *family :
       {"hbmond_build_info gauge", "hbmond_reexecs_total counter",
        "hbmond_loop_lag_seconds histogram", "hbmond_app_up gauge", "hbmond_app_state gauge",
        "hbmond_app_restarts_total counter", "hbmond_app_kills_total counter",
        "hbmond_app_heartbeats_total counter", "hbmond_app_heartbeats_refused_total counter",
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

TEST_F(Render, CpuAndMemoryOfEachAppsGroup) {
  AppSample a{"web", web, web_counters};
  a.cpu_ended = 2;
  a.cpu_seconds = 2.5;      // shown before
  add_usage(a, 0.25, 4096); // the live group: 2.25 in all, less than shown
  EXPECT_DOUBLE_EQ(a.cpu_seconds, 2.5);
  add_usage(a, 1, 8192);
  EXPECT_DOUBLE_EQ(a.cpu_seconds, 3);
  EXPECT_EQ(a.memory_bytes, 8192u);
  const std::array apps{a};
  const std::string text = render(DaemonSample{}, apps);
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_cpu_seconds_total{app=\"web\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_app_memory_bytes{app=\"web\"} 8192\n"));
}

// One pass over the real /proc: this test's own process group holds at
// least this process, with its CPU time and resident memory.
TEST(GroupUsage, FindsTheGroupsAskedForAndNoOthers) {
  spin_a_little();
  const pid_t mine = ::getpgrp();
  const auto found = group_usage({mine, 999'999'999});
  ASSERT_EQ(found.count(mine), 1u);
  EXPECT_GE(found.at(mine).processes, 1u);
  EXPECT_GT(found.at(mine).cpu_seconds, 0.0);
  EXPECT_GT(found.at(mine).rss_bytes, 100'000u);
  EXPECT_EQ(found.count(999'999'999), 0u);
  EXPECT_EQ(found.size(), 1u); // no group but those asked for
  EXPECT_TRUE(group_usage({}).empty());
}

// What a scrape that accepts gzip gets inflates back to the text.
TEST(Gzip, InflatesBackToTheTextAndIsSmaller) {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "hbmond_app_up{app=\"app" + std::to_string(i) + "\"} 1\n";
  const std::string gz = gzip(text);
  ASSERT_GE(gz.size(), 18u); // a header and a trailer at least
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_LT(gz.size(), text.size() / 5);
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string back(text.size() + 16, '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef *>(back.data());
  z.avail_out = static_cast<uInt>(back.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  back.resize(back.size() - z.avail_out);
  inflateEnd(&z);
  EXPECT_EQ(back, text);
  EXPECT_EQ(gzip("").size(), 20u); // an empty member: header and trailer
}

TEST_F(Render, TheLoopLagHistogram) {
  lag.observe(loop_lag_bounds, 0.003);
  lag.observe(loop_lag_bounds, 0.2);
  const std::string text = render_both();
  EXPECT_THAT(text, HasSubstr("\nhbmond_loop_lag_seconds_bucket{le=\"0.0025\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_loop_lag_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_loop_lag_seconds_bucket{le=\"0.25\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("\nhbmond_loop_lag_seconds_count 2\n"));
}

// The real loop: a deadline already 30 ms past when the loop first looks is
// run 30 ms late, and the histogram says so; a turn without a due deadline
// observes nothing.
TEST(LoopLag, ADeadlineRunLateIsObservedAsLateAsItWas) {
  Loop loop;
  int runs = 0;
  Loop::Timer late = loop.timer([&] { ++runs; });
  Loop::Timer stop = loop.timer([&] { loop.quit(); });
  late.arm(Loop::now() - std::chrono::milliseconds(30));
  stop.arm(Loop::now() + std::chrono::milliseconds(20));
  loop.run();
  ASSERT_EQ(runs, 1);
  const LagHistogram &h = loop.lag();
  ASSERT_EQ(h.count(), 2u); // the late one, then the stop
  EXPECT_GE(h.sum, 0.030);
  const auto slot = [](double bound) {
    return static_cast<std::size_t>(
        std::find(loop_lag_bounds.begin(), loop_lag_bounds.end(), bound) - loop_lag_bounds.begin());
  };
  // The late one sits above 25 ms; none below 0.5 ms but the stop, on time.
  std::uint64_t above_25ms = 0;
  for (std::size_t i = slot(0.025) + 1; i < h.counts.size(); ++i)
    above_25ms += h.counts[i];
  EXPECT_EQ(above_25ms, 1u);
}

} // namespace
} // namespace hbmon::metrics
