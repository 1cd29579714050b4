// The pipes that carry an app's stdout and stderr into hbmond's log.
//
// Contract: two pipes per app for its whole life (every run writes into the
// same ones, strays included), of which hbmond holds only the read ends:
// each run gets write ends of its own (open_run(), reopened through
// /proc/self/fd), so a pipe ends when the last process of the runs
// writing to it does, and its read end is watched only while some
// process may write. stdout's lines logged at priority 6 (info)
// and stderr's at 3 (err), unless a line begins with "<N>" (0-7), which
// sets its priority and is stripped, as systemd's SyslogLevelPrefix=. The
// read ends are non-blocking and each read at most once per loop
// iteration, so a chatty app cannot starve the others; lines longer than
// max_line are split; binary junk is escaped by the logger.
// At most `limits` lines and bytes per 10 s, both pipes together, reach the
// log (core/output_limit.hpp), so a chatty app cannot use up journald's
// rate limit for everyone; the rest are counted, and one warning says how
// many once the window ends or the run does. The lines that reach the log
// are also kept in a bounded ring (core/log_ring.hpp), for `hbmonctl logs`.
#pragma once

#include "core/handover.hpp"
#include "core/line_splitter.hpp"
#include "core/log_ring.hpp"
#include "core/output_limit.hpp"
#include "sys/fd.hpp"
#include "sys/loop.hpp"

#include <array>
#include <optional>
#include <string>

namespace hbmon {

class OutputPipe {
public:
  static constexpr std::size_t max_line = 4096;
  using Limit = OutputLimit;
  static constexpr Limit::Limits limits{1000, 1 << 20, std::chrono::seconds(10)};
  static constexpr int stdout_priority = 6, stderr_priority = 3;

  OutputPipe(Loop &loop, std::string app); // throws std::system_error
  // The pipes of an hbmond before a re-exec, with the lines each had begun,
  // its ring and counters.
  OutputPipe(Loop &loop, std::string app, const handover::Output &was);
  handover::Output handover() const;
  OutputPipe(const OutputPipe &) = delete;
  OutputPipe &operator=(const OutputPipe &) = delete;
  ~OutputPipe();

  // Write ends of the two pipes (stdout, stderr) for a run about to start,
  // closed on exec: the caller closes them once the run has its copies.
  // Throws std::system_error (out of fds, no /proc).
  std::array<UniqueFd, 2> open_run();
  // The app's process ended: log what it wrote, including a last line
  // without a newline, so the next run starts on a line of its own.
  void end_of_run();
  // The process whose lines these are now (0: between runs).
  void set_pid(pid_t pid) { pid_ = pid; }
  std::uint64_t lines() const { return lines_; }
  // Lines dropped by the limit, in all.
  std::uint64_t dropped() const { return dropped_before_ + limit_.dropped_total(); }
  const LogRing &ring() const { return ring_; }

private:
  struct Stream {
    explicit Stream(int p) : priority(p) {}
    UniqueFd rd;
    LineSplitter splitter{max_line};
    Loop::Watch watch;
    int priority;
  };
  void watch(Stream &s);
  void on_readable(Stream &s);
  void emit(std::string_view line, int priority, Loop::TimePoint now);
  void report(std::optional<Loop::TimePoint> now);

  Loop &loop_;
  std::string app_;
  std::array<Stream, 2> streams_{Stream(stdout_priority), Stream(stderr_priority)};
  Limit limit_{limits};
  Loop::Timer report_;
  LogRing ring_;
  std::uint64_t lines_ = 0;
  std::uint64_t dropped_before_ = 0; // by the hbmond before a re-exec
  pid_t pid_ = 0;
};

} // namespace hbmon
