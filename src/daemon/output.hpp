// The pipe that carries an app's stdout and stderr into hbmond's log.
//
// Contract: one pipe per app for its whole life (every run writes into the
// same one, strays included); the read end is non-blocking and read at most
// once per loop iteration, so a chatty app cannot starve the others; lines
// longer than max_line are split; binary junk is escaped by the logger.
// At most `limits` lines and bytes per 10 s reach the log
// (core/output_limit.hpp), so a chatty app cannot use up journald's rate
// limit for everyone; the rest are counted, and one warning says how many
// once the window ends or the run does.
#pragma once

#include "core/line_splitter.hpp"
#include "core/output_limit.hpp"
#include "sys/fd.hpp"
#include "sys/loop.hpp"

#include <optional>
#include <string>

namespace hbmon {

class OutputPipe {
public:
  static constexpr std::size_t max_line = 4096;
  using Limit = OutputLimit<Loop::TimePoint>;
  static constexpr Limit::Limits limits{1000, 1 << 20, std::chrono::seconds(10)};

  OutputPipe(Loop &loop, std::string app); // throws std::system_error
  OutputPipe(const OutputPipe &) = delete;
  OutputPipe &operator=(const OutputPipe &) = delete;
  ~OutputPipe();

  int write_fd() const { return wr_.get(); }
  // The app's process ended: log what it wrote, including a last line
  // without a newline, so the next run starts on a line of its own.
  void end_of_run();
  // The process whose lines these are now (0: between runs).
  void set_pid(pid_t pid) { pid_ = pid; }
  std::uint64_t lines() const { return lines_; }
  // Lines dropped by the limit, in all.
  std::uint64_t dropped() const { return limit_.dropped_total(); }

private:
  void on_readable();
  void emit(std::string_view line, Loop::TimePoint now);
  void report(std::optional<Loop::TimePoint> now);

  std::string app_;
  UniqueFd rd_, wr_;
  LineSplitter splitter_{max_line};
  Loop::Watch watch_;
  Limit limit_{limits};
  Loop::Timer report_;
  std::uint64_t lines_ = 0;
  pid_t pid_ = 0;
};

} // namespace hbmon
