// The admin group's membership cache on a fake clock (core/membership_cache.hpp).
#include "core/membership_cache.hpp"
#include "fake_clock.hpp"

#include <chrono>
#include <gtest/gtest.h>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using hbmon::MembershipCache;

namespace {
using hbtest::t0;
}

TEST(MembershipCache, KnowsNothingItWasNotTold) {
  MembershipCache cache(30s);
  EXPECT_FALSE(cache.find(1000, t0));
}

TEST(MembershipCache, RemembersBothAnswersForItsLifetimeOnly) {
  MembershipCache cache(30s);
  cache.store(1000, true, t0);
  cache.store(1001, false, t0);
  EXPECT_EQ(cache.find(1000, t0 + 29s), true);
  EXPECT_EQ(cache.find(1001, t0 + 29s), false) << "a refusal is remembered too";
  EXPECT_FALSE(cache.find(1000, t0 + 30s)) << "asked again once the lifetime is over";
  EXPECT_FALSE(cache.find(1001, t0 + 30s));
}

TEST(MembershipCache, ANewAnswerReplacesTheOldAndStartsItsOwnLifetime) {
  MembershipCache cache(30s);
  cache.store(1000, true, t0);
  cache.store(1000, false, t0 + 20s); // removed from the group meanwhile
  EXPECT_EQ(cache.find(1000, t0 + 45s), false);
  EXPECT_FALSE(cache.find(1000, t0 + 50s));
}

TEST(MembershipCache, HoldsOnlyTheUidsOfOneLifetime) {
  MembershipCache cache(30s);
  for (uid_t uid = 0; uid < 100; ++uid)
    cache.store(uid, uid % 2 == 0, t0);
  EXPECT_EQ(cache.size(), 100u);
  cache.store(5000, true, t0 + 30s);
  EXPECT_EQ(cache.size(), 1u) << "the expired ones went";
}
