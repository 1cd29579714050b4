// hbtest_app: a scriptable app for the integration tests. It records what
// it does, with CLOCK_MONOTONIC times, in a trace file, so a test can check
// hbmond's timing from the outside:
//   start <pid> <ns> <interval us> | beat <ns> | alive <ns> | child <pid> | exit <code> <ns>
//
// Flags (all optional):
//   --trace FILE       where to append the trace
//   --beats N          send N heartbeats (default 0), --period S apart (0.05)
//   --ready            send READY=1 first     --status TEXT   with STATUS=
//   --then WHAT        after the beats: hang (default) | stall (hang, no
//                      "alive" lines) | beat (forever) |
//                      exit CODE | signal SIG | trigger
//   --ignore-term      ignore SIGTERM        --grandchild   fork a child in the
//                      same group that ignores SIGTERM and sleeps
//   --say TEXT         print TEXT on stdout  --warn TEXT    print it on stderr
//   --junk             write binary bytes    --long N      print one N-byte line
//   --partial TEXT     print TEXT on stdout without a newline
//   --fork N           fork N children that sleep forever (same process group)
//   --escape           fork a child that leaves the session (setsid), then
//                      traces "escaped <pid>" and sleeps forever
//   --close-output     close stdout and stderr at once
//   --escape-chain N   fork a chain of N processes, each the child of the one
//                      before, the first after leaving the session (setsid);
//                      each traces "escaped <pid>" and sleeps forever
//   --child-beats N    fork a child that sends N heartbeats, --period apart,
//                      and exits a period later; reap it, trace "reaped
//                      <pid>", go on
//   --then flood       send empty heartbeats as fast as possible, forever
//   --then junk-frames send 1,000 multi-part junk messages and 1 MiB, then hang
//   --once FILE        if FILE does not exist: create it and do --then;
//                      otherwise exit 0 at once (crash/hang first run only)
//   --then naughty     for the soak: beat every --period and after each beat
//                      crash (exit 3), hang or exit 0 now and then; traces
//                      only "hang <last beat ns> <ns> <the beat before, ns
//                      (0: none)>", "exit <code> <ns>"
//   --seed N           the random seed for naughty (default: pid and time)
//   --count-signal N   count deliveries of signal N (a real-time one is
//                      queued, so each send is one); 200 ms after the first,
//                      trace "signals <count>" and exit 0
//   --spin S           first use S seconds of CPU time (a busy loop)
//   --then spin        use the CPU, forever
//   --then stuck       two threads that never beat again: one blocked in
//                      read() on a pipe nobody writes, the main one spinning
//   --comm-hex HEX     name the process (prctl PR_SET_NAME) with these bytes
//   --lock FILE        hold an exclusive flock on FILE while running; when
//                      another process holds it, trace "double <pid>"
#include "trace_file.hpp"

#include <hbmon/heartbeat.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <random>
#include <string>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace {

std::string trace_path;

long long mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void trace(const std::string &line) { hbtest::append_line(trace_path.c_str(), line); }

[[noreturn]] void finish(int code) {
  trace("exit " + std::to_string(code) + " " + std::to_string(mono_ns()));
  std::fflush(nullptr);
  std::_Exit(code);
}

volatile sig_atomic_t signals_counted = 0;
void count_signal(int) { signals_counted = signals_counted + 1; }

[[noreturn]] void hang() {
  // Alive but silent: say so every few ms, so a test can bound the kill.
  while (true) {
    trace("alive " + std::to_string(mono_ns()));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Use `seconds` of this process's CPU time.
void spin_for(double seconds) {
  auto cpu = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  const double until = cpu() + seconds;
  volatile unsigned long sink = 0;
  while (cpu() < until)
    for (int i = 0; i < 10000; ++i)
      sink = sink + static_cast<unsigned long>(i);
}

} // namespace

int main(int argc, char **argv) {
  long beats = 0;
  double period = 0.05;
  bool ready = false, ignore_term = false, grandchild = false, junk = false;
  std::string status, then = "hang", then_arg, once;
  std::vector<std::pair<int, std::string>> prints;
  long long_line = 0;
  long forks = 0;
  std::optional<unsigned long long> seed;
  std::string lock;
  bool close_output = false, escape = false;
  long escape_chain = 0, child_beats = 0;
  int counted_signal = 0;
  double spin = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hbtest_app: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--trace")
      trace_path = next();
    else if (a == "--beats")
      beats = std::stol(next());
    else if (a == "--period")
      period = std::stod(next());
    else if (a == "--ready")
      ready = true;
    else if (a == "--status")
      status = next();
    else if (a == "--then") {
      then = next();
      if (then == "exit" || then == "signal")
        then_arg = next();
    } else if (a == "--ignore-term")
      ignore_term = true;
    else if (a == "--grandchild")
      grandchild = true;
    else if (a == "--say")
      prints.emplace_back(1, next());
    else if (a == "--warn")
      prints.emplace_back(2, next());
    else if (a == "--partial")
      prints.emplace_back(-1, next());
    else if (a == "--junk")
      junk = true;
    else if (a == "--long")
      long_line = std::stol(next());
    else if (a == "--once")
      once = next();
    else if (a == "--fork")
      forks = std::stol(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--spin")
      spin = std::stod(next());
    else if (a == "--lock")
      lock = next();
    else if (a == "--comm-hex") {
      const std::string hex = next();
      std::string name;
      for (std::size_t k = 0; k + 1 < hex.size(); k += 2)
        name += static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16));
      ::prctl(PR_SET_NAME, name.c_str());
    } else if (a == "--close-output")
      close_output = true;
    else if (a == "--escape")
      escape = true;
    else if (a == "--escape-chain")
      escape_chain = std::stol(next());
    else if (a == "--child-beats")
      child_beats = std::stol(next());
    else if (a == "--count-signal")
      counted_signal = std::stoi(next());
    else {
      std::fprintf(stderr, "hbtest_app: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  const char *interval_us = std::getenv("HBMON_INTERVAL_USEC");
  trace("start " + std::to_string(::getpid()) + " " + std::to_string(mono_ns()) + " " +
        (interval_us ? interval_us : "0"));
  if (counted_signal > 0) {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    ::sigaction(counted_signal, &sa, nullptr);
    while (signals_counted == 0)
      ::pause();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    trace("signals " + std::to_string(signals_counted));
    finish(0);
  }
  if (!lock.empty()) {
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) < 0)
      trace("double " + std::to_string(::getpid()));
  }
  if (!once.empty()) {
    int fd = ::open(once.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
      finish(0);
    ::close(fd);
  }
  if (ignore_term)
    std::signal(SIGTERM, SIG_IGN);
  if (grandchild) {
    pid_t pid = ::fork();
    if (pid == 0) {
      std::signal(SIGTERM, SIG_IGN);
      while (true)
        ::pause();
    }
    trace("child " + std::to_string(pid));
  }
  if (escape) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      trace("escaped " + std::to_string(::getpid())); // once it has left
      while (true)
        ::pause();
    }
  }
  if (escape_chain > 0 && ::fork() == 0) {
    ::setsid();
    for (long n = 1; n < escape_chain && ::fork() == 0; ++n) {
    } // each link forks the next and stays
    trace("escaped " + std::to_string(::getpid()));
    while (true)
      ::pause();
  }
  if (child_beats > 0) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      {
        auto hb = hbmon::Heartbeat::from_env();
        for (long n = 0; n < child_beats; ++n) {
          if (n > 0)
            std::this_thread::sleep_for(std::chrono::duration<double>(period));
          trace("beat " + std::to_string(mono_ns()));
          if (hb)
            hb->beat();
        }
        // Alive a little longer: hbmond judges a sender while it lives.
        std::this_thread::sleep_for(std::chrono::duration<double>(period));
      }
      std::_Exit(0);
    }
    ::waitpid(pid, nullptr, 0);
    trace("reaped " + std::to_string(pid));
  }
  for (auto &[fd, text] : prints) {
    std::string l = fd < 0 ? text : text + "\n"; // --partial: no newline
    ssize_t ignored = ::write(fd < 0 ? 1 : fd, l.data(), l.size());
    (void)ignored;
  }
  if (junk) {
    const char bytes[] = "bin\x01\x02\xff\xfe\x1b[31m\x00tail\n";
    ssize_t ignored = ::write(1, bytes, sizeof bytes - 1);
    (void)ignored;
  }
  if (long_line > 0) {
    std::string l(static_cast<std::size_t>(long_line), 'x');
    l += "\n";
    for (std::size_t off = 0; off < l.size();) {
      ssize_t n = ::write(1, l.data() + off, l.size() - off);
      if (n <= 0)
        break;
      off += static_cast<std::size_t>(n);
    }
  }

  if (close_output) {
    ::close(1);
    ::close(2);
  }
  for (long n = 0; n < forks; ++n) {
    pid_t pid = ::fork();
    if (pid == 0) {
      while (true)
        ::pause();
    }
    if (pid > 0)
      trace("child " + std::to_string(pid));
  }

  if (spin > 0)
    spin_for(spin);

  auto hb = hbmon::Heartbeat::from_env();
  auto send = [&](const std::string &msg) {
    if (hb)
      hb->notify(msg);
  };
  if (ready)
    send(status.empty() ? "READY=1" : "READY=1\nSTATUS=" + status);
  for (long n = 0; n < beats; ++n) {
    if (n > 0 || ready)
      std::this_thread::sleep_for(std::chrono::duration<double>(period));
    trace("beat " + std::to_string(mono_ns()));
    send(status.empty() ? "" : "STATUS=" + status);
  }

  if (then == "hang")
    hang();
  if (then == "stall") // hang without a trace: for benchmarks
    while (true)
      ::pause();
  if (then == "beat") {
    while (true) {
      std::this_thread::sleep_for(std::chrono::duration<double>(period));
      trace("beat " + std::to_string(mono_ns()));
      send("");
    }
  }
  if (then == "exit")
    finish(std::stoi(then_arg));
  if (then == "spin")
    while (true)
      spin_for(1);
  if (then == "stuck") {
    int p[2];
    if (::pipe(p) < 0)
      return 1;
    std::thread([fd = p[0]] {
      char c;
      (void)!::read(fd, &c, 1); // blocks: the write end stays open, unwritten
    }).detach();
    while (true) // no system call: the thread stays R
      spin_for(1);
  }
  if (then == "naughty") {
    std::mt19937_64 rng(seed.value_or(static_cast<unsigned long long>(::getpid()) ^
                                      static_cast<unsigned long long>(mono_ns())));
    std::uniform_real_distribution<double> roll(0.0, 1.0);
    long long before = 0; // a beat lost in a re-exec makes hbmond count from it
    while (true) {
      std::this_thread::sleep_for(std::chrono::duration<double>(period));
      const long long beat = mono_ns();
      send("");
      double r = roll(rng);
      if (r < 0.01)
        finish(3);
      if (r < 0.02) {
        trace("hang " + std::to_string(beat) + " " + std::to_string(mono_ns()) + " " +
              std::to_string(before));
        while (true)
          ::pause();
      }
      if (r < 0.025)
        finish(0);
      before = beat;
    }
  }
  if (then == "signal") {
    trace("exit signal " + std::to_string(mono_ns()));
    std::signal(std::stoi(then_arg), SIG_DFL);
    ::raise(std::stoi(then_arg));
    hang();
  }
  if (then == "trigger") {
    send("WATCHDOG=trigger");
    hang();
  }
  if (then == "flood") { // as many heartbeats as the socket takes, forever
    zmq::context_t ctx;
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::sndhwm, 100000);
    push.connect(std::getenv("HBMON_ENDPOINT"));
    unsigned long sent = 0;
    while (true) {
      if (push.send(zmq::const_buffer("", 0), zmq::send_flags::none) && ++sent % 100000 == 0)
        trace("sent " + std::to_string(sent));
    }
  }
  if (then == "junk-frames") { // multi-part junk, then a 1 MiB message, then hang
    zmq::context_t ctx;
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 1000);
    push.connect(std::getenv("HBMON_ENDPOINT"));
    for (int i = 0; i < 1000; ++i) {
      push.send(zmq::str_buffer("READY=1"), zmq::send_flags::sndmore);
      push.send(zmq::str_buffer("\xff\x00junk"), zmq::send_flags::none);
    }
    std::string mib(1 << 20, 'x');
    push.send(zmq::buffer(mib), zmq::send_flags::none);
    hang();
  }
  std::fprintf(stderr, "hbtest_app: unknown --then %s\n", then.c_str());
  return 2;
}
