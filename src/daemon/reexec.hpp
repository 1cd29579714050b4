// Re-exec: hbmond replaces its own program with the binary at its path,
// keeping its pid, its apps and everything it knows of them (SPEC
// "Re-exec"; the state is core/handover.hpp).
//
// Contract: request() first runs `PATH --check-handover ARGS...` with the
// state hbmond would hand over on its stdin (written off the loop): the new
// binary checks the config and that it reads this state. The loop goes on
// meanwhile; a
// request made while one runs joins it. Only when the check exits 0 does
// hbmond write its state again (as it is then), clear FD_CLOEXEC on every
// fd the state names, run the before_exec hook and execve() `PATH ARGS...
// --handover FD` from the loop's thread, the one that started every app
// (their PR_SET_PDEATHSIG is tied to it). Anything that stops the exec (the
// check refuses or does not end within check_timeout, the execve fails) is
// given to every waiting Done with the reason (the check's own words), and
// hbmond goes on as before. After a successful execve nothing here runs
// again: the new program answers (`info` shows one more re-exec).
#pragma once

#include "core/handover.hpp"
#include "daemon/process_runner.hpp"
#include "sys/fd.hpp"
#include "sys/loop.hpp"
#include "sys/spawn.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace hbmon {

class Reexec {
public:
  static constexpr auto check_timeout = std::chrono::seconds(30);
  // What the check may say, at most (the end of it is kept).
  static constexpr std::size_t max_reason = 2048;

  struct Hooks {
    std::function<handover::State()> state; // hbmond's, as it is now
    // Write a state off the loop (handover::write), then call `done` with
    // the text on the loop.
    std::function<void(handover::State, std::function<void(std::string)> done)> write;
    std::function<void()> before_exec; // its last words (probes, systemd, log)
    std::function<void()> exec_failed; // it goes on after all
    std::function<std::variant<pid_t, std::string>(const SpawnRequest &,
                                                   ProcessRunner::ExitHandler)>
        launch;
  };
  // Why the exec did not happen (once it has, nothing here runs again).
  using Done = std::function<void(const std::string &error)>;

  Reexec(Loop &loop, std::string path, std::vector<std::string> args, Hooks hooks);
  Reexec(const Reexec &) = delete;
  Reexec &operator=(const Reexec &) = delete;

  void request(const std::string &trigger, Done done);
  // hbmond is stopping: a check under way is killed, and its re-exec
  // refused with `why`.
  void cancel(const std::string &why);
  bool running() const { return writing_ || checking_ > 0; }
  const std::string &path() const { return path_; }

private:
  void check(const std::string &trigger, const std::string &text);
  void checked(const ExitStatus &st);
  void exec();
  void finish(const std::string &error);

  Loop &loop_;
  std::string path_;
  std::vector<std::string> args_;
  Hooks hooks_;
  bool writing_ = false; // the state for the check is being written
  pid_t checking_ = 0;   // the check's pid while it runs
  UniqueFd output_;      // what it says
  Loop::Timer timeout_;
  std::string cancelled_; // why the check was killed, when it was
  std::vector<Done> waiting_;
};

// The state handed over by the hbmond before this one: read from `fd` (a
// memfd), which is closed. Throws handover::HandoverError.
handover::State read_handover(int fd);

} // namespace hbmon
