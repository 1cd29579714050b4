// Each app's liveness probe, run on the loop (SPEC "Probes").
//
// Contract: started(app) begins probing the app's current process: the
// first probe `initial_delay` after, then one every `interval` (counted
// from the start of the one before; a probe still running when the next is
// due is not doubled). ended(app) stops it: an in-flight probe is
// cancelled (an exec probe's process group killed) and gives no verdict.
// Each verdict goes to the Verdict callback with the pid it was about.
// HTTP and TCP probes go through sys/net_probes.hpp; exec probes are
// started like apps (the app's account, cwd and environment, a process
// group of their own) through the ProcessRunner, at most
// `max_exec_running` at once hbmond-wide: one waiting for its turn
// longer than its timeout has failed. An exec probe alive at its timeout
// is SIGKILLed with its group and has failed; exit 0 is alive. What an
// exec probe writes (stdout and stderr, through a pipe of its own for its
// run) is logged at debug level, tagged with the app's name, at most
// max_output_bytes a run.
#pragma once

#include "core/line_splitter.hpp"
#include "daemon/app.hpp"
#include "daemon/process_runner.hpp"
#include "sys/loop.hpp"
#include "sys/net_probes.hpp"

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace hbmon {

class Probes {
public:
  static constexpr std::size_t max_exec_running = 8;
  static constexpr std::size_t max_output_bytes = 8192;
  using Verdict = std::function<void(App &, pid_t pid, bool ok, std::string reason)>;

  Probes(Loop &loop, ProcessRunner &runner, Verdict verdict);
  Probes(const Probes &) = delete;
  Probes &operator=(const Probes &) = delete;
  ~Probes();

  void started(App &a); // a.pid is its new process
  void ended(App &a);   // its process is gone, or going
  // For a re-exec: when the app's next probe is due (one in flight is
  // asked again at once after it); nullopt when it is not probed.
  std::optional<Loop::TimePoint> next_due(const App &a) const;
  // Before the exec: end every probe in flight (exec probes are killed).
  void cancel_all();
  // After it: probe the app's process again from `next` on.
  void resumed(App &a, Loop::TimePoint next);
  std::size_t exec_running() const { return exec_running_; }

private:
  struct Slot {
    pid_t pid = 0;        // the process probed
    Loop::Timer next;     // the next probe
    Loop::Timer deadline; // an exec probe's timeout (queued or running)
    std::optional<NetProbes::Id> net;
    pid_t exec = 0;         // a running exec probe
    bool queued = false;    // waiting for an exec slot
    bool timed_out = false; // its exec probe was killed at the timeout
    UniqueFd output;        // the read end of a running exec probe's pipe
    Loop::Watch output_watch;
    LineSplitter lines{512};
    std::size_t output_bytes = 0;
  };
  void read_output(App &a, bool to_the_end);
  void due(App &a);
  void run_exec(App &a);
  void exec_done(App &a, const ExitStatus &st);
  void give(App &a, bool ok, std::string reason);
  void next_exec();

  Loop &loop_;
  ProcessRunner &runner_;
  Verdict verdict_;
  NetProbes net_;
  std::unordered_map<App *, Slot> slots_;
  std::deque<App *> exec_queue_;
  std::size_t exec_running_ = 0;
};

} // namespace hbmon
