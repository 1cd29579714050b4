// A thread for the calls that may block: user database lookups (NSS may
// ask LDAP or SSSD, and wait) and reading and verifying a config. The loop
// never waits for it.
//
// Contract: post() queues a job; one thread runs the jobs one at a time, in
// the order posted, with every signal blocked (signals are the loop's, read
// from its signalfd). A job runs off the loop: it may use only what it owns
// (no ZeroMQ, no loop state, no spawns: sys/spawn.hpp's children are the
// loop thread's alone) and must not throw. What it returns, a completion, runs
// on the loop's thread (an eventfd in the loop says one is ready), in the
// order the jobs ran. Dropping the Worker waits for the job at hand; jobs
// not started and completions not run are dropped.
#pragma once

#include "sys/fd.hpp"
#include "sys/loop.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hbmon {

class Worker {
public:
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;

  explicit Worker(Loop &loop); // throws std::system_error
  Worker(const Worker &) = delete;
  Worker &operator=(const Worker &) = delete;
  ~Worker();

  void post(Job job);

private:
  void run();     // the thread
  void deliver(); // the loop thread

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::deque<Completion> done_;
  bool stop_ = false;
  UniqueFd ready_; // eventfd: completions are waiting
  Loop::Watch watch_;
  std::thread thread_; // last: it starts once everything it uses exists
};

} // namespace hbmon
