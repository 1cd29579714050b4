// The last lines an app wrote, kept in memory for `hbmonctl logs` when
// there is no journal to read them from.
//
// Contract: pure, no clock (the caller stamps each line). At most `lines`
// lines of at most `line_bytes` bytes each (a longer line is cut, not at
// the middle of a UTF-8 character), the oldest overwritten first, so an app
// that floods costs at most lines × line_bytes however much it writes.
// Every line gets the next sequence number (the first is 1); last(n) gives
// the newest n and since(seq, n) the first n after `seq`, oldest first, so
// a reader that follows keeps only the last number it saw: what was
// overwritten in between is skipped, never repeated. take_level_prefix()
// reads a line's own syslog priority, as systemd's SyslogLevelPrefix=.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

struct LogLine {
  std::uint64_t seq = 0;
  std::int64_t time_us = 0; // wall clock, µs since the epoch
  int priority = 6;         // syslog's 0-7
  std::string text;

  bool operator==(const LogLine &) const = default;
};

class LogRing {
public:
  static constexpr std::size_t default_lines = 200;
  static constexpr std::size_t default_line_bytes = 1024;

  explicit LogRing(std::size_t lines = default_lines, std::size_t line_bytes = default_line_bytes)
      : cap_(lines ? lines : 1), line_bytes_(line_bytes) {}

  void push(std::int64_t time_us, int priority, std::string_view text);
  // Hold `lines` (oldest first, as last() gave them) with their sequence
  // numbers, the next line to get `next`: the ring of an hbmond before a
  // re-exec, so that a reader's last number still means the same line.
  void resume(const std::vector<LogLine> &lines, std::uint64_t next);

  // The newest `n`, oldest first.
  std::vector<LogLine> last(std::size_t n) const;

  // At most `n` lines after sequence number `seq`, oldest first.
  std::vector<LogLine> since(std::uint64_t seq, std::size_t n) const;

  // The sequence number the next line will get.
  std::uint64_t next_seq() const { return next_; }
  std::size_t size() const { return lines_.size(); }
  std::size_t capacity() const { return cap_; }
  std::size_t line_bytes() const { return line_bytes_; }

private:
  std::uint64_t first() const { return next_ - lines_.size(); }
  std::vector<LogLine> range(std::uint64_t from, std::size_t n) const;

  std::size_t cap_, line_bytes_;
  std::vector<LogLine> lines_; // slot (seq - base_) % cap_
  std::uint64_t next_ = 1;
  std::uint64_t base_ = 1; // the number of the line in slot 0
};

// A leading "<N>" with N from 0 to 7: its priority, and the line without
// it; otherwise `fallback` and the line as it is.
int take_level_prefix(std::string_view &line, int fallback);

} // namespace hbmon
