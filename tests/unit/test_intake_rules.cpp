// The rules of heartbeat intake on a fake clock: who may beat for an app
// (SenderCheck) and how often its refusals and beats are logged (LogLimit).
#include "core/log_limit.hpp"
#include "core/sender_check.hpp"

#include <gtest/gtest.h>
#include <map>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using hbmon::LogLimit;
using hbmon::SenderCheck;

namespace {
const Clock::time_point t0{std::chrono::seconds(1000)};

// A process tree: child -> parent.
struct Tree {
  std::map<pid_t, pid_t> parent;
  int walks = 0;
  bool operator()(pid_t pid, pid_t ancestor) {
    ++walks;
    for (int i = 0; i < 64 && pid > 1; ++i) {
      if (pid == ancestor)
        return true;
      auto it = parent.find(pid);
      if (it == parent.end())
        return false;
      pid = it->second;
    }
    return pid == ancestor;
  }
};
} // namespace

TEST(SenderCheck, TheAppItselfAndItsDescendantsOnly) {
  Tree tree{{{101, 100}, {102, 101}, {200, 1}}};
  SenderCheck<Clock::time_point> check(1s);
  auto is_desc = std::ref(tree);
  EXPECT_TRUE(check.accept(100, 100, t0, is_desc));
  EXPECT_TRUE(check.accept(100, 102, t0, is_desc)) << "a grandchild";
  EXPECT_FALSE(check.accept(100, 200, t0, is_desc)) << "a stranger";
  EXPECT_FALSE(check.accept(100, 1, t0, is_desc));
  EXPECT_FALSE(check.accept(0, 100, t0, is_desc)) << "no app process: nobody";
  EXPECT_FALSE(check.accept(100, 0, t0, is_desc)) << "no credentials: nobody";
}

TEST(SenderCheck, AFloodFromOneSenderCostsOneWalk) {
  Tree tree{{{101, 100}, {200, 1}}};
  SenderCheck<Clock::time_point> check(1s);
  auto is_desc = std::ref(tree);
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(check.accept(100, 101, t0, is_desc));
  EXPECT_EQ(tree.walks, 1);
  for (int i = 0; i < 1000; ++i)
    ASSERT_FALSE(check.accept(100, 200, t0 + 500ms, is_desc));
  EXPECT_EQ(tree.walks, 2);
}

TEST(SenderCheck, ARefusalIsRememberedForASecondOnly) {
  Tree tree{{{200, 1}}};
  SenderCheck<Clock::time_point> check(1s);
  auto is_desc = std::ref(tree);
  EXPECT_FALSE(check.accept(100, 200, t0, is_desc));
  EXPECT_FALSE(check.accept(100, 200, t0 + 999ms, is_desc));
  EXPECT_EQ(tree.walks, 1);
  tree.parent[200] = 100; // the pid was reused by a child of the app
  EXPECT_TRUE(check.accept(100, 200, t0 + 1s, is_desc));
  EXPECT_EQ(tree.walks, 2);
}

TEST(SenderCheck, ANewProcessForgetsWhoWasAccepted) {
  Tree tree{{{101, 100}}};
  SenderCheck<Clock::time_point> check(1s);
  auto is_desc = std::ref(tree);
  EXPECT_TRUE(check.accept(100, 101, t0, is_desc));
  check.reset(); // the app restarted as pid 300; 101 is no child of it
  EXPECT_FALSE(check.accept(300, 101, t0, is_desc));
}

TEST(LogLimit, FirstThenAtMostOnePerPeriodCountingTheRest) {
  LogLimit<Clock::time_point> limit(10s);
  EXPECT_EQ(limit.occurred(t0), 0u) << "the first is logged";
  for (int i = 1; i <= 12; ++i)
    EXPECT_FALSE(limit.occurred(t0 + i * 500ms)) << i;
  EXPECT_EQ(limit.occurred(t0 + 10s), 12u) << "the next line says how many were held back";
  EXPECT_FALSE(limit.occurred(t0 + 19s));
  EXPECT_EQ(limit.occurred(t0 + 20s), 1u);
  EXPECT_EQ(limit.occurred(t0 + 40s), 0u);
}
