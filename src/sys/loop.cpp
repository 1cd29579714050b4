#include "sys/loop.hpp"

#include <cerrno>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <system_error>

namespace hbmon {

namespace {
[[noreturn]] void throw_errno(const char *what) {
  throw std::system_error(errno, std::generic_category(), what);
}
} // namespace

Loop::Loop() {
  epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epfd_)
    throw_errno("epoll_create1");
  timerfd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timerfd_)
    throw_errno("timerfd_create");
  timer_watch_ = watch(timerfd_.get(), EPOLLIN, [this](std::uint32_t) {
    std::uint64_t expirations;
    while (::read(timerfd_.get(), &expirations, sizeof expirations) > 0) {
    }
    timerfd_at_.reset();
    timer_fired_ = true;
  });
}

Loop::~Loop() { timer_watch_.reset(); }

Loop::TimePoint Loop::now() { return Clock::now(); }

Loop::Watch Loop::watch(int fd, std::uint32_t events, FdCallback cb) {
  std::uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
    throw_errno("epoll_ctl(ADD)");
  fds_.emplace(id, FdEntry{fd, std::move(cb)});
  return Watch(this, id, &Loop::unwatch);
}

void Loop::unwatch(std::uint64_t id) {
  auto it = fds_.find(id);
  if (it == fds_.end())
    return;
  // The fd may already be closed by its owner; then the kernel dropped it.
  ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  fds_.erase(it);
}

Loop::Handle::Handle(Handle &&o) noexcept
    : loop_(std::exchange(o.loop_, nullptr)), id_(std::exchange(o.id_, 0)),
      drop_(std::exchange(o.drop_, nullptr)) {}

Loop::Handle &Loop::Handle::operator=(Handle &&o) noexcept {
  if (this != &o) {
    reset();
    loop_ = std::exchange(o.loop_, nullptr);
    id_ = std::exchange(o.id_, 0);
    drop_ = std::exchange(o.drop_, nullptr);
  }
  return *this;
}

void Loop::Handle::reset() {
  if (loop_)
    (loop_->*drop_)(id_);
  loop_ = nullptr;
  id_ = 0;
}

Loop::Timer Loop::timer(TimerCallback cb) {
  std::uint64_t id = next_id_++;
  timer_cbs_.emplace(id, std::move(cb));
  return Timer(this, id, &Loop::drop_timer);
}

void Loop::Timer::arm(TimePoint when) {
  if (loop_)
    loop_->arm_timer(id_, when);
}

void Loop::Timer::disarm() {
  if (loop_)
    loop_->disarm_timer(id_);
}

bool Loop::Timer::armed() const { return loop_ && loop_->timers_.when(id_).has_value(); }

std::optional<Loop::TimePoint> Loop::Timer::when() const {
  return loop_ ? loop_->timers_.when(id_) : std::nullopt;
}

void Loop::arm_timer(std::uint64_t id, TimePoint when) {
  timers_.arm(id, when);
  rearm_timerfd();
}

void Loop::disarm_timer(std::uint64_t id) {
  timers_.cancel(id);
  // Leaving the timerfd armed for a cancelled deadline costs one spurious
  // wake-up at most; re-arming on every cancel would cost a syscall each.
}

void Loop::drop_timer(std::uint64_t id) {
  timers_.cancel(id);
  timer_cbs_.erase(id);
}

void Loop::rearm_timerfd() {
  auto first = timers_.earliest();
  if (!first || (timerfd_at_ && *timerfd_at_ <= *first))
    return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(first->time_since_epoch());
  itimerspec its{};
  // 0 would disarm: a deadline at or before the epoch is simply "now".
  auto count = std::max<std::int64_t>(ns.count(), 1);
  its.it_value.tv_sec = count / 1'000'000'000;
  its.it_value.tv_nsec = count % 1'000'000'000;
  if (::timerfd_settime(timerfd_.get(), TFD_TIMER_ABSTIME, &its, nullptr) < 0)
    throw_errno("timerfd_settime");
  timerfd_at_ = *first;
}

void Loop::add_prepare(PrepareHook hook) { prepare_.push_back(std::move(hook)); }

// Run one callback; false when it threw (and the handler took it).
template <typename F> bool Loop::guarded(F &&f) {
  try {
    return f();
  } catch (const std::exception &e) {
    if (!on_error_)
      throw;
    on_error_(e);
    return false;
  }
}

void Loop::run_timers() {
  timer_fired_ = false;
  const TimePoint t = now();
  if (auto first = timers_.earliest(); first && *first <= t)
    lag_.observe(metrics::loop_lag_bounds, std::chrono::duration<double>(t - *first).count());
  for (auto id : timers_.take_due(t)) {
    auto it = timer_cbs_.find(id);
    if (it != timer_cbs_.end()) {
      auto cb = it->second; // the callback may drop its own timer
      guarded([&] { return cb(), true; });
    }
  }
  rearm_timerfd();
}

void Loop::run() {
  constexpr int max_events = 256;
  epoll_event events[max_events];
  while (!quit_) {
    bool busy = false;
    for (auto &hook : prepare_)
      busy |= guarded(hook);
    if (quit_)
      break;
    // A deadline that is already due runs without waiting on the timerfd.
    if (auto first = timers_.earliest(); first && *first <= now())
      busy = true;
    int n = ::epoll_wait(epfd_.get(), events, max_events, busy ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw_errno("epoll_wait");
    }
    ++iterations_;
    for (int i = 0; i < n; ++i) {
      // A copy: epoll_event is packed, and a reference to its u64 (find()
      // takes one) would be misaligned.
      const std::uint64_t id = events[i].data.u64;
      auto it = fds_.find(id);
      if (it == fds_.end())
        continue; // removed by an earlier callback of this batch
      auto cb = it->second.cb;
      guarded([&] { return cb(events[i].events), true; });
    }
    // Deadlines run after the batch's I/O, so input that arrived in time
    // (a heartbeat) is seen before the deadline that it cancels.
    run_timers();
  }
}

} // namespace hbmon
