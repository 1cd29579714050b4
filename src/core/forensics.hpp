// Forensics records (SPEC "Forensics"), the pure half: what a record holds,
// its JSON, its name, and which records a full directory gives up.
//
// Contract: no I/O. A record is one JSON object: app, pid, reason, time
// (ISO 8601, UTC), last_heartbeats (ISO 8601 each, oldest first), status
// (STATUS= text or null), output (the app's last lines, oldest first) and
// processes (each with pid, comm and threads: tid, comm, state, wchan,
// syscall, stack or null), then processes_left_out and threads_left_out:
// how many of the group's were not read (a record is bounded). Its id, also its file's name without
// ".json", is the UTC time to the millisecond and the pid, so that ids sort by time:
// "20261130T143302.123Z-4242".
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace hbmon::forensics {

struct Thread {
  pid_t tid = 0;
  std::string comm;
  char state = '?';    // the letter of /proc/PID/task/TID/stat
  std::string wchan;   // where it sleeps in the kernel ("0": running)
  std::string syscall; // the first field of its syscall file: a number, "running" or "-1"
  std::optional<std::string> stack; // the kernel stack, when readable
};

struct Process {
  pid_t pid = 0;
  std::string comm;
  std::vector<Thread> threads;
};

// The group as it was read: at most so many processes and threads in all.
struct Snapshot {
  static constexpr std::size_t max_processes = 256;
  static constexpr std::size_t max_threads = 1024;
  std::vector<Process> processes;
  std::size_t processes_left_out = 0;
  std::size_t threads_left_out = 0;
};

using WallTime = std::chrono::system_clock::time_point;

// What hbmond knows of the app when it decides to kill it.
struct Facts {
  std::string app;
  pid_t pid = 0;
  std::string reason; // "missed 2 heartbeats", "panic: pressed by root", ...
  WallTime time;
  std::vector<WallTime> last_heartbeats; // oldest first
  std::optional<std::string> status;
  std::vector<std::string> output; // oldest first
};

std::string record_id(WallTime t, pid_t pid);
// An id as record_id() writes them (a client's --show argument is checked
// with it before it names a file).
bool valid_id(std::string_view id);
std::string iso8601(WallTime t); // "2026-11-30T14:33:02.123Z"

nlohmann::json record(const Facts &facts, const Snapshot &group);

// Of `ids` (any order), those to delete so that the newest `keep` remain.
std::vector<std::string> beyond(std::vector<std::string> ids, std::size_t keep);

} // namespace hbmon::forensics
