// Outward reports: what hbmond tells the world on its own initiative.
//
// To systemd, through its notify socket (sys/notify): READY=1 once the
// boot's starts are done and again after each reload, STATUS= with the state
// summary (when it changed, at most every 250 ms), WATCHDOG=1 every half
// WATCHDOG_USEC while the loop turns, RELOADING=1 (with MONOTONIC_USEC),
// STOPPING=1, and EXTEND_TIMEOUT_USEC= while apps are still stopping. To the events stream: one
// numbered JSON object per event (core/event.hpp); a gap in the numbers tells a subscriber it lost
// one.
//
// Contract: loop thread only. Every sd_notify message hbmond sends is sent
// here; the supervisor and the daemon say what happened, this says it. A
// busy systemd never stalls the loop: what its socket cannot take now waits
// in the outbox (core/notify_outbox.hpp) and is tried again every 50 ms.
#pragma once

#include "core/event.hpp"
#include "core/notify_outbox.hpp"
#include "sys/loop.hpp"
#include "sys/notify.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace hbmon {

class Reports {
public:
  using Sink = std::function<void(const std::string &json)>;

  // Starts the WATCHDOG=1 pings when systemd asked for them.
  explicit Reports(Loop &loop);
  Reports(const Reports &) = delete;
  Reports &operator=(const Reports &) = delete;

  void booted(std::string_view summary); // STATUS=, then READY=1
  void reload_begins();                  // RELOADING=1
  void reload_ends();                    // READY=1, whether it applied or not
  void stopping();                       // STOPPING=1
  // EXTEND_TIMEOUT_USEC=: systemd is to wait `more` from now before it
  // counts the stop as timed out (where TimeoutStopSec= is already past).
  void stop_takes(Duration more);
  void status(std::string_view summary); // STATUS=, when it changed (coalesced)

  // Number, stamp and send one event to the sink (if any).
  void event(const EventRecord &e);
  void set_sink(Sink s) { sink_ = std::move(s); }
  // The number of the last event sent (0: none yet).
  std::uint64_t last_seq() const { return seq_; }
  // After a re-exec: events go on from the number the last hbmond reached.
  void resume_seq(std::uint64_t seq) { seq_ = seq; }

  static constexpr auto status_gap = std::chrono::milliseconds(250);
  static constexpr auto retry = std::chrono::milliseconds(50);

private:
  using Outbox = NotifyOutbox;
  void tell(Outbox::Kind kind, std::string message);
  void flush();

  Notifier notifier_;
  Outbox outbox_{status_gap, retry};
  Loop::Timer flush_timer_;
  Loop::Timer watchdog_;
  std::uint64_t seq_ = 0;
  Sink sink_;
};

} // namespace hbmon
