#include "core/line_splitter.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using hbmon::LineSplitter;

namespace {
std::vector<std::string> feed_all(LineSplitter &s, std::initializer_list<std::string_view> chunks,
                                  bool flush = false) {
  std::vector<std::string> out;
  auto emit = [&](std::string_view l) { out.emplace_back(l); };
  for (auto c : chunks)
    s.feed(c, emit);
  if (flush)
    s.flush(emit);
  return out;
}
} // namespace

TEST(LineSplitter, WholeLines) {
  LineSplitter s;
  EXPECT_EQ(feed_all(s, {"a\nbb\n"}), (std::vector<std::string>{"a", "bb"}));
}

TEST(LineSplitter, LinesAcrossChunks) {
  LineSplitter s;
  EXPECT_EQ(feed_all(s, {"he", "llo\nwor", "ld\n"}), (std::vector<std::string>{"hello", "world"}));
}

TEST(LineSplitter, PartialLineWaitsThenFlushes) {
  LineSplitter s;
  EXPECT_TRUE(feed_all(s, {"no newline"}).empty());
  EXPECT_EQ(s.buffered(), 10u);
  std::vector<std::string> out;
  s.flush([&](std::string_view l) { out.emplace_back(l); });
  EXPECT_EQ(out, (std::vector<std::string>{"no newline"}));
}

TEST(LineSplitter, CarriageReturnDropped) {
  LineSplitter s;
  EXPECT_EQ(feed_all(s, {"dos\r\n"}), (std::vector<std::string>{"dos"}));
}

TEST(LineSplitter, EmptyLinesKept) {
  LineSplitter s;
  EXPECT_EQ(feed_all(s, {"\n\nx\n"}), (std::vector<std::string>{"", "", "x"}));
}

TEST(LineSplitter, LongLineSplitAtTheBound) {
  LineSplitter s(4);
  EXPECT_EQ(feed_all(s, {"abcdefghij\n"}), (std::vector<std::string>{"abcd", "efgh", "ij"}));
}

TEST(LineSplitter, ExactlyTheBoundIsOneLine) {
  LineSplitter s(4);
  EXPECT_EQ(feed_all(s, {"abcd\n"}), (std::vector<std::string>{"abcd"}));
}

TEST(LineSplitter, BufferNeverExceedsTheBound) {
  LineSplitter s(4096);
  std::string ten_mib(10 << 20, 'x');
  std::size_t lines = 0;
  for (std::size_t off = 0; off < ten_mib.size(); off += 65536) {
    s.feed(std::string_view(ten_mib).substr(off, 65536), [&](std::string_view l) {
      EXPECT_EQ(l.size(), 4096u);
      ++lines;
    });
    ASSERT_LE(s.buffered(), 4096u);
  }
  // The last full piece waits for more bytes (or the end of the stream).
  EXPECT_EQ(lines, (10u << 20) / 4096 - 1);
  EXPECT_EQ(s.buffered(), 4096u);
}

TEST(LineSplitter, BinaryBytesPassThrough) {
  LineSplitter s;
  std::string junk("\x00\xff\x01", 3);
  auto out = feed_all(s, {junk + "\n"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], junk);
}
