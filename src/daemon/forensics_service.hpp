// Forensics (SPEC "Forensics"): before a hang or panic kill, a record of
// the app's process group as it is, its last output and heartbeats.
//
// Contract: record_then() reads the group on the forensics thread (its own,
// not the Worker's: a capture must not queue behind a reload or a metrics
// text) and runs `kill` on the loop as soon as the reading is done, or at
// `budget` if it is not: the kill is never skipped, and no other app's
// verdict waits for it. Hangs that come while a reading runs are read
// together once it is done, from one listing of /proc. The record is then
// written by a second thread (sys/forensics_store.hpp), so that no reading
// waits behind a write, and `done` hears, on the loop, its path or why it
// could not be written. With forensics off the kill runs at once.
//
// HBMOND_TEST_FORENSICS_STALL_MS (tests only) holds each reading that long
// before it starts, as a /proc read blocked in the kernel would: no test can
// make one block on demand. HBMOND_TEST_FORENSICS_WRITE_STALL_MS holds each
// write so, as a slow disk would.
#pragma once

#include "core/config.hpp"
#include "core/forensics.hpp"
#include "sys/forensics_store.hpp"
#include "sys/loop.hpp"
#include "sys/worker.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hbmon {

class Forensics {
public:
  static constexpr auto budget = std::chrono::milliseconds(100);
  // ok: `what` is the record's path; else why there is none.
  using Done = std::function<void(const std::string &app, bool ok, const std::string &what)>;

  Forensics(Loop &loop, Done done);
  Forensics(const Forensics &) = delete;
  Forensics &operator=(const Forensics &) = delete;

  void configure(const std::optional<ForensicsConfig> &cfg) { cfg_ = cfg; }
  const std::optional<ForensicsConfig> &config() const { return cfg_; }

  void record_then(forensics::Facts facts, std::function<void()> kill);
  // Every kill still waiting for its reading, now (before a re-exec: the
  // next program could not send them). Their records are not written.
  void kill_all_now();

private:
  void kill_now(std::uint64_t id, std::string_view early);

  Loop &loop_;
  Done done_;
  std::optional<ForensicsConfig> cfg_;
  struct Pending {
    std::string app;
    Loop::Timer budget;
    std::function<void()> kill;
  };
  std::unordered_map<std::uint64_t, Pending> pending_;
  struct Waiting { // for a reading
    std::uint64_t id;
    forensics::Facts facts;
    ForensicsStore store;
  };
  void read_waiting();
  void write(Waiting w, forensics::Snapshot group);
  std::vector<Waiting> waiting_;
  bool reading_ = false; // a reading job is on thread_
  std::uint64_t next_ = 1;
  std::chrono::milliseconds stall_, write_stall_;
  Worker writer_;
  Worker thread_; // last: joined first
};

} // namespace hbmon
