#include "daemon/reports.hpp"

#include <chrono>

namespace hbmon {

Reports::Reports(Loop &loop) {
  if (auto period = notifier_.watchdog_period()) {
    watchdog_ = loop.timer([this, p = *period] {
      notifier_.watchdog();
      watchdog_.arm(Loop::now() + p);
    });
    notifier_.watchdog();
    watchdog_.arm(Loop::now() + *period);
  }
}

void Reports::booted(std::string_view summary) {
  notifier_.status(summary);
  notifier_.ready();
}

void Reports::reload_begins() { notifier_.reloading(); }

void Reports::reload_ends() { notifier_.ready(); }

void Reports::stopping() { notifier_.stopping(); }

void Reports::status(std::string_view summary) { notifier_.status(summary); }

void Reports::event(const EventRecord &e) {
  if (!sink_)
    return;
  using seconds = std::chrono::duration<double>;
  const double wall = seconds(std::chrono::system_clock::now().time_since_epoch()).count();
  const double mono = seconds(Loop::now().time_since_epoch()).count();
  sink_(event_text(event_json(e, ++seq_, wall, mono)));
}

} // namespace hbmon
