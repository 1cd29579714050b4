#include "daemon/forensics_service.hpp"

#include "daemon/log.hpp"
#include "sys/forensics_store.hpp"
#include "sys/group_snapshot.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <thread>

namespace hbmon {

Forensics::Forensics(Loop &loop, Done done) : loop_(loop), done_(std::move(done)), thread_(loop) {
  if (const char *ms = std::getenv("HBMOND_TEST_FORENSICS_STALL_MS"); ms && *ms)
    stall_ = std::chrono::milliseconds(std::strtoul(ms, nullptr, 10));
}

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
  thread_.post([this, id, facts = std::move(facts), store = ForensicsStore(*cfg_),
                stall = stall_]() mutable -> Worker::Completion {
    if (stall.count() > 0)
      std::this_thread::sleep_for(stall);
    auto group = snapshot_group(facts.pid, facts.pid);
    return [this, id, facts = std::move(facts), store = std::move(store),
            group = std::move(group)]() mutable {
      kill_now(id, {});
      thread_.post([this, facts = std::move(facts), store = std::move(store),
                    group = std::move(group)]() -> Worker::Completion {
        // Replace, not throw, on invalid UTF-8 (an app's output, a comm).
        const std::string text =
            forensics::record(facts, group)
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
    };
  });
}

} // namespace hbmon
