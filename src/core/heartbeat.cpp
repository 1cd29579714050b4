#include "core/heartbeat.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace hbmon {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0. Strict,
// as Unicode's table 3-7: no overlong forms, no UTF-16 surrogates, nothing
// beyond U+10FFFF (JSON serializers such as nlohmann's refuse those).
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
  if (b < 0x80)
    return 1;
  else if (b >= 0xC2 && b <= 0xDF)
    n = 2;
  else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0)
      lo = 0xA0;
    else if (b == 0xED)
      hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0)
      lo = 0x90;
    else if (b == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if (s.size() - i < n)
    return 0;
  const auto second = static_cast<unsigned char>(s[i + 1]);
  if (second < lo || second > hi)
    return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
      return 0;
  return n;
}

// Append the printable form of s to out, one character or one \xNN escape
// at a time, and stop before the first one that would take out past `limit`
// bytes: a cut never splits a UTF-8 sequence or an escape.
void append_printable(std::string &out, std::string_view s, std::size_t limit) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_len(s, i);
    // C0 controls and DEL (tab is fine), and the C1 controls U+0080..U+009F
    const bool control = (n == 1 && (b < 0x20 || b == 0x7f) && b != '\t') ||
                         (n == 2 && b == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0);
    if (n == 0 || control) {
      if (limit - out.size() < 4)
        return;
      out += fmt::format("\\x{:02x}", b);
      ++i;
    } else {
      if (limit - out.size() < n)
        return;
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

} // namespace

std::string printable(std::string_view s, std::size_t limit) {
  std::string out;
  out.reserve(std::min(s.size(), limit));
  append_printable(out, s, limit);
  return out;
}

HeartbeatMsg parse_heartbeat(std::string_view data) {
  HeartbeatMsg m;
  while (!data.empty()) {
    auto nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    if (!line.empty() && line.back() == '\r') // CRLF senders
      line.remove_suffix(1);
    data = nl == std::string_view::npos ? std::string_view{} : data.substr(nl + 1);
    if (line.empty())
      continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      ++m.unknown;
      continue;
    }
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "READY" && value == "1") {
      m.ready = true;
    } else if (key == "WATCHDOG" && value == "1") {
      // an explicit heartbeat: every message already is one
    } else if (key == "WATCHDOG" && value == "trigger") {
      m.trigger = true;
    } else if (key == "STATUS") {
      std::string text;
      append_printable(text, value, max_status_chars);
      m.status = std::move(text);
    } else {
      ++m.unknown;
    }
  }
  return m;
}

} // namespace hbmon
