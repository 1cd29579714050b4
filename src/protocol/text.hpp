// Text from apps and peers made safe to print: one policy against one threat,
// an app's bytes driving a terminal or forging lines in a log. hbmond escapes
// what it logs and sends; hbmonctl escapes what it prints, daemon-supplied
// text included.
//
// Contract: printable() accepts any bytes and never throws. Its output holds
// only well-formed UTF-8 without control characters (C0, DEL, C1), except a
// tab or a newline where the options keep them, and is at most `limit` bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hbmon {

enum class Escape {
  hex,          // each byte of a control character or invalid UTF-8 as \xNN (logs: reversible)
  question_mark // each control character or invalid byte as '?' (a terminal: short)
};

struct PrintableOptions {
  Escape escape = Escape::hex;
  bool tab_as_space = false;             // else a tab is kept
  bool keep_newlines = false;            // else a newline is escaped
  std::size_t limit = std::string::npos; // bytes; a cut never splits a character or an escape
};

// What hbmonctl prints of the daemon's words: '?' for control characters,
// tabs as spaces (they would break the table's columns).
inline constexpr PrintableOptions for_terminal{Escape::question_mark, true, false,
                                               std::string::npos};

// Replace control characters and invalid UTF-8 as `options` say; stop before
// the first character or escape that would go past `options.limit` bytes.
std::string printable(std::string_view s, const PrintableOptions &options = {});

} // namespace hbmon
