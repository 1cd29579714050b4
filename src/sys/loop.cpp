#include "sys/loop.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <sys/epoll.h>
#include <system_error>

namespace hbmon {

namespace {
[[noreturn]] void throw_errno(const char *what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::uint64_t next_serial() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}
} // namespace

Loop::Loop() : serial_(next_serial()) {
  epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epfd_)
    throw_errno("epoll_create1");
}

Loop::~Loop() = default;

Loop::TimePoint Loop::now() { return Clock::now(); }

Loop::Watch Loop::watch(int fd, std::uint32_t events, FdCallback cb) {
  // A slot is taken only once the kernel has the fd: a failed add leaves none behind.
  const bool reuse = !free_slots_.empty();
  const auto slot = reuse ? free_slots_.back() : static_cast<std::uint32_t>(fd_slots_.size());
  const std::uint32_t generation = reuse ? fd_slots_[slot].generation : 0;
  const std::uint64_t id = (static_cast<std::uint64_t>(generation) << 32) | slot;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
    throw_errno("epoll_ctl(ADD)");
  if (reuse)
    free_slots_.pop_back();
  else
    fd_slots_.emplace_back();
  FdEntry &e = fd_slots_[slot];
  e.fd = fd;
  e.live = true;
  e.cb = std::move(cb);
  ++live_watches_;
  return Watch(this, id, &Loop::unwatch);
}

Loop::FdEntry *Loop::entry(std::uint64_t id) {
  const auto slot = static_cast<std::uint32_t>(id);
  if (slot >= fd_slots_.size())
    return nullptr;
  FdEntry &e = fd_slots_[slot];
  return e.live && e.generation == static_cast<std::uint32_t>(id >> 32) ? &e : nullptr;
}

void Loop::unwatch(std::uint64_t id) {
  FdEntry *e = entry(id);
  if (!e)
    return;
  // The fd may already be closed by its owner; then the kernel dropped it.
  ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, e->fd, nullptr);
  e->live = false;
  --live_watches_;
  // Its callback may be the one running: it goes once the batch is done.
  if (dispatching_)
    freed_in_batch_.push_back(static_cast<std::uint32_t>(id));
  else
    free_slot(static_cast<std::uint32_t>(id));
}

void Loop::free_slot(std::uint32_t slot) {
  FdEntry &e = fd_slots_[slot];
  e.cb = nullptr;
  e.fd = -1;
  ++e.generation; // events still queued for the old id find no entry
  free_slots_.push_back(slot);
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

void Loop::arm_timer(std::uint64_t id, TimePoint when) { timers_.arm(id, when); }

void Loop::disarm_timer(std::uint64_t id) { timers_.cancel(id); }

void Loop::drop_timer(std::uint64_t id) {
  timers_.cancel(id);
  timer_cbs_.erase(id);
}

// Wait for events until the earliest deadline (not at all when `busy`).
int Loop::wait(epoll_event *events, int max, bool busy) {
  const auto first = timers_.earliest();
  if (!busy && !first)
    return ::epoll_wait(epfd_.get(), events, max, -1);
  const auto left =
      busy ? Clock::duration::zero() : std::max(*first - now(), Clock::duration::zero());
  if (have_pwait2_) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec ts{static_cast<time_t>(ns / 1'000'000'000),
                      static_cast<long>(ns % 1'000'000'000)};
    const int n = ::epoll_pwait2(epfd_.get(), events, max, &ts, nullptr);
    if (n >= 0 || errno != ENOSYS)
      return n;
    have_pwait2_ = false; // a kernel before 5.11
  }
  // Rounded up: a deadline is never run early, at most 1 ms late.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ::epoll_wait(epfd_.get(), events, max,
                      static_cast<int>(std::min<std::int64_t>(ms, 24 * 3600 * 1000)));
}

void Loop::add_prepare(PrepareHook hook) { prepare_.push_back(std::move(hook)); }

void Loop::add_last_prepare(PrepareHook hook) { last_prepare_.push_back(std::move(hook)); }

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
}

void Loop::dispatch(const epoll_event *events, int n) {
  struct Batch { // frees the slots of the watches it removed, however it ends
    Loop &l;
    explicit Batch(Loop &loop) : l(loop) { l.dispatching_ = true; }
    ~Batch() {
      l.dispatching_ = false;
      for (auto slot : l.freed_in_batch_)
        l.free_slot(slot);
      l.freed_in_batch_.clear();
    }
    Batch(const Batch &) = delete;
    Batch &operator=(const Batch &) = delete;
  } batch(*this);
  for (int i = 0; i < n; ++i) {
    // A copy: epoll_event is packed, and a reference to its u64 would be
    // misaligned.
    const std::uint64_t id = events[i].data.u64;
    FdEntry *e = entry(id); // none: removed by an earlier callback of this batch
    if (e)
      guarded([&] { return e->cb(events[i].events), true; });
  }
}

void Loop::run() {
  constexpr int max_events = 256;
  epoll_event events[max_events];
  while (!quit_) {
    bool busy = false;
    for (auto &hook : prepare_)
      busy |= guarded(hook);
    for (auto &hook : last_prepare_)
      busy |= guarded(hook);
    if (quit_)
      break;
    // A deadline that is already due runs without waiting.
    if (auto first = timers_.earliest(); first && *first <= now())
      busy = true;
    const int n = wait(events, max_events, busy);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw_errno("epoll_wait");
    }
    ++iterations_;
    dispatch(events, n);
    // Deadlines run after the batch's I/O, so input that arrived in time
    // (a heartbeat) is seen before the deadline that it cancels.
    run_timers();
  }
}

} // namespace hbmon
