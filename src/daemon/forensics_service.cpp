#include "daemon/forensics_service.hpp"

#include "daemon/log.hpp"
#include "sys/forensics_store.hpp"
#include "sys/group_snapshot.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <thread>

namespace hbmon {

namespace {
std::chrono::milliseconds stall_from(const char *variable) {
  const char *ms = std::getenv(variable);
  return std::chrono::milliseconds(ms && *ms ? std::strtoul(ms, nullptr, 10) : 0);
}
} // namespace

Forensics::Forensics(Loop &loop, Done done)
    : loop_(loop), done_(std::move(done)), stall_(stall_from("HBMOND_TEST_FORENSICS_STALL_MS")),
      write_stall_(stall_from("HBMOND_TEST_FORENSICS_WRITE_STALL_MS")), writer_(loop),
      thread_(loop) {}

// `early`: why the kill does not wait for the reading any more (empty: the
// reading is done).
void Forensics::kill_now(std::uint64_t id, std::string_view early) {
  auto it = pending_.find(id);
  if (it == pending_.end())
    return; // sent already
  auto kill = std::move(it->second.kill);
  if (!early.empty())
    logging::daemon_about(it->second.app, LogLevel::warning,
                          fmt::format("{}: {}", it->second.app, early));
  pending_.erase(it); // drops the budget's timer
  kill();
}

void Forensics::kill_all_now() {
  while (!pending_.empty())
    kill_now(pending_.begin()->first,
             "hbmond re-executes: killing it now, before its record is read");
}

void Forensics::record_then(forensics::Facts facts, std::function<void()> kill) {
  if (!cfg_) {
    kill();
    return;
  }
  const std::uint64_t id = next_++;
  Pending &p = pending_[id];
  p.app = facts.app;
  p.kill = std::move(kill);
  p.budget = loop_.timer([this, id] {
    kill_now(id, fmt::format("reading its processes took more than {} ms: killing it now, the "
                             "record follows",
                             budget.count()));
  });
  p.budget.arm(Loop::now() + budget);
  waiting_.push_back({id, std::move(facts), ForensicsStore(*cfg_)});
  if (!reading_)
    read_waiting();
}

// Every reading waiting, in one job: one listing of /proc for them all.
// Hangs that come while it runs wait for the next.
void Forensics::read_waiting() {
  reading_ = true;
  thread_.post(
      [this, batch = std::exchange(waiting_, {}), stall = stall_]() mutable -> Worker::Completion {
        if (stall.count() > 0)
          std::this_thread::sleep_for(stall);
        std::vector<pid_t> leaders;
        for (const auto &w : batch)
          leaders.push_back(w.facts.pid);
        auto groups = snapshot_groups(leaders);
        return [this, batch = std::move(batch), groups = std::move(groups)]() mutable {
          for (std::size_t i = 0; i < batch.size(); ++i) {
            kill_now(batch[i].id, {});
            write(std::move(batch[i]), std::move(groups[i]));
          }
          reading_ = false;
          if (!waiting_.empty())
            read_waiting();
        };
      });
}

// On a thread of its own: no reading waits behind a record being written.
void Forensics::write(Waiting w, forensics::Snapshot group) {
  writer_.post([this, facts = std::move(w.facts), store = std::move(w.store),
                group = std::move(group), stall = write_stall_]() -> Worker::Completion {
    if (stall.count() > 0)
      std::this_thread::sleep_for(stall);
    // Replace, not throw, on invalid UTF-8 (an app's output, a comm).
    const std::string text = forensics::record(facts, group)
                                 .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                             "\n";
    bool ok = true;
    std::string what;
    try {
      what = store.write(facts.app, forensics::record_id(facts.time, facts.pid), text);
    } catch (const std::exception &e) {
      ok = false;
      what = e.what();
    }
    return [this, app = facts.app, ok, what] { done_(app, ok, what); };
  });
}

} // namespace hbmon
