// The rules of heartbeat intake on a fake clock: who may beat for an app
// (SenderCheck) and how often its refusals and beats are logged (LogLimit).
#include "core/log_limit.hpp"
#include "core/sender_check.hpp"
#include "fake_clock.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <optional>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using hbmon::LogLimit;
using hbmon::SenderCheck;

namespace {
using hbtest::t0;

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

// A sender check over a process tree it walks (and counts the walks of).
// Every pid has a process that started at tick 1, unless `start` says
// otherwise (nullopt: no process has that pid).
struct Judge {
  Tree tree;
  std::map<pid_t, std::optional<std::uint64_t>> start{};
  SenderCheck check{1s};
  bool accept(pid_t app, pid_t sender, Clock::time_point at) {
    const auto start_of = [this](pid_t pid) {
      auto it = start.find(pid);
      return it == start.end() ? std::optional<std::uint64_t>(1) : it->second;
    };
    return check.accept(
        app, sender, [at] { return at; }, start_of, std::ref(tree));
  }
};

TEST(SenderCheck, TheAppItselfAndItsDescendantsOnly) {
  Judge j{{{{101, 100}, {102, 101}, {200, 1}}}};
  EXPECT_TRUE(j.accept(100, 100, t0));
  EXPECT_TRUE(j.accept(100, 102, t0)) << "a grandchild";
  EXPECT_FALSE(j.accept(100, 200, t0)) << "a stranger";
  EXPECT_FALSE(j.accept(100, 1, t0));
  EXPECT_FALSE(j.accept(0, 100, t0)) << "no app process: nobody";
  EXPECT_FALSE(j.accept(100, 0, t0)) << "no credentials: nobody";
}

TEST(SenderCheck, AFloodFromOneSenderCostsOneWalk) {
  Judge j{{{{101, 100}, {200, 1}}}};
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(j.accept(100, 101, t0));
  EXPECT_EQ(j.tree.walks, 1);
  for (int i = 0; i < 1000; ++i)
    ASSERT_FALSE(j.accept(100, 200, t0 + 500ms));
  EXPECT_EQ(j.tree.walks, 2);
}

TEST(SenderCheck, ARefusalIsRememberedForASecondOnly) {
  Judge j{{{{200, 1}}}};
  EXPECT_FALSE(j.accept(100, 200, t0));
  EXPECT_FALSE(j.accept(100, 200, t0 + 999ms));
  EXPECT_EQ(j.tree.walks, 1);
  j.tree.parent[200] = 100; // the pid was reused by a child of the app
  EXPECT_TRUE(j.accept(100, 200, t0 + 1s));
  EXPECT_EQ(j.tree.walks, 2);
}

TEST(SenderCheck, ANewProcessForgetsWhoWasAccepted) {
  Judge j{{{{101, 100}}}};
  EXPECT_TRUE(j.accept(100, 101, t0));
  j.check.reset(); // the app restarted as pid 300; 101 is no child of it
  EXPECT_FALSE(j.accept(300, 101, t0));
}

TEST(SenderCheck, AStrangerThatGotAnAcceptedPidIsJudgedAfresh) {
  Judge j{{{{101, 100}}}};
  EXPECT_TRUE(j.accept(100, 101, t0));
  // 101 exits; an unrelated process is started with its pid.
  j.tree.parent[101] = 1;
  j.start[101] = 500;
  EXPECT_FALSE(j.accept(100, 101, t0)) << "a pid is not a process";
  EXPECT_EQ(j.tree.walks, 2);
}

TEST(SenderCheck, AConnectionWhoseProcessIsGoneIsRefused) {
  Judge j{{{{101, 100}}}};
  EXPECT_TRUE(j.accept(100, 101, t0));
  // 101 exits; a child of it that holds its connection sends on.
  j.start[101] = std::nullopt;
  j.tree.parent.erase(101);
  EXPECT_FALSE(j.accept(100, 101, t0));
}

TEST(SenderCheck, AnAcceptedProcessCostsNoWalkWhileItLives) {
  Judge j{{{{101, 100}}}};
  j.start[101] = 7;
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(j.accept(100, 101, t0));
  EXPECT_EQ(j.tree.walks, 1);
  j.start[101] = 8; // another descendant of the app got the pid
  EXPECT_TRUE(j.accept(100, 101, t0));
  EXPECT_EQ(j.tree.walks, 2);
}

TEST(SenderCheck, APidThatChangesHandsDuringTheWalkIsRefused) {
  Judge j{{{{101, 100}}}};
  int asked = 0;
  SenderCheck check{1s};
  // The stranger that had 101 when it was asked exits during the walk, and
  // a child of the app gets 101.
  const auto start_of = [&](pid_t) { return std::optional<std::uint64_t>(++asked); };
  EXPECT_FALSE(check.accept(
      100, 101, [] { return t0; }, start_of, std::ref(j.tree)));
}

TEST(LogLimit, FirstThenAtMostOnePerPeriodCountingTheRest) {
  LogLimit limit(10s);
  EXPECT_EQ(limit.occurred(t0), 0u) << "the first is logged";
  for (int i = 1; i <= 12; ++i)
    EXPECT_FALSE(limit.occurred(t0 + i * 500ms)) << i;
  EXPECT_EQ(limit.occurred(t0 + 10s), 12u) << "the next line says how many were held back";
  EXPECT_FALSE(limit.occurred(t0 + 19s));
  EXPECT_EQ(limit.occurred(t0 + 20s), 1u);
  EXPECT_EQ(limit.occurred(t0 + 40s), 0u);
}
