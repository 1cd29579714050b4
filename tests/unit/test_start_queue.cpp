// The start scheduler on a fake clock: order, slices, the kill guard.
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
  q.push(1, Kind::start, t0);
  q.push(2, Kind::start, t0);
  q.push(1, Kind::restart, t0 + 1ms); // keeps its place, takes the newer kind
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
  q.push(1, Kind::start, t0);
  q.push(2, Kind::start, t0);
  q.remove(1);
  EXPECT_FALSE(q.contains(1));
  q.begin_slice(t0);
  EXPECT_EQ(next_key(q, t0), 2);
  EXPECT_FALSE(q.next(t0));
}

TEST(StartQueue, ASliceEndsTheTurnAndTheNextTurnGoesOn) {
  Queue q;
  for (int k = 0; k < 5; ++k)
    q.push(k, Kind::start, t0);
  q.begin_slice(t0);
  EXPECT_EQ(next_key(q, t0), 0);
  EXPECT_EQ(next_key(q, t0 + 1ms), 1);
  EXPECT_FALSE(q.next(t0 + 2ms)) << "the 2 ms slice is used up";
  EXPECT_FALSE(q.held_for_kill()) << "nothing to wait for: come back at once";
  q.begin_slice(t0 + 3ms);
  EXPECT_EQ(next_key(q, t0 + 3ms), 2);
}

TEST(StartQueue, NoStartRightBeforeAKillFallsDue) {
  Queue q;
  q.push(1, Kind::restart, t0);
  q.set_kill_deadline(7, t0 + 9ms); // within the 10 ms guard
  q.begin_slice(t0);
  EXPECT_FALSE(q.next(t0));
  EXPECT_TRUE(q.held_for_kill());
  q.set_kill_deadline(7, t0 + 20ms); // moved away: the start may run
  EXPECT_EQ(next_key(q, t0), 1);
  EXPECT_FALSE(q.held_for_kill());
}

TEST(StartQueue, AKillThatPassedOrWentNoLongerHoldsStarts) {
  Queue q;
  q.push(1, Kind::start, t0);
  q.set_kill_deadline(7, t0 + 5ms);
  q.begin_slice(t0);
  EXPECT_FALSE(q.next(t0));
  q.set_kill_deadline(7, std::nullopt); // killed (or a heartbeat came)
  EXPECT_EQ(next_key(q, t0 + 1ms), 1);
}

TEST(StartQueue, KillsCannotStarveAStartBeyondMaxDefer) {
  Queue q;
  q.push(1, Kind::restart, t0);
  // Kill after kill keeps falling due just ahead...
  q.set_kill_deadline(7, t0 + 99ms + 5ms);
  q.begin_slice(t0 + 99ms);
  EXPECT_FALSE(q.next(t0 + 99ms));
  // ...but after 100 ms of waiting the start runs anyway.
  q.begin_slice(t0 + 100ms);
  EXPECT_EQ(next_key(q, t0 + 100ms), 1);
}

TEST(StartQueue, TheEarliestKillDecides) {
  Queue q;
  q.push(1, Kind::start, t0);
  q.set_kill_deadline(7, t0 + 50ms);
  q.set_kill_deadline(8, t0 + 3ms);
  q.begin_slice(t0);
  EXPECT_FALSE(q.next(t0));
  q.set_kill_deadline(8, std::nullopt);
  EXPECT_EQ(next_key(q, t0), 1) << "the kill 50 ms away does not hold it";
}
