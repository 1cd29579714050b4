// printable() in the terminal form hbmonctl prints daemon-supplied text in
// (the \xNN form hbmond logs is tested in test_heartbeat.cpp).
#include "protocol/text.hpp"

#include <gtest/gtest.h>

using namespace hbmon;
using namespace std::string_literals;

namespace {
std::string terminal(std::string_view s, bool keep_newlines = false) {
  PrintableOptions o = for_terminal;
  o.keep_newlines = keep_newlines;
  return printable(s, o);
}
} // namespace

TEST(TerminalText, ControlCharactersBecomeQuestionMarks) {
  EXPECT_EQ(terminal("plain text, é €"), "plain text, é €");
  EXPECT_EQ(terminal("\x1b[2Jwiped\x07"), "?[2Jwiped?");
  EXPECT_EQ(terminal("del\x7f nul"s + '\0'), "del? nul?");
  EXPECT_EQ(terminal("cr\rlf\n"), "cr?lf?");
  // a C1 control (U+009B is CSI) is one character: one '?'
  EXPECT_EQ(terminal("\xc2\x9b"
                     "31m"),
            "?31m");
  EXPECT_EQ(terminal("\xc2\xa0"), "\xc2\xa0");
}

TEST(TerminalText, TabsBecomeSpacesNewlinesStayOnlyIfAsked) {
  EXPECT_EQ(terminal("a\tb"), "a b");
  EXPECT_EQ(terminal("one\ntwo"), "one?two");
  EXPECT_EQ(terminal("one\ntwo\x1b", true), "one\ntwo?");
}

TEST(TerminalText, InvalidUtf8BecomesQuestionMarks) {
  EXPECT_EQ(terminal("bad \xff\xfe bytes"), "bad ?? bytes");
  EXPECT_EQ(terminal("caf\xc3"), "caf?");
}

TEST(TerminalText, LimitCutsWholeCharacters) {
  PrintableOptions o = for_terminal;
  o.limit = 4;
  EXPECT_EQ(printable("abc\x1b"
                      "def",
                      o),
            "abc?");
  EXPECT_EQ(printable("abc\xc3\xa9", o), "abc");
}
