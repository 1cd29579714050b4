// The heartbeat message parser: any bytes in, a HeartbeatMsg out, never a
// throw; STATUS= made printable and bounded.
#include "core/heartbeat.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

static void PrintTo(const HeartbeatMsg &m, std::ostream *os) {
  *os << "{ready " << m.ready << ", trigger " << m.trigger << ", status "
      << (m.status ? ::testing::PrintToString(*m.status) : "none") << ", unknown " << m.unknown
      << "}";
}

namespace {

using namespace std::string_literals;
using ::testing::Optional;

HeartbeatMsg msg(bool ready, bool trigger, std::optional<std::string> status, unsigned unknown) {
  HeartbeatMsg m;
  m.ready = ready;
  m.trigger = trigger;
  m.status = std::move(status);
  m.unknown = unknown;
  return m;
}

// --- the vocabulary -----------------------------------------------------------

TEST(ParseHeartbeat, EmptyMessageIsAPlainHeartbeat) {
  EXPECT_EQ(parse_heartbeat(""), HeartbeatMsg{});
  EXPECT_EQ(parse_heartbeat("\n"), HeartbeatMsg{});
  EXPECT_EQ(parse_heartbeat("\n\n\n"), HeartbeatMsg{});
}

TEST(ParseHeartbeat, Ready) {
  EXPECT_EQ(parse_heartbeat("READY=1"), msg(true, false, {}, 0));
  EXPECT_EQ(parse_heartbeat("READY=1\n"), msg(true, false, {}, 0));
}

TEST(ParseHeartbeat, WatchdogOneIsJustAHeartbeat) {
  EXPECT_EQ(parse_heartbeat("WATCHDOG=1"), HeartbeatMsg{});
  EXPECT_EQ(parse_heartbeat("WATCHDOG=1\n"), HeartbeatMsg{});
}

TEST(ParseHeartbeat, WatchdogTrigger) {
  EXPECT_EQ(parse_heartbeat("WATCHDOG=trigger"), msg(false, true, {}, 0));
}

TEST(ParseHeartbeat, Status) {
  EXPECT_THAT(parse_heartbeat("STATUS=processing job 17").status, Optional("processing job 17"s));
  EXPECT_THAT(parse_heartbeat("STATUS=a=b=c").status, Optional("a=b=c"s));
  EXPECT_THAT(parse_heartbeat("STATUS=").status, Optional(""s)); // clears it
  EXPECT_THAT(parse_heartbeat("STATUS=  spaced  ").status, Optional("  spaced  "s));
  EXPECT_THAT(parse_heartbeat("STATUS=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80").status,
              Optional("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"s));
  EXPECT_EQ(parse_heartbeat("READY=1").status, std::nullopt);
}

TEST(ParseHeartbeat, SeveralLines) {
  EXPECT_EQ(parse_heartbeat("READY=1\nSTATUS=serving\nWATCHDOG=1\n"),
            msg(true, false, "serving", 0));
  EXPECT_EQ(parse_heartbeat("WATCHDOG=trigger\nSTATUS=stuck on lock\n"),
            msg(false, true, "stuck on lock", 0));
  // blank lines between are harmless; the last STATUS= wins
  EXPECT_EQ(parse_heartbeat("\nSTATUS=one\n\n\nSTATUS=two\nREADY=1"), msg(true, false, "two", 0));
}

TEST(ParseHeartbeat, UnknownKeysAreCounted) {
  EXPECT_EQ(parse_heartbeat("MAINPID=42"), msg(false, false, {}, 1));
  EXPECT_EQ(parse_heartbeat("FOO=1\nREADY=1\nBAR=2"), msg(true, false, {}, 2));
  // values outside the vocabulary, and keys are case-sensitive
  EXPECT_EQ(parse_heartbeat("READY=0\nREADY=yes\nWATCHDOG=0\nWATCHDOG=TRIGGER\nready=1\n=1"),
            msg(false, false, {}, 6));
  EXPECT_EQ(parse_heartbeat("status=lower"), msg(false, false, {}, 1));
}

TEST(ParseHeartbeat, LinesWithoutEqualsAreCounted) {
  EXPECT_EQ(parse_heartbeat("hello"), msg(false, false, {}, 1));
  EXPECT_EQ(parse_heartbeat("hello\nREADY=1\nworld\n"), msg(true, false, {}, 2));
  EXPECT_EQ(parse_heartbeat("READY\nWATCHDOG\nSTATUS"), msg(false, false, {}, 3));
}

// --- the notify protocol's vocabulary -------------------------------------------

HeartbeatMsg notify(std::string_view data) {
  return parse_heartbeat(data, HeartbeatProtocol::notify);
}

TEST(ParseNotify, OnlyWatchdogOneIsAHeartbeat) {
  EXPECT_TRUE(notify("WATCHDOG=1").beat);
  EXPECT_TRUE(notify("STATUS=x\nWATCHDOG=1\n").beat);
  for (std::string_view other : {"", "READY=1", "STATUS=busy", "WATCHDOG=0", "WATCHDOG=trigger",
                                 "STOPPING=1", "BARRIER=1", "garbage"})
    EXPECT_FALSE(notify(other).beat) << other;
  EXPECT_TRUE(notify("READY=1").ready);
  EXPECT_TRUE(notify("WATCHDOG=trigger").trigger);
}

TEST(ParseNotify, SystemdsOtherKeys) {
  using std::chrono::microseconds;
  const HeartbeatMsg m = notify("STOPPING=1\nRELOADING=1\nERRNO=2\nWATCHDOG_USEC=5000000\n"
                                "EXTEND_TIMEOUT_USEC=30000000\nMAINPID=1\nFDSTORE=1\nBARRIER=1\n"
                                "MONOTONIC_USEC=123\nFDNAME=x");
  EXPECT_TRUE(m.stopping);
  EXPECT_TRUE(m.reloading);
  EXPECT_THAT(m.error, Optional(2));
  EXPECT_THAT(m.watchdog_usec, Optional(microseconds(5000000)));
  EXPECT_THAT(m.extend_timeout, Optional(microseconds(30000000)));
  EXPECT_TRUE(m.mainpid);
  EXPECT_TRUE(m.fdstore);
  EXPECT_TRUE(m.barrier);
  EXPECT_FALSE(m.beat);
  EXPECT_EQ(m.unknown, 2u); // MONOTONIC_USEC=, FDNAME=: read by systemd, not needed here
}

TEST(ParseNotify, MalformedNumbersAreCountedNotTaken) {
  for (std::string_view bad :
       {"WATCHDOG_USEC=0", "WATCHDOG_USEC=-1", "WATCHDOG_USEC=1e6",
        "WATCHDOG_USEC=", "WATCHDOG_USEC=99999999999999999999999", "EXTEND_TIMEOUT_USEC=x",
        "ERRNO=-3", "ERRNO=9999999999", "ERRNO=2x"}) {
    const HeartbeatMsg m = notify(bad);
    EXPECT_EQ(m.unknown, 1u) << bad;
    EXPECT_FALSE(m.watchdog_usec || m.extend_timeout || m.error) << bad;
  }
  EXPECT_THAT(notify("EXTEND_TIMEOUT_USEC=0").extend_timeout,
              Optional(std::chrono::microseconds(0)));
}

TEST(ParseNotify, OverZeroMqTheNotifyOnlyKeysAreUnknown) {
  const HeartbeatMsg m = parse_heartbeat("STOPPING=1\nRELOADING=1\nERRNO=2\nBARRIER=1");
  EXPECT_TRUE(m.beat); // every ZeroMQ message is a heartbeat
  EXPECT_FALSE(m.stopping || m.reloading || m.error || m.barrier);
  EXPECT_EQ(m.unknown, 4u);
}

// --- printable ----------------------------------------------------------------

TEST(Printable, PlainTextAndValidUtf8Unchanged) {
  EXPECT_EQ(printable(""), "");
  EXPECT_EQ(printable("hello, world ~!@#$%^&*()"), "hello, world ~!@#$%^&*()");
  EXPECT_EQ(printable("tab\tkept"), "tab\tkept");
  EXPECT_EQ(printable("back\\slash"), "back\\slash");
  for (const char *s :
       {"\xc2\xa0", "\xc3\xa9", "\xdf\xbf", "\xe0\xa0\x80", "\xe2\x82\xac", "\xed\x9f\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"})
    EXPECT_EQ(printable(s), s) << printable(s);
}

TEST(Printable, ControlCharactersEscaped) {
  EXPECT_EQ(printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(printable("\r"), "\\x0d");
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(printable("bell\x07"), "bell\\x07");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("nul"s + '\0' + "byte"), "nul\\x00byte");
  // C1 controls (U+0080..U+009F) are control characters too: U+009B is CSI
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b31m");
  EXPECT_EQ(printable("\xc2\x80\xc2\x9f\xc2\xa0"), "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
}

TEST(Printable, InvalidUtf8Escaped) {
  struct Case {
    const char *in;
    const char *out;
  };
  const Case cases[] = {
      {"\xff", "\\xff"},
      {"\xfe", "\\xfe"},
      {"\x80", "\\x80"},                            // lone continuation byte
      {"caf\xc3", "caf\\xc3"},                      // cut short at the end
      {"\xc3(x", "\\xc3(x"},                        // lead byte without continuation
      {"\xe2\x82", "\\xe2\\x82"},                   // 3-byte sequence cut short
      {"\xc0\xaf", "\\xc0\\xaf"},                   // overlong '/'
      {"\xc1\xbf", "\\xc1\\xbf"},                   // overlong
      {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},          // overlong, 3 bytes
      {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},          // overlong, 3 bytes
      {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"}, // overlong, 4 bytes
      {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"}, // overlong, 4 bytes
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          // UTF-16 surrogate U+D800
      {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},          // UTF-16 surrogate U+DFFF
      {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, // U+110000, beyond Unicode
      {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},
      {"\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"}, // old 5-byte form
  };
  for (const Case &c : cases)
    EXPECT_EQ(printable(c.in), c.out) << "for " << printable(c.in);
}

TEST(ParseHeartbeat, StatusIsMadePrintable) {
  EXPECT_THAT(parse_heartbeat("STATUS=\x1b[2Jwiped\x07").status, Optional("\\x1b[2Jwiped\\x07"s));
  EXPECT_THAT(parse_heartbeat("STATUS=bad \xff\xfe bytes").status,
              Optional("bad \\xff\\xfe bytes"s));
  EXPECT_THAT(parse_heartbeat("STATUS=cr\r\nREADY=1").status, Optional("cr"s));
  EXPECT_THAT(parse_heartbeat("STATUS=half \xe2\x82").status, Optional("half \\xe2\\x82"s));
}

// --- STATUS length bound --------------------------------------------------------

std::string status_of(const std::string &value) {
  return parse_heartbeat("STATUS=" + value).status.value_or("<none>");
}

TEST(StatusBound, LongAsciiCutAtTheLimit) {
  const std::string a(max_status_chars, 'a');
  EXPECT_EQ(status_of(a), a);
  EXPECT_EQ(status_of(a + "b"), a);
  EXPECT_EQ(status_of(std::string(100000, 'x')), std::string(max_status_chars, 'x'));
}

TEST(StatusBound, MultiByteCharactersAreNeverSplit) {
  const std::string e = "\xc3\xa9", euro = "\xe2\x82\xac", smile = "\xf0\x9f\x98\x80";
  const std::size_t L = max_status_chars;
  // the character that does not fit is left out whole
  EXPECT_EQ(status_of(std::string(L - 1, 'a') + e), std::string(L - 1, 'a'));
  EXPECT_EQ(status_of(std::string(L - 2, 'a') + euro), std::string(L - 2, 'a'));
  EXPECT_EQ(status_of(std::string(L - 1, 'a') + euro), std::string(L - 1, 'a'));
  EXPECT_EQ(status_of(std::string(L - 3, 'a') + smile), std::string(L - 3, 'a'));
  EXPECT_EQ(status_of(std::string(L - 1, 'a') + smile), std::string(L - 1, 'a'));
  // the character that does fit is kept whole, even with more text behind it
  EXPECT_EQ(status_of(std::string(L - 2, 'a') + e + "b"), std::string(L - 2, 'a') + e);
  EXPECT_EQ(status_of(std::string(L - 3, 'a') + euro + "b"), std::string(L - 3, 'a') + euro);
  EXPECT_EQ(status_of(std::string(L - 4, 'a') + smile + smile), std::string(L - 4, 'a') + smile);
  // all multi-byte
  std::string many;
  for (int i = 0; i < 200; ++i)
    many += euro;
  std::string cut;
  while (cut.size() + euro.size() <= L)
    cut += euro;
  EXPECT_EQ(status_of(many), cut);
}

TEST(StatusBound, EscapesAreNeverSplit) {
  const std::size_t L = max_status_chars;
  // "\x01" becomes the four characters \x01: whole or not at all
  for (std::size_t room = 0; room < 4; ++room)
    EXPECT_EQ(status_of(std::string(L - room, 'a') + "\x01"), std::string(L - room, 'a'))
        << "room " << room;
  EXPECT_EQ(status_of(std::string(L - 4, 'a') + "\x01" + "b"), std::string(L - 4, 'a') + "\\x01");
  EXPECT_EQ(status_of(std::string(L - 5, 'a') + "\xff\xff"), std::string(L - 5, 'a') + "\\xff");
}

// --- junk ---------------------------------------------------------------------

// An independent model of the rules, for the fuzz tests below: decode code
// points strictly, escape byte by byte what is not a printable character,
// cut STATUS= at a unit boundary.

// Length of the well-formed UTF-8 sequence at s[i], decoded into cp; 0 if none.
std::size_t decode(std::string_view s, std::size_t i, char32_t &cp) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n;
  if (b < 0x80) {
    cp = b;
    return 1;
  } else if (b >> 5 == 0x6) {
    n = 2, cp = b & 0x1f;
  } else if (b >> 4 == 0xe) {
    n = 3, cp = b & 0x0f;
  } else if (b >> 3 == 0x1e) {
    n = 4, cp = b & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < n)
    return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c >> 6 != 0x2)
      return 0;
    cp = cp << 6 | (c & 0x3f);
  }
  static constexpr char32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < shortest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

bool is_control(char32_t cp) { return (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0); }

// printable() as a list of indivisible pieces.
std::vector<std::string> units(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = decode(s, i, cp);
    if (n != 0 && !is_control(cp)) {
      out.emplace_back(s.substr(i, n));
      i += n;
      continue;
    }
    static constexpr char hex[] = "0123456789abcdef";
    const auto b = static_cast<unsigned char>(s[i]);
    out.push_back({'\\', 'x', hex[b >> 4], hex[b & 0xf]});
    ++i;
  }
  return out;
}

std::string model_printable(std::string_view s) {
  std::string out;
  for (const std::string &u : units(s))
    out += u;
  return out;
}

HeartbeatMsg model_parse(std::string_view data) {
  HeartbeatMsg m;
  std::size_t begin = 0;
  while (begin <= data.size()) {
    std::size_t end = data.find('\n', begin);
    if (end == std::string_view::npos)
      end = data.size();
    std::string_view line = data.substr(begin, end - begin);
    begin = end + 1;
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    if (line.empty())
      continue;
    if (line == "READY=1")
      m.ready = true;
    else if (line == "WATCHDOG=trigger")
      m.trigger = true;
    else if (line.starts_with("STATUS=")) {
      std::string status;
      for (const std::string &u : units(line.substr(7))) {
        if (status.size() + u.size() > max_status_chars)
          break;
        status += u;
      }
      m.status = status;
    } else if (line != "WATCHDOG=1")
      ++m.unknown;
  }
  return m;
}

// Every byte string is printable() output only if it is well-formed UTF-8
// without control characters other than tab.
bool is_printable(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = decode(s, i, cp);
    if (n == 0 || is_control(cp))
      return false;
    i += n;
  }
  return true;
}

// A failing case, short enough to read.
std::string show(int i, std::string_view data) {
  return fmt::format("case {}: {}", i, model_printable(data.substr(0, 120)));
}

// Pieces that make for interesting messages, besides random bytes.
const std::vector<std::string> pieces = {"\n",
                                         "=",
                                         "STATUS=",
                                         "READY=1",
                                         "WATCHDOG=1",
                                         "WATCHDOG=trigger",
                                         "READY",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\xc3",
                                         "\xa9",
                                         "\xe2\x82",
                                         "\xf0\x9f",
                                         "\xed\xa0\x80",
                                         "\xe0\x80\xaf",
                                         "\xc0\xaf",
                                         "\xf4\x90\x80\x80",
                                         "\xc2\x9b",
                                         "\x1b",
                                         std::string(1, '\0'),
                                         "\x7f",
                                         "\t",
                                         "\\x1b",
                                         "\xff",
                                         std::string(60, 'a'),
                                         std::string(250, 'b'),
                                         "\r\n"};

class Junk : public ::testing::Test {
protected:
  std::mt19937 rng{20240601}; // fixed: the same strings on every run

  std::string random_bytes(std::size_t max_len) {
    std::string s(std::uniform_int_distribution<std::size_t>(0, max_len)(rng), '\0');
    std::uniform_int_distribution<int> byte(0, 255);
    for (char &c : s)
      c = static_cast<char>(byte(rng));
    return s;
  }

  std::string random_message() {
    std::string s;
    const int n = std::uniform_int_distribution<int>(0, 40)(rng);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::uniform_int_distribution<int> coin(0, 3);
    for (int i = 0; i < n; ++i)
      s += coin(rng) == 0 ? random_bytes(8) : pieces[pick(rng)];
    return s;
  }
};

TEST_F(Junk, RandomBytesNeverHurt) {
  for (int i = 0; i < 3000; ++i) {
    const std::string data = random_bytes(i % 50 == 0 ? 2 * max_heartbeat_bytes : 300);
    const HeartbeatMsg m = parse_heartbeat(data);
    ASSERT_EQ(m, model_parse(data)) << show(i, data);
    if (m.status) {
      EXPECT_LE(m.status->size(), max_status_chars);
      EXPECT_TRUE(is_printable(*m.status)) << show(i, data);
    }
    ASSERT_TRUE(printable(data) == model_printable(data)) << show(i, data);
  }
}

TEST_F(Junk, StructuredJunkNeverHurts) {
  for (int i = 0; i < 5000; ++i) {
    const std::string data = random_message();
    const HeartbeatMsg m = parse_heartbeat(data);
    ASSERT_EQ(m, model_parse(data)) << show(i, data);
    if (m.status) {
      EXPECT_LE(m.status->size(), max_status_chars);
      EXPECT_TRUE(is_printable(*m.status)) << show(i, data);
    }
  }
}

TEST_F(Junk, PrintableOutputIsPrintableAndStable) {
  for (int i = 0; i < 3000; ++i) {
    const std::string data = i % 2 ? random_bytes(200) : random_message();
    const std::string p = printable(data);
    ASSERT_TRUE(is_printable(p)) << show(i, data);
    ASSERT_TRUE(printable(p) == p) << show(i, data);
  }
}

TEST(ParseHeartbeat, HugeMessage) {
  std::string data;
  for (int i = 0; i < 5000; ++i)
    data += "STATUS=" + std::string(i % 300, 'z') + "\nJUNK\n";
  const HeartbeatMsg m = parse_heartbeat(data);
  EXPECT_EQ(m.unknown, 5000u);
  EXPECT_THAT(m.status, Optional(std::string(4999 % 300, 'z')));
}

} // namespace
} // namespace hbmon
