// The pipe that carries an app's stdout and stderr into hbmond's log.
//
// Contract: one pipe per app for its whole life (every run writes into the
// same one, strays included); the read end is non-blocking and read at most
// once per loop iteration, so a chatty app cannot starve the others; lines
// longer than max_line are split; binary junk is escaped by the logger.
#pragma once

#include "core/line_splitter.hpp"
#include "sys/fd.hpp"
#include "sys/loop.hpp"

#include <string>

namespace hbmon {

class OutputPipe {
public:
  static constexpr std::size_t max_line = 4096;

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

private:
  void on_readable();
  void emit(std::string_view line);

  std::string app_;
  UniqueFd rd_, wr_;
  LineSplitter splitter_{max_line};
  Loop::Watch watch_;
  std::uint64_t lines_ = 0;
  pid_t pid_ = 0;
};

} // namespace hbmon
