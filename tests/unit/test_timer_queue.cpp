#include "core/timer_queue.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <random>

using namespace std::chrono_literals;
using TP = std::chrono::steady_clock::time_point;
using Q = hbmon::TimerQueue;

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

// Every operation against a plain ordered model: the earliest, each key's
// time and what comes due always agree, whatever was moved or cancelled.
TEST(TimerQueue, ArmedMovedAndCancelledInAnyOrderItAgreesWithAnOrderedModel) {
  Q q;
  std::map<Q::Key, TP> model;
  TP t0{};
  std::mt19937 rng(19);
  TP now = t0;
  for (int step = 0; step < 20000; ++step) {
    const Q::Key k = rng() % 50;
    switch (rng() % 4) {
    case 0:
    case 1: {
      const TP when = now + std::chrono::milliseconds(rng() % 1000);
      q.arm(k, when);
      model[k] = when;
      break;
    }
    case 2:
      q.cancel(k);
      model.erase(k);
      break;
    default: {
      now += std::chrono::milliseconds(rng() % 50);
      std::vector<std::pair<TP, Q::Key>> due;
      for (const auto &[key, when] : model)
        if (when <= now)
          due.emplace_back(when, key);
      std::sort(due.begin(), due.end());
      std::vector<Q::Key> keys;
      for (const auto &d : due) {
        keys.push_back(d.second);
        model.erase(d.second);
      }
      ASSERT_EQ(q.take_due(now), keys) << "step " << step;
    }
    }
    std::optional<TP> first;
    for (const auto &[key, when] : model)
      if (!first || when < *first)
        first = when;
    ASSERT_EQ(q.earliest(), first) << "step " << step;
    ASSERT_EQ(q.when(k), model.count(k) ? std::optional(model[k]) : std::nullopt);
    ASSERT_EQ(q.size(), model.size());
  }
}

// A heartbeat moves its app's deadline each time: a deadline moved a
// million times holds no more than a bounded number of entries.
TEST(TimerQueue, ADeadlineMovedAMillionTimesHoldsBoundedStorage) {
  Q q;
  TP t0{};
  for (Q::Key k = 1; k <= 10; ++k)
    q.arm(k, t0 + std::chrono::seconds(k)); // earlier: the moved one is never on top
  std::size_t most = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    q.arm(0, t0 + std::chrono::hours(1) + std::chrono::microseconds(i));
    most = std::max(most, q.entries());
  }
  EXPECT_LE(most, 2 * q.size() + 65);
  EXPECT_EQ(q.earliest(), t0 + std::chrono::seconds(1));
  const auto due = q.take_due(t0 + std::chrono::hours(2));
  EXPECT_EQ(due, (std::vector<Q::Key>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}));
}
