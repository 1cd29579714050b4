// Holds hbmond's next child at its very first instruction (ptrace), for
// tests of what hbmond does while a child has not exec'd yet.
#pragma once

#include "harness.hpp"

#include <atomic>
#include <future>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <thread>

namespace hbtest {

// Holds hbmond's next child at its very first instruction, before its exec:
// a thread of the test traces hbmond's loop thread (PTRACE_SEIZE, the
// tracer of children it makes: PTRACE_O_TRACE{FORK,VFORK,CLONE}), lets
// hbmond go on at once, and keeps the new child stopped until release()
// (or kill()). New threads of hbmond's are let go. `hbmond` may be a
// process that will exec hbmond (stopped before it, to hold a boot start).
// ptrace calls come from the thread that attached, so it does them all.
class ChildHolder {
public:
  // `pass`: children to let go before the one held (hbmond's first child
  // is its guardian).
  explicit ChildHolder(pid_t hbmond, int pass = 0)
      : thread_([this, hbmond, pass] { run(hbmond, pass); }), attached_(attached_p_.get_future()),
        child_(child_p_.get_future()) {}
  ~ChildHolder() {
    release();
    if (thread_.joinable())
      thread_.join();
  }
  bool attached() {
    return attached_.wait_for(10s) == std::future_status::ready && attached_.get();
  }
  // The child, once it is held (stopped); nullopt if none came.
  std::optional<pid_t> child(std::chrono::milliseconds timeout) {
    if (child_.wait_for(timeout) != std::future_status::ready)
      return std::nullopt;
    const pid_t pid = child_.get();
    return pid > 0 ? std::optional<pid_t>(pid) : std::nullopt;
  }
  void release() {
    if (!released_.exchange(true))
      go_p_.set_value();
  }
  // SIGKILL the held child instead, before its first step, and give its
  // death to hbmond: its tracer (this) takes the exit report first; only
  // then may hbmond wait for it. Returns once that is done.
  void kill() {
    kill_ = true;
    release();
    thread_.join();
  }

private:
  void run(pid_t hbmond, int pass) {
    const long options = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
    const bool ok = ::ptrace(PTRACE_SEIZE, hbmond, nullptr, options) == 0;
    attached_p_.set_value(ok);
    pid_t child = -1;
    // hbmond's stops until its next clone: pass on any signal, and detach
    // at the clone's event stop (hbmond runs free from there).
    while (ok) {
      int st = 0;
      if (::waitpid(hbmond, &st, __WALL) != hbmond || !WIFSTOPPED(st))
        break;
      const int event = st >> 16;
      if (event == PTRACE_EVENT_CLONE ||
          (pass > 0 && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK))) {
        // A thread of hbmond's (a clone whose exit signal is not SIGCHLD;
        // a child's is), or a child to pass: traced from its birth, it is
        // let go.
        if (event != PTRACE_EVENT_CLONE)
          --pass;
        unsigned long msg = 0;
        ::ptrace(PTRACE_GETEVENTMSG, hbmond, nullptr, &msg);
        const pid_t tid = static_cast<pid_t>(msg);
        int tst = 0;
        ::waitpid(tid, &tst, __WALL);
        ::ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
        ::ptrace(PTRACE_CONT, hbmond, nullptr, nullptr);
        continue;
      }
      if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
        unsigned long msg = 0;
        ::ptrace(PTRACE_GETEVENTMSG, hbmond, nullptr, &msg);
        child = static_cast<pid_t>(msg);
        ::ptrace(PTRACE_DETACH, hbmond, nullptr, nullptr);
        break;
      }
      const int sig = event == 0 ? WSTOPSIG(st) : 0;
      ::ptrace(PTRACE_CONT, hbmond, nullptr, reinterpret_cast<void *>(static_cast<long>(sig)));
    }
    // The child, traced from its birth, reports its first stop.
    int st = 0;
    if (child > 0 && (::waitpid(child, &st, __WALL) != child || !WIFSTOPPED(st)))
      child = -1;
    child_p_.set_value(child);
    go_p_.get_future().wait();
    if (child > 0 && kill_) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &st, __WALL);
    } else if (child > 0) {
      ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);
    }
  }

  std::promise<bool> attached_p_;
  std::promise<pid_t> child_p_;
  std::promise<void> go_p_;
  std::atomic<bool> released_{false};
  std::atomic<bool> kill_{false};
  std::thread thread_;
  std::future<bool> attached_;
  std::future<pid_t> child_;
};

// hbmonctl's exit status and what it printed on stdout and stderr.
inline std::pair<int, std::string> hbmonctl(const std::string &control, const std::string &args) {
  return shell(hbmonctl_path + " --control " + control + " " + args);
}

// Starts `app` without waiting (`hbmonctl start --no-block`) while `holder`
// is attached: its child, held before its exec; nullopt if none came.
inline std::optional<pid_t> start_held(ChildHolder &holder, const std::string &control,
                                       const std::string &app) {
  if (!holder.attached() || hbmonctl(control, "--timeout 3 start --no-block " + app).first != 0)
    return std::nullopt;
  return holder.child(10s);
}

} // namespace hbtest
