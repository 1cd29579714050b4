// loop_eval: hbmond's home-made loop (src/sys/loop.hpp) against libsystemd's
// sd-event, on the same workload. Not installed; bench/loop-eval drives it.
//
// Workload: T apps each with a repeating deadline (period P, staggered evenly
// over P) and N ZeroMQ PULL sockets bound on ipc:// in a temp dir, fed by
// forked sender processes (PUSH, as fast as they can or at a fixed rate per
// socket). After a warm-up, one measurement window records:
//   - timer lateness: callback time minus due time, CLOCK_MONOTONIC, for every
//     deadline due inside the window (the loop runs 1 s past the window so
//     that the late ones are counted too);
//   - messages received, CPU time of this process (getrusage: the loop thread
//     and libzmq's I/O thread), loop iterations (= epoll_wait calls) and
//     voluntary context switches.
//
// Both back-ends do the same thing:
//   - due times are whole microseconds (sd-event's unit); the next due time
//     is the previous one plus the period, so the stagger never drifts;
//   - drain policy (hbmond's, src/daemon/supervisor.cpp): a ZMQ_FD wake-up
//     only marks its socket "woken"; one drain step per loop iteration
//     receives from every woken socket until EAGAIN or 512 messages; a socket
//     that used its whole budget stays woken and the loop does not block.
//     home: the drain step is a prepare hook (runs before every epoll_wait).
//     sd-event: it is a defer source, enabled (ONESHOT) by the io callbacks
//     and re-enabled by itself while a socket is left with work. The io
//     sources are EPOLLIN|EPOLLET: sd-event dispatches the drain after the
//     next epoll_wait, so a level-triggered ZMQ_FD would be reported (and
//     dispatched) once more for nothing. The home loop drains before it
//     waits again and keeps hbmond's level-triggered EPOLLIN.
//   - every source at the same priority (sd-event's default, 0).
//
// Usage: loop_eval --loop=home|sd-event [--timers=T] [--period-ms=P]
//          [--sockets=N] [--senders=K] [--rate=R] [--accuracy-us=A]
//          [--timer-priority=P] [--warmup=S] [--duration=S]
//   --rate=0 floods (default); R > 0 sends R messages/s to each socket.
//   --accuracy-us: sd-event timer accuracy; 0 is sd-event's default
//     (250 ms), 1 the smallest it allows (default here). Ignored by home,
//     whose wait ends at the due time, in ns (the thread's timer slack: 50 us).
//   --timer-priority: sd-event priority of the deadlines (default 0, the
//     same as the sockets; -100 is SD_EVENT_PRIORITY_IMPORTANT). The home
//     loop has no priorities: deadlines run after each batch of I/O.
// Prints one line of key=value pairs.
#include "sys/loop.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>

namespace {

constexpr std::size_t drain_budget = 512; // messages per socket per drain, as hbmond

std::int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t mono_us() { return mono_ns() / 1000; }

double cpu_seconds(const rusage &ru) {
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Options {
  std::string loop;
  std::size_t timers = 1000;
  std::int64_t period_us = 1'000'000;
  std::size_t sockets = 0;
  std::size_t senders = 1;
  double rate = 0; // per socket, messages/s; 0 = flood
  std::uint64_t accuracy_us = 1;
  int timer_priority = 0; // sd-event only; lower runs first
  double warmup_s = 2;
  double duration_s = 5;
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "loop_eval: %s\nusage: loop_eval --loop=home|sd-event [--timers=T] "
               "[--period-ms=P] [--sockets=N] [--senders=K] [--rate=R] [--accuracy-us=A] "
               "[--timer-priority=P] [--warmup=S] [--duration=S]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto eq = a.find('=');
    if (a.substr(0, 2) != "--" || eq == std::string_view::npos)
      usage("arguments are --name=value");
    std::string key(a.substr(2, eq - 2));
    std::string val(a.substr(eq + 1));
    if (key == "loop")
      o.loop = val;
    else if (key == "timers")
      o.timers = std::stoul(val);
    else if (key == "period-ms")
      o.period_us = std::stoll(val) * 1000;
    else if (key == "sockets")
      o.sockets = std::stoul(val);
    else if (key == "senders")
      o.senders = std::stoul(val);
    else if (key == "rate")
      o.rate = std::stod(val);
    else if (key == "accuracy-us")
      o.accuracy_us = std::stoull(val);
    else if (key == "timer-priority")
      o.timer_priority = std::stoi(val);
    else if (key == "warmup")
      o.warmup_s = std::stod(val);
    else if (key == "duration")
      o.duration_s = std::stod(val);
    else
      usage(("unknown option --" + key).c_str());
  }
  if (o.loop != "home" && o.loop != "sd-event")
    usage("--loop must be home or sd-event");
  if (o.period_us <= 0 || o.duration_s <= 0 || o.warmup_s < 0)
    usage("period and duration must be positive");
  if (o.sockets > 0 && o.senders == 0)
    usage("sockets need at least one sender");
  return o;
}

// --- senders: forked before this process touches ZeroMQ ---------------------

volatile std::sig_atomic_t sender_stop = 0;
void on_sigterm(int) { sender_stop = 1; }

// Sender `k` of `senders` feeds sockets k, k + senders, ... until SIGTERM.
[[noreturn]] void sender_main(const Options &o, const std::vector<std::string> &endpoints,
                              std::size_t k) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  ::sigaction(SIGTERM, &sa, nullptr);
  int status = 0;
  try {
    zmq::context_t ctx(1);
    ctx.set(zmq::ctxopt::max_sockets, 65535);
    std::vector<zmq::socket_t> socks;
    for (std::size_t i = k; i < endpoints.size(); i += o.senders) {
      socks.emplace_back(ctx, zmq::socket_type::push);
      socks.back().set(zmq::sockopt::linger, 0);
      socks.back().connect(endpoints[i]); // retried by libzmq until the bind
    }
    static constexpr char payload[] = "{\"seq\":123456789}"; // a small heartbeat
    const zmq::const_buffer msg(payload, sizeof payload - 1);
    std::vector<zmq::pollitem_t> items;
    for (auto &s : socks)
      items.push_back({s.handle(), 0, ZMQ_POLLOUT, 0});
    const std::int64_t start = mono_ns();
    double owed_total = 0; // rate mode: messages owed to each socket so far
    std::uint64_t sent_rounds = 0;
    while (!sender_stop) {
      if (o.rate > 0) {
        owed_total = o.rate * static_cast<double>(mono_ns() - start) / 1e9;
        while (!sender_stop && static_cast<double>(sent_rounds) < owed_total) {
          for (auto &s : socks)
            (void)s.send(msg, zmq::send_flags::dontwait); // dropped when full
          ++sent_rounds;
        }
        timespec ts{0, 1'000'000}; // 1 ms ticks
        ::nanosleep(&ts, nullptr);
        continue;
      }
      std::size_t ok = 0;
      for (auto &s : socks)
        for (int burst = 0; burst < 64; ++burst) {
          if (!s.send(msg, zmq::send_flags::dontwait))
            break;
          ++ok;
        }
      if (ok == 0) // every socket full: wait for room, not spin
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
    }
  } catch (const zmq::error_t &e) {
    if (!sender_stop) {
      std::fprintf(stderr, "loop_eval sender %zu: %s\n", k, e.what());
      status = 1;
    }
  }
  ::_exit(status);
}

// --- the workload, identical for both back-ends --------------------------------

class Workload {
public:
  Workload(const Options &o, zmq::context_t &ctx, const std::vector<std::string> &endpoints)
      : opts_(o), woken_flag_(endpoints.size(), false), due_us_(o.timers, 0) {
    for (const auto &ep : endpoints) {
      socks_.emplace_back(ctx, zmq::socket_type::pull);
      auto &s = socks_.back();
      s.set(zmq::sockopt::linger, 0);
      s.set(zmq::sockopt::maxmsgsize, std::int64_t{4096});
      s.set(zmq::sockopt::rcvhwm, 1000);
      s.bind(ep);
    }
    const std::int64_t t0 = mono_us();
    const auto n = static_cast<std::int64_t>(o.timers);
    for (std::int64_t i = 0; i < n; ++i)
      due_us_[static_cast<std::size_t>(i)] = t0 + 10'000 + o.period_us * i / n;
    first_due_us_ = due_us_;
    window_start_us_ = t0 + static_cast<std::int64_t>(o.warmup_s * 1e6);
    window_end_us_ = window_start_us_ + static_cast<std::int64_t>(o.duration_s * 1e6);
    lateness_ns_.reserve(
        static_cast<std::size_t>(static_cast<double>(o.timers) *
                                 (o.duration_s * 1e6 / static_cast<double>(o.period_us) + 2)));
  }

  std::size_t sockets() const { return socks_.size(); }
  int fd(std::size_t i) { return socks_[i].get(zmq::sockopt::fd); }
  std::size_t timers() const { return due_us_.size(); }
  std::int64_t due_us(std::size_t i) const { return due_us_[i]; }
  std::int64_t window_start_us() const { return window_start_us_; }
  std::int64_t window_end_us() const { return window_end_us_; }
  // The loop runs on after the window until every deadline due in it has
  // run (lateness is counted by due time; sd-event's default slack is 250 ms).
  std::int64_t quit_us() const { return window_end_us_ + 1'000'000; }

  // ZMQ_FD of socket i fired.
  void wake(std::size_t i) {
    if (!woken_flag_[i]) {
      woken_flag_[i] = true;
      woken_.push_back(i);
    }
  }

  // One drain step; true if a socket is left with work (do not block).
  bool drain_woken() {
    todo_.clear();
    todo_.swap(woken_);
    for (std::size_t i : todo_) {
      woken_flag_[i] = false;
      if (drain(i) && !woken_flag_[i]) {
        woken_flag_[i] = true;
        woken_.push_back(i);
      }
    }
    return !woken_.empty();
  }

  // Deadline i ran now: record its lateness, return its next due time.
  std::int64_t fire(std::size_t i) {
    const std::int64_t now = mono_ns();
    const std::int64_t due = due_us_[i];
    if (due >= window_start_us_ && due < window_end_us_)
      lateness_ns_.push_back(now - due * 1000);
    due_us_[i] = due + opts_.period_us;
    return due_us_[i];
  }

  void start_window(std::uint64_t iterations) {
    ::getrusage(RUSAGE_SELF, &ru0_);
    t0_ns_ = mono_ns();
    it0_ = iterations;
    msgs_ = 0;
    measuring_ = true;
  }

  void end_window(std::uint64_t iterations) {
    ::getrusage(RUSAGE_SELF, &ru1_);
    t1_ns_ = mono_ns();
    it1_ = iterations;
    measuring_ = false;
  }

  void report() {
    const double secs = static_cast<double>(t1_ns_ - t0_ns_) / 1e9;
    const double cpu = cpu_seconds(ru1_) - cpu_seconds(ru0_);
    std::sort(lateness_ns_.begin(), lateness_ns_.end());
    auto pct = [&](double p) {
      if (lateness_ns_.empty())
        return 0.0;
      auto idx = static_cast<std::size_t>(p * static_cast<double>(lateness_ns_.size() - 1) + 0.5);
      return static_cast<double>(lateness_ns_[idx]) / 1e3;
    };
    // Every deadline due in the window should have run exactly once.
    std::uint64_t expected = 0;
    for (std::int64_t first : first_due_us_)
      for (std::int64_t d = first; d < window_end_us_; d += opts_.period_us)
        expected += d >= window_start_us_;
    std::printf(
        "loop=%s accuracy_us=%llu timer_priority=%d timers=%zu period_ms=%lld sockets=%zu "
        "senders=%zu rate=%g "
        "seconds=%.3f msgs=%llu msgs_per_s=%.0f cpu_s=%.4f cpu_pct=%.3f cpu_ns_per_msg=%.1f "
        "iterations_per_s=%.1f vcsw_per_s=%.1f late_n=%zu late_expected=%llu late_p50_us=%.1f "
        "late_p99_us=%.1f late_max_us=%.1f\n",
        opts_.loop.c_str(), static_cast<unsigned long long>(opts_.accuracy_us),
        opts_.timer_priority, due_us_.size(), static_cast<long long>(opts_.period_us / 1000),
        socks_.size(), opts_.senders, opts_.rate, secs, static_cast<unsigned long long>(msgs_),
        static_cast<double>(msgs_) / secs, cpu, 100.0 * cpu / secs,
        msgs_ ? cpu * 1e9 / static_cast<double>(msgs_) : 0.0,
        static_cast<double>(it1_ - it0_) / secs,
        static_cast<double>(ru1_.ru_nvcsw - ru0_.ru_nvcsw) / secs, lateness_ns_.size(),
        static_cast<unsigned long long>(expected), pct(0.5), pct(0.99),
        lateness_ns_.empty() ? 0.0 : static_cast<double>(lateness_ns_.back()) / 1e3);
  }

private:
  // hbmond's HeartbeatSocket::drain: until EAGAIN or the budget; true if
  // the budget ran out (more may be waiting).
  bool drain(std::size_t i) {
    zmq::message_t msg;
    for (std::size_t n = 0; n < drain_budget; ++n) {
      zmq::recv_result_t r;
      try {
        r = socks_[i].recv(msg, zmq::recv_flags::dontwait);
      } catch (const zmq::error_t &) {
        return false;
      }
      if (!r)
        return false;
      // As hbmond: the sender's credentials come with every message.
      if (const char *peer = zmq_msg_gets(msg.handle(), "Peer-Address"); peer && measuring_)
        peer_bytes_ += std::strlen(peer);
      if (measuring_)
        ++msgs_;
    }
    return true;
  }

  const Options &opts_;
  std::vector<zmq::socket_t> socks_;
  std::vector<bool> woken_flag_;
  std::vector<std::size_t> woken_, todo_;
  std::vector<std::int64_t> due_us_, first_due_us_;
  std::vector<std::int64_t> lateness_ns_;
  std::int64_t window_start_us_ = 0, window_end_us_ = 0;
  bool measuring_ = false;
  std::uint64_t msgs_ = 0;
  std::uint64_t peer_bytes_ = 0;
  rusage ru0_{}, ru1_{};
  std::int64_t t0_ns_ = 0, t1_ns_ = 0;
  std::uint64_t it0_ = 0, it1_ = 0;
};

// --- back-end 1: hbmond's Loop ---------------------------------------------------

hbmon::Loop::TimePoint at_us(std::int64_t us) {
  return hbmon::Loop::TimePoint(std::chrono::microseconds(us));
}

void run_home(Workload &w) {
  hbmon::Loop loop;
  std::vector<hbmon::Loop::Watch> watches;
  watches.reserve(w.sockets());
  for (std::size_t i = 0; i < w.sockets(); ++i) {
    watches.push_back(loop.watch(w.fd(i), EPOLLIN, [&w, i](std::uint32_t) { w.wake(i); }));
    w.wake(i); // libzmq may have queued commands already
  }
  loop.add_prepare([&w] { return w.drain_woken(); });

  std::vector<hbmon::Loop::Timer> timers;
  timers.reserve(w.timers());
  for (std::size_t i = 0; i < w.timers(); ++i) {
    timers.push_back(loop.timer([&w, &timers, i] { timers[i].arm(at_us(w.fire(i))); }));
    timers[i].arm(at_us(w.due_us(i)));
  }

  int phase = 0;
  hbmon::Loop::Timer window;
  window = loop.timer([&] {
    if (phase == 0) {
      w.start_window(loop.iterations());
      window.arm(at_us(w.window_end_us()));
    } else if (phase == 1) {
      w.end_window(loop.iterations());
      window.arm(at_us(w.quit_us()));
    } else {
      loop.quit();
    }
    ++phase;
  });
  window.arm(at_us(w.window_start_us()));
  loop.run();
}

// --- back-end 2: sd-event --------------------------------------------------------

void check(int r, const char *what) {
  if (r < 0)
    throw std::runtime_error(std::string(what) + ": " + std::strerror(-r));
}

struct SdState {
  Workload *w;
  sd_event *e = nullptr;
  sd_event_source *drain = nullptr;
  int phase = 0;
};

struct SdRef {
  SdState *st;
  std::size_t i;
};

int sd_on_io(sd_event_source *, int, std::uint32_t, void *ud) {
  auto *r = static_cast<SdRef *>(ud);
  r->st->w->wake(r->i);
  return sd_event_source_set_enabled(r->st->drain, SD_EVENT_ONESHOT);
}

int sd_on_drain(sd_event_source *s, void *ud) {
  auto *st = static_cast<SdState *>(ud);
  if (st->w->drain_woken())
    return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT); // still work: come back
  return 0;
}

int sd_on_time(sd_event_source *s, std::uint64_t, void *ud) {
  auto *r = static_cast<SdRef *>(ud);
  int ret = sd_event_source_set_time(s, static_cast<std::uint64_t>(r->st->w->fire(r->i)));
  if (ret < 0)
    return ret;
  return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

std::uint64_t sd_iteration(sd_event *e) {
  std::uint64_t it = 0;
  sd_event_get_iteration(e, &it);
  return it;
}

int sd_on_window(sd_event_source *s, std::uint64_t, void *ud) {
  auto *st = static_cast<SdState *>(ud);
  std::int64_t next = 0;
  if (st->phase == 0) {
    st->w->start_window(sd_iteration(st->e));
    next = st->w->window_end_us();
  } else if (st->phase == 1) {
    st->w->end_window(sd_iteration(st->e));
    next = st->w->quit_us();
  } else {
    return sd_event_exit(st->e, 0);
  }
  ++st->phase;
  int r = sd_event_source_set_time(s, static_cast<std::uint64_t>(next));
  if (r < 0)
    return r;
  return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

void run_sd_event(Workload &w, std::uint64_t accuracy_us, int timer_priority) {
  SdState st{&w};
  check(sd_event_new(&st.e), "sd_event_new");
  std::vector<sd_event_source *> sources;
  std::vector<SdRef> io_refs(w.sockets()), time_refs(w.timers());

  check(sd_event_add_defer(st.e, &st.drain, sd_on_drain, &st), "sd_event_add_defer");
  for (std::size_t i = 0; i < w.sockets(); ++i) {
    io_refs[i] = {&st, i};
    sd_event_source *s = nullptr;
    check(sd_event_add_io(st.e, &s, w.fd(i), EPOLLIN | EPOLLET, sd_on_io, &io_refs[i]),
          "sd_event_add_io");
    sources.push_back(s);
    w.wake(i); // libzmq may have queued commands already; the defer is on
  }
  for (std::size_t i = 0; i < w.timers(); ++i) {
    time_refs[i] = {&st, i};
    sd_event_source *s = nullptr;
    check(sd_event_add_time(st.e, &s, CLOCK_MONOTONIC, static_cast<std::uint64_t>(w.due_us(i)),
                            accuracy_us, sd_on_time, &time_refs[i]),
          "sd_event_add_time");
    check(sd_event_source_set_priority(s, timer_priority), "sd_event_source_set_priority");
    sources.push_back(s);
  }
  sd_event_source *window = nullptr;
  // The window's own timer is always exact, whatever --accuracy-us says.
  check(sd_event_add_time(st.e, &window, CLOCK_MONOTONIC,
                          static_cast<std::uint64_t>(w.window_start_us()), 1, sd_on_window, &st),
        "sd_event_add_time");
  check(sd_event_loop(st.e), "sd_event_loop");

  sd_event_source_unref(window);
  for (auto *s : sources)
    sd_event_source_unref(s);
  sd_event_source_unref(st.drain);
  sd_event_unref(st.e);
}

} // namespace

int main(int argc, char **argv) {
  const Options o = parse(argc, argv);

  char dir_template[] = "/tmp/loop-eval.XXXXXX";
  const char *dir = ::mkdtemp(dir_template);
  if (!dir) {
    std::perror("mkdtemp");
    return 1;
  }
  std::vector<std::string> endpoints;
  for (std::size_t i = 0; i < o.sockets; ++i)
    endpoints.push_back("ipc://" + std::string(dir) + "/" + std::to_string(i));

  // Senders first: a child must never inherit a ZeroMQ context.
  std::vector<pid_t> children;
  for (std::size_t k = 0; o.sockets > 0 && k < std::min(o.senders, o.sockets); ++k) {
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0)
      sender_main(o, endpoints, k);
    children.push_back(pid);
  }

  int status = 0;
  try {
    zmq::context_t ctx(1);
    ctx.set(zmq::ctxopt::blocky, 0);
    ctx.set(zmq::ctxopt::max_sockets, 65535);
    Workload w(o, ctx, endpoints);
    if (o.loop == "home")
      run_home(w);
    else
      run_sd_event(w, o.accuracy_us, o.timer_priority);
    for (pid_t pid : children)
      ::kill(pid, SIGTERM);
    w.report();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "loop_eval: %s\n", e.what());
    status = 1;
  }
  for (pid_t pid : children) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  for (std::size_t i = 0; i < o.sockets; ++i)
    ::unlink((std::string(dir) + "/" + std::to_string(i)).c_str());
  ::rmdir(dir);
  return status;
}
