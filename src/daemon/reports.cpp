#include "daemon/reports.hpp"

#include <chrono>
#include <fmt/format.h>

namespace hbmon {

Reports::Reports(Loop &loop) {
  if (!notifier_.enabled())
    return;
  flush_timer_ = loop.timer([this] { flush(); });
  if (auto period = notifier_.watchdog_period()) {
    watchdog_ = loop.timer([this, p = *period] {
      tell(Outbox::Kind::watchdog, "WATCHDOG=1");
      watchdog_.arm(Loop::now() + p);
    });
    tell(Outbox::Kind::watchdog, "WATCHDOG=1");
    watchdog_.arm(Loop::now() + *period);
  }
}

void Reports::tell(Outbox::Kind kind, std::string message) {
  if (!notifier_.enabled())
    return;
  outbox_.must(kind, std::move(message));
  flush();
}

void Reports::flush() {
  outbox_.flush(Loop::now(), [this](std::string_view m) { return notifier_.send(m); });
  if (auto at = outbox_.next_flush())
    flush_timer_.arm(*at);
  else
    flush_timer_.disarm();
}

void Reports::booted(std::string_view summary) {
  status(summary);
  tell(Outbox::Kind::ready, "READY=1");
}

void Reports::reload_begins() { tell(Outbox::Kind::reloading, Notifier::reloading_message()); }

void Reports::reload_ends() { tell(Outbox::Kind::ready, "READY=1"); }

void Reports::stopping() { tell(Outbox::Kind::stopping, "STOPPING=1"); }

void Reports::stop_takes(Duration more) {
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(more).count();
  tell(Outbox::Kind::extend, fmt::format("EXTEND_TIMEOUT_USEC={}", usec));
}

void Reports::status(std::string_view summary) {
  if (!notifier_.enabled())
    return;
  outbox_.status(summary);
  flush();
}

void Reports::event(const EventRecord &e) {
  if (!sink_)
    return;
  using seconds = std::chrono::duration<double>;
  const double wall = seconds(std::chrono::system_clock::now().time_since_epoch()).count();
  const double mono = seconds(Loop::now().time_since_epoch()).count();
  sink_(event_text(event_json(e, ++seq_, wall, mono)));
}

} // namespace hbmon
