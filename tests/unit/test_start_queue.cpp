// The start scheduler on a fake clock: order and slices.
#include "core/start_queue.hpp"
#include "fake_clock.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Queue = hbmon::StartQueue<int>;
using Kind = Queue::Kind;

namespace {
using hbtest::t0;

std::optional<int> next_key(Queue &q, Clock::time_point now) {
  auto n = q.next(now);
  return n ? std::optional<int>(n->first) : std::nullopt;
}
} // namespace

TEST(StartQueue, FirstInFirstOutAndOneEntryPerApp) {
  Queue q;
  q.push(1, Kind::start);
  q.push(2, Kind::start);
  q.push(1, Kind::restart); // keeps its place, takes the newer kind
  EXPECT_EQ(q.size(), 2u);
  q.begin_slice(t0);
  auto first = q.next(t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first, 1);
  EXPECT_EQ(first->second, Kind::restart);
  EXPECT_EQ(next_key(q, t0), 2);
  EXPECT_FALSE(q.next(t0));
  EXPECT_TRUE(q.empty());
}

TEST(StartQueue, RemovedStartsNeverRun) {
  Queue q;
  q.push(1, Kind::start);
  q.push(2, Kind::start);
  q.remove(1);
  EXPECT_FALSE(q.contains(1));
  q.begin_slice(t0);
  EXPECT_EQ(next_key(q, t0), 2);
  EXPECT_FALSE(q.next(t0));
}

TEST(StartQueue, ASliceEndsTheTurnAndTheNextTurnGoesOn) {
  Queue q;
  for (int k = 0; k < 5; ++k)
    q.push(k, Kind::start);
  q.begin_slice(t0);
  EXPECT_EQ(next_key(q, t0), 0);
  EXPECT_EQ(next_key(q, t0 + 1ms), 1);
  EXPECT_FALSE(q.next(t0 + 2ms)) << "the 2 ms slice is used up";
  q.begin_slice(t0 + 3ms);
  EXPECT_EQ(next_key(q, t0 + 3ms), 2);
}
