// An app's ring of recent lines (core/log_ring.hpp): bounded in lines and
// bytes however much the app writes, numbered so a follower never sees a
// line twice; and the <N> priority prefix of systemd's SyslogLevelPrefix=.
#include "core/log_ring.hpp"

#include <gtest/gtest.h>
#include <string>

using hbmon::LogLine;
using hbmon::LogRing;
using hbmon::take_level_prefix;

namespace {
std::vector<std::string> texts(const std::vector<LogLine> &lines) {
  std::vector<std::string> out;
  for (const auto &l : lines)
    out.push_back(l.text);
  return out;
}
} // namespace

TEST(LogRing, KeepsTheNewestLinesAndNoMore) {
  LogRing ring(3, 100);
  EXPECT_TRUE(ring.last(10).empty());
  for (int i = 0; i < 10; ++i)
    ring.push(i, 6, "line " + std::to_string(i));
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(texts(ring.last(10)), (std::vector<std::string>{"line 7", "line 8", "line 9"}));
  EXPECT_EQ(texts(ring.last(2)), (std::vector<std::string>{"line 8", "line 9"}));
  EXPECT_TRUE(ring.last(0).empty());
  const auto last = ring.last(1);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].seq, 10u);
  EXPECT_EQ(last[0].time_us, 9);
  EXPECT_EQ(ring.next_seq(), 11u);
}

TEST(LogRing, AFloodCostsAtMostLinesTimesLineBytes) {
  LogRing ring; // 200 lines of 1 KiB
  const std::string huge(100000, 'x');
  for (int i = 0; i < 5000; ++i)
    ring.push(i, 6, huge);
  const auto all = ring.last(100000);
  ASSERT_EQ(all.size(), LogRing::default_lines);
  for (const auto &l : all)
    EXPECT_EQ(l.text.size(), LogRing::default_line_bytes);
}

TEST(LogRing, ALongLineIsCutBetweenCharacters) {
  LogRing ring(4, 4);
  ring.push(0, 6, "ab\xc3\xa9z"); // 5 bytes, cut after the whole é
  ring.push(0, 6, "abc\xc3\xa9"); // the cut at 4 falls inside 'é': it goes before it
  const auto got = ring.last(2);
  EXPECT_EQ(got[0].text, "ab\xc3\xa9");
  EXPECT_EQ(got[1].text, "abc");
}

TEST(LogRing, AFollowerGetsEachLineOnceAndSkipsWhatWasOverwritten) {
  LogRing ring(4, 100);
  for (int i = 0; i < 3; ++i)
    ring.push(0, 6, std::to_string(i));
  auto got = ring.since(0, 100);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"0", "1", "2"}));
  std::uint64_t cursor = got.back().seq;
  EXPECT_TRUE(ring.since(cursor, 100).empty());
  for (int i = 3; i < 10; ++i)
    ring.push(0, 6, std::to_string(i));
  // 3, 4 and 5 were overwritten before the follower came back.
  got = ring.since(cursor, 2);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"6", "7"}));
  got = ring.since(got.back().seq, 100);
  EXPECT_EQ(texts(got), (std::vector<std::string>{"8", "9"}));
}

TEST(LogRing, ALeadingLevelSetsThePriorityAndGoes) {
  std::string_view l = "<3>disk full";
  EXPECT_EQ(take_level_prefix(l, 6), 3);
  EXPECT_EQ(l, "disk full");
  l = "<0>";
  EXPECT_EQ(take_level_prefix(l, 6), 0);
  EXPECT_EQ(l, "");
  l = "<7>debug";
  EXPECT_EQ(take_level_prefix(l, 3), 7);
  // Anything else is text: as systemd, no facility, no other form.
  for (std::string_view text : {"<8>x", "<12>x", "<3 x", "3>x", " <3>x", "<>x", "<a>x", ""}) {
    l = text;
    EXPECT_EQ(take_level_prefix(l, 6), 6) << text;
    EXPECT_EQ(l, text);
  }
}

// A re-exec hands the ring over: a follower's last number means the same
// line in the next hbmond, and numbering goes on from there.
TEST(LogRing, AResumedRingGoesOnWhereTheOldOneWas) {
  LogRing old(4);
  for (int i = 0; i < 10; ++i)
    old.push(i, 6, std::to_string(i));
  LogRing next(4);
  next.resume(old.last(4), old.next_seq());
  EXPECT_EQ(next.last(10), old.last(10));
  EXPECT_EQ(next.since(7, 10), old.since(7, 10));
  EXPECT_EQ(next.next_seq(), old.next_seq());
  next.push(10, 6, "10");
  old.push(10, 6, "10");
  EXPECT_EQ(next.last(10), old.last(10));
  EXPECT_EQ(texts(next.since(8, 10)), (std::vector<std::string>{"8", "9", "10"}));

  // One that never wrapped, into a smaller ring: the newest are kept.
  LogRing small(2), young(8);
  for (int i = 0; i < 3; ++i)
    young.push(i, 6, std::to_string(i));
  small.resume(young.last(8), young.next_seq());
  EXPECT_EQ(texts(small.last(8)), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(small.next_seq(), 4u);
  // And an empty one stays empty with its number.
  LogRing empty(4);
  empty.resume({}, 1);
  EXPECT_TRUE(empty.last(4).empty());
  empty.push(0, 6, "a");
  EXPECT_EQ(empty.last(4).front().seq, 1u);
}
