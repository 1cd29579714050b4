#include "core/timer_queue.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using TP = std::chrono::steady_clock::time_point;
using Q = hbmon::TimerQueue<TP>;

TEST(TimerQueue, EarliestFirst) {
  Q q;
  TP t0{};
  q.arm(1, t0 + 3s);
  q.arm(2, t0 + 1s);
  q.arm(3, t0 + 2s);
  EXPECT_EQ(q.earliest(), t0 + 1s);
  EXPECT_EQ(q.take_due(t0 + 2s), (std::vector<Q::Key>{2, 3}));
  EXPECT_EQ(q.earliest(), t0 + 3s);
  EXPECT_EQ(q.size(), 1u);
}

TEST(TimerQueue, ReArmMovesTheOneEntry) {
  Q q;
  TP t0{};
  q.arm(7, t0 + 1s);
  q.arm(7, t0 + 5s);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.take_due(t0 + 4s).empty());
  EXPECT_EQ(q.take_due(t0 + 5s), (std::vector<Q::Key>{7}));
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, CancelRemovesOnlyThatKey) {
  Q q;
  TP t0{};
  q.arm(1, t0 + 1s);
  q.arm(2, t0 + 1s); // same time, different keys: both kept
  q.cancel(1);
  q.cancel(99); // unknown: harmless
  EXPECT_FALSE(q.when(1));
  EXPECT_EQ(q.when(2), t0 + 1s);
  EXPECT_EQ(q.take_due(t0 + 1s), (std::vector<Q::Key>{2}));
}

TEST(TimerQueue, DueIsInclusiveAndNothingEarly) {
  Q q;
  TP t0{};
  q.arm(1, t0 + 1s);
  EXPECT_TRUE(q.take_due(t0 + 1s - 1ns).empty());
  EXPECT_EQ(q.take_due(t0 + 1s).size(), 1u);
}

TEST(TimerQueue, TenThousandKeysStayOrdered) {
  Q q;
  TP t0{};
  for (Q::Key k = 0; k < 10000; ++k)
    q.arm(k, t0 + std::chrono::milliseconds((k * 7919) % 10000));
  auto due = q.take_due(t0 + 10s);
  ASSERT_EQ(due.size(), 10000u);
  for (std::size_t i = 1; i < due.size(); ++i)
    EXPECT_LE((due[i - 1] * 7919) % 10000, (due[i] * 7919) % 10000);
}
