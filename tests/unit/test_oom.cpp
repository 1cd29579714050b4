// Which app deaths the OOM killer caused, from the cgroup's oom_kill count
// (core/oom.hpp): the files' text and the attribution, without a kernel.
#include "core/oom.hpp"

#include <csignal>
#include <gtest/gtest.h>

using namespace hbmon;

namespace {

const ExitStatus sigkill = ExitStatus::with_signal(SIGKILL);

TEST(OomKills, TheOomKillLineOfMemoryEvents) {
  EXPECT_EQ(parse_oom_kills("low 0\nhigh 0\nmax 2\noom 3\noom_kill 3\noom_group_kill 0\n"), 3u);
  EXPECT_EQ(parse_oom_kills("oom_kill 18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(parse_oom_kills("oom_group_kill 4\noom 1\n"), std::nullopt) << "not oom_kill";
  EXPECT_EQ(parse_oom_kills(""), std::nullopt);
  EXPECT_EQ(parse_oom_kills("oom_kill x\n"), std::nullopt);
  EXPECT_EQ(parse_oom_kills("oom_kill 3x\n"), std::nullopt);
}

TEST(OomKills, TheCgroupV2LineOfProcSelfCgroup) {
  EXPECT_EQ(cgroup_v2_path("0::/system.slice/hbmond.service\n"), "/system.slice/hbmond.service");
  // hybrid: v1 hierarchies first
  EXPECT_EQ(cgroup_v2_path("12:memory:/system.slice/hbmond.service\n1:name=systemd:/x\n0::/y\n"),
            "/y");
  EXPECT_EQ(cgroup_v2_path("1:name=systemd:/x\n"), std::nullopt) << "v1 only";
  EXPECT_EQ(cgroup_v2_path("0::\n"), std::nullopt);
}

TEST(OomKills, OnlyASigkillIsWorthReadingTheCounterFor) {
  OomLedger l(0);
  EXPECT_TRUE(l.suspect(sigkill));
  EXPECT_FALSE(l.suspect(ExitStatus::with_signal(SIGTERM)));
  EXPECT_FALSE(l.suspect(ExitStatus::with_code(137)));
  EXPECT_FALSE(OomLedger(std::nullopt).suspect(sigkill)) << "no counter: never";
}

TEST(OomKills, ADeathAsTheCountRoseIsTheOomKillers) {
  OomLedger l(5); // kills before hbmond started are not its apps'
  EXPECT_FALSE(l.attribute(5)) << "SIGKILL from someone else";
  EXPECT_TRUE(l.attribute(6));
  EXPECT_FALSE(l.attribute(6)) << "that kill is counted once";
  EXPECT_FALSE(l.attribute(std::nullopt)) << "unreadable now: not said";
}

TEST(OomKills, TwoAppsKilledTogetherAreBothTheOomKillers) {
  OomLedger l(0);
  EXPECT_TRUE(l.attribute(2));
  EXPECT_TRUE(l.attribute(2));
  EXPECT_FALSE(l.attribute(2));
}

TEST(OomKills, ACounterThatWentBackStartsAgainFromThere) {
  OomLedger l(9);
  EXPECT_FALSE(l.attribute(1));
  EXPECT_TRUE(l.attribute(2));
}

TEST(OomKills, WithoutACounterNothingIsAttributed) {
  OomLedger l(std::nullopt);
  EXPECT_FALSE(l.attribute(3));
}

TEST(OomKills, TheReasonAndResultSayIt) {
  ExitStatus st = sigkill;
  st.oom_killed = true;
  EXPECT_EQ(st.describe(), "killed by the OOM killer");
  EXPECT_EQ(result_of(st), Result::oom_kill);
  EXPECT_EQ(to_string(Result::oom_kill), "oom-kill");
}

} // namespace
