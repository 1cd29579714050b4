// The event loop: one thread, one epoll set; deadlines are its wait's
// timeout (epoll_pwait2, nanoseconds).
//
// Contract: fds are watched through RAII Watch handles and deadlines through
// RAII Timer handles; dropping a handle unregisters it, also from inside its
// own callback (a removed watch is never called again, not even for an
// event of the batch being dispatched; its callback is destroyed only after
// the batch). Before every wait the loop runs its prepare hooks;
// a hook that reports unfinished work (e.g. a ZeroMQ socket that still holds
// messages) makes the next wait non-blocking. Nothing here sleeps. An event
// costs an index into a table (no lookup by hash, no copy of its callback);
// a deadline costs no system call of its own.
#pragma once

#include "core/metrics.hpp"
#include "core/timer_queue.hpp"
#include "sys/fd.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

struct epoll_event;

namespace hbmon {

class Loop {
public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using FdCallback = std::function<void(std::uint32_t events)>;
  using TimerCallback = std::function<void()>;
  using PrepareHook = std::function<bool()>; // true: more work pending

  Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;
  ~Loop();

  // One registration in the loop (an fd watch or a timer): moving the
  // handle moves the registration, dropping or reset() ends it.
  class Handle {
  public:
    Handle() = default;
    Handle(Handle &&o) noexcept;
    Handle &operator=(Handle &&o) noexcept;
    ~Handle() { reset(); }
    void reset();
    explicit operator bool() const { return loop_ != nullptr; }

  protected:
    friend class Loop;
    using Drop = void (Loop::*)(std::uint64_t id);
    Handle(Loop *l, std::uint64_t id, Drop drop) : loop_(l), id_(id), drop_(drop) {}
    Loop *loop_ = nullptr;
    std::uint64_t id_ = 0;
    Drop drop_ = nullptr;
  };

  class Watch : public Handle {
    friend class Loop;
    using Handle::Handle;

  public:
    Watch() = default;
  };

  class Timer : public Handle {
    friend class Loop;
    using Handle::Handle;

  public:
    Timer() = default;
    void arm(TimePoint when);
    void disarm();
    bool armed() const;
    std::optional<TimePoint> when() const; // nullopt: not armed
  };

  // Watch `fd` (not owned) for `events` (EPOLLIN, ...). Throws on failure.
  [[nodiscard]] Watch watch(int fd, std::uint32_t events, FdCallback cb);
  [[nodiscard]] Timer timer(TimerCallback cb);
  void add_prepare(PrepareHook hook);
  // The same, but run after every prepare hook: one that sends what the
  // turn produced (the journal's queue) sees what the others added too.
  void add_last_prepare(PrepareHook hook);
  // An exception from a callback (a watch's, a timer's, a prepare hook's)
  // goes to this handler and the loop goes on; without one it ends run().
  using ErrorHandler = std::function<void(const std::exception &)>;
  void on_error(ErrorHandler h) { on_error_ = std::move(h); }

  // Unique to this loop among all the process ever made (never 0): unlike
  // its address, never the same for a later loop.
  std::uint64_t serial() const { return serial_; }

  void run();
  void quit() { quit_ = true; }
  bool quitting() const { return quit_; }

  static TimePoint now();
  std::size_t watch_count() const { return live_watches_; }
  // Watch slots made so far, live or free to reuse: what the table holds.
  std::size_t watch_slots() const { return fd_slots_.size(); }
  std::size_t timer_count() const { return timer_cbs_.size(); }
  std::uint64_t iterations() const { return iterations_; }
  // hbmond_loop_lag_seconds: how late due deadlines ran. A re-exec hands it
  // over (restore_lag) so that it never goes down.
  const metrics::LagHistogram &lag() const { return lag_; }
  void restore_lag(const metrics::LagHistogram &h) { lag_ = h; }

private:
  // A watch's slot; its id is (generation << 32) | slot index, so an event
  // queued for a slot since reused is told apart.
  struct FdEntry {
    int fd = -1;
    std::uint32_t generation = 0;
    bool live = false;
    FdCallback cb;
  };
  void unwatch(std::uint64_t id);
  FdEntry *entry(std::uint64_t id);
  void free_slot(std::uint32_t slot);
  void arm_timer(std::uint64_t id, TimePoint when);
  void disarm_timer(std::uint64_t id);
  void drop_timer(std::uint64_t id);
  int wait(epoll_event *events, int max, bool busy);
  void dispatch(const epoll_event *events, int n);
  void run_timers();
  template <typename F> bool guarded(F &&f);

  UniqueFd epfd_;
  std::uint64_t next_id_ = 1; // of timers
  // A deque: a watch added by a callback never moves the one running.
  std::deque<FdEntry> fd_slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> freed_in_batch_; // freed once the batch is done
  bool dispatching_ = false;
  std::size_t live_watches_ = 0;
  std::unordered_map<std::uint64_t, TimerCallback> timer_cbs_;
  TimerQueue timers_;
  std::uint64_t serial_;
  std::vector<PrepareHook> prepare_;
  std::vector<PrepareHook> last_prepare_;
  ErrorHandler on_error_;
  bool quit_ = false;
  bool have_pwait2_ = true;
  std::uint64_t iterations_ = 0;
  metrics::LagHistogram lag_;
};

} // namespace hbmon
