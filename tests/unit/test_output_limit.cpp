// One app's output limit on a fake clock: lines and bytes per window,
// drops counted and each reported once (core/output_limit.hpp).
#include "core/output_limit.hpp"
#include "fake_clock.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Limit = hbmon::OutputLimit;

namespace {
using hbtest::t0;
}

TEST(OutputLimit, LinesBeyondTheLimitAreDroppedUntilTheWindowEnds) {
  Limit limit({1000, 1 << 20, 10s});
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(limit.admit(10, t0 + i * 1ms)) << i;
  for (int i = 0; i < 500; ++i)
    EXPECT_FALSE(limit.admit(10, t0 + 1s + i * 1ms));
  EXPECT_EQ(limit.dropped_total(), 500u);
  EXPECT_FALSE(limit.admit(10, t0 + 10s - 1ms)) << "still the same window";
  EXPECT_TRUE(limit.admit(10, t0 + 10s)) << "a new window";
  EXPECT_EQ(limit.dropped_total(), 501u);
}

TEST(OutputLimit, BytesCountToo) {
  Limit limit({1000, 10000, 10s});
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(limit.admit(4096, t0));
  EXPECT_FALSE(limit.admit(4096, t0)) << "12,288 bytes > 10,000";
  EXPECT_TRUE(limit.admit(1808, t0)) << "exactly up to the limit";
  EXPECT_FALSE(limit.admit(1, t0));
}

TEST(OutputLimit, DropsAreReportedOnceWhenTheWindowEnds) {
  Limit limit({2, 1 << 20, 10s});
  EXPECT_FALSE(limit.report_due()) << "nothing dropped, nothing to report";
  limit.admit(1, t0);
  limit.admit(1, t0 + 1s);
  for (int i = 0; i < 7; ++i)
    limit.admit(1, t0 + 2s);
  ASSERT_TRUE(limit.report_due());
  EXPECT_EQ(*limit.report_due(), t0 + 10s);
  EXPECT_EQ(limit.take_report(t0 + 9s), 0u) << "the burst goes on";
  EXPECT_EQ(limit.take_report(t0 + 10s), 7u);
  EXPECT_EQ(limit.take_report(t0 + 11s), 0u) << "once";
  EXPECT_FALSE(limit.report_due());
  EXPECT_EQ(limit.dropped_total(), 7u) << "the total stays";
}

TEST(OutputLimit, TheEndOfARunReportsAtOnce) {
  Limit limit({1, 1 << 20, 10s});
  limit.admit(1, t0);
  limit.admit(1, t0);
  limit.admit(1, t0);
  EXPECT_EQ(limit.take_report(std::nullopt), 2u);
  EXPECT_FALSE(limit.admit(1, t0 + 1s)) << "the window goes on";
  EXPECT_EQ(limit.take_report(t0 + 10s), 1u);
}

TEST(OutputLimit, AQuietAppIsNeverLimited) {
  Limit limit({1000, 1 << 20, 10s});
  for (int i = 0; i < 100000; ++i)
    ASSERT_TRUE(limit.admit(100, t0 + i * 20ms)) << i; // 50 lines a second, for 2,000 s
  EXPECT_EQ(limit.dropped_total(), 0u);
}
