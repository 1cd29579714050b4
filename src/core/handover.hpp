// The handover: what one hbmond passes to the next when it re-execs itself
// (SPEC "Re-exec"), as one JSON document in a memfd.
//
// Contract: pure, no system call. write() turns a State into text; read()
// turns text back into the same State, or throws HandoverError saying why
// (text that is not this format, a format this binary does not read: a
// newer or older hbmond's). read(write(s)) == s for every State. Times are
// CLOCK_MONOTONIC (std::chrono::steady_clock), which an execve() keeps, as
// nanoseconds. The fds named in a State are open across the execve (the old
// instance cleared their FD_CLOEXEC); fds() lists them all, so the new
// instance can close any it does not take.
//
// `format` counts incompatible changes: a hbmond reads its own and the
// older ones it names (oldest_format), never a newer one. The old
// instance asks the new binary (`hbmond --check-handover`) before the
// execve, so a mismatch is a refused re-exec, never a lost state.
// Format 2: an app's output pipes come without write ends (-1), which
// hbmond no longer holds; format 1 had them, and the reader closes them.
// Format 3: a watchdog's memory has no "announced_kills" (the start
// queue no longer holds starts for a kill); the reader ignores it in an
// older format's.
#pragma once

#include "core/config.hpp"
#include "core/log_ring.hpp"
#include "core/status.hpp"
#include "core/watchdog.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace hbmon::handover {

inline constexpr int format = 3;
inline constexpr int oldest_format = 1;
// A heartbeat due within the handover is judged this long after it: ZeroMQ
// senders reconnect within 100 ms (ZMQ_RECONNECT_IVL) and then deliver
// what they queued meanwhile; notify datagrams wait in the handed-over
// socket.
inline constexpr Duration grace = std::chrono::milliseconds(200);

enum class Queued { none, start, restart };

// An app's output pipes: the read end of each (stdout, stderr), the line
// each had begun, and what `logs` and the counters show.
struct Output {
  // stdout read, write; stderr read, write: the write ends only in format 1
  std::array<int, 4> fds{-1, -1, -1, -1};
  std::array<std::string, 2> partial{};
  std::uint64_t lines = 0;
  std::uint64_t dropped = 0;
  std::vector<LogLine> ring{}; // oldest first
  std::uint64_t ring_next = 1; // the sequence number of the next line

  bool operator==(const Output &) const = default;
};

struct App {
  AppConfig config;
  Watchdog::Memory memory;
  int pidfd = -1;  // of memory.pid, while it has one
  TimePoint since; // when it entered its state
  bool admin_down = false;
  bool retiring = false;
  std::optional<AppConfig> successor; // with retiring: the settings it comes back with
  Queued queued = Queued::none;       // waiting in the start queue
  Output output;
  int notify_fd = -1; // heartbeat.protocol notify: the bound socket
  AppCounters counters;
  std::optional<TimePoint> probe_next; // with a probe: when the next is due

  bool operator==(const App &) const = default;
};

struct Guardian {
  pid_t pid = 0;
  int pidfd = -1;
  int writer = -1; // the pipe end whose closing wakes it
  int table = -1;  // the memfd of process groups

  bool operator==(const Guardian &) const = default;
};

struct State {
  int format = handover::format;
  std::string version; // of the hbmond that wrote it
  double started = 0;  // Unix seconds: when the first of the line started
  std::uint64_t reexecs = 0;
  metrics::LagHistogram loop_lag; // hbmond_loop_lag_seconds so far (none from 0.2.0)
  TimePoint written;              // when it was written
  // The RLIMIT_NOFILE soft limit hbmond was started with, which apps get
  // back (hbmond raised its own: the next one cannot see it any more).
  std::optional<std::uint64_t> child_nofile;
  // The config last applied: its file, drop-ins, sockets, log level, and
  // every app's settings as it heads for them (the apps themselves, in
  // `apps`, carry the settings they run with).
  Config config;
  std::optional<Guardian> guardian;
  std::uint64_t event_seq = 0;
  // hbmond's own counters (info's "counters": control requests, replies
  // dropped, connections refused), by name: they go on from there. A state
  // an older hbmond wrote has none: they start at zero.
  std::map<std::string, std::uint64_t> counters;
  std::vector<App> apps;

  std::vector<int> fds() const;
  bool operator==(const State &) const;
};

class HandoverError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

std::string write(const State &s);
State read(std::string_view text);

} // namespace hbmon::handover
