#include "protocol/text.hpp"

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

} // namespace

// One character or one escape at a time; stop before the first one that
// would take the output past the limit.
std::string printable(std::string_view s, const PrintableOptions &options) {
  const std::size_t limit = options.limit;
  std::string out;
  out.reserve(std::min(s.size(), limit));
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_len(s, i);
    const bool kept = b == '\t' || (b == '\n' && options.keep_newlines);
    // C0 controls and DEL (but for those kept), and the C1 controls U+0080..U+009F
    const bool control = (n == 1 && (b < 0x20 || b == 0x7f) && !kept) ||
                         (n == 2 && b == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0);
    if (n == 0 || control) {
      if (options.escape == Escape::hex) {
        if (limit - out.size() < 4)
          break;
        out += fmt::format("\\x{:02x}", b);
        ++i;
      } else {
        if (limit - out.size() < 1)
          break;
        out += '?';
        i += std::max<std::size_t>(n, 1); // one '?' for a whole C1 character
      }
    } else {
      if (limit - out.size() < n)
        break;
      if (b == '\t' && options.tab_as_space)
        out += ' ';
      else
        out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

} // namespace hbmon
