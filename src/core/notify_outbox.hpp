// What hbmond has yet to tell systemd, and when: sd_notify(3) messages
// that wait while systemd does not read its notify socket.
//
// Contract: pure, time comes in as an argument. The messages that must
// arrive (READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1) wait in the order
// they were said, at most one of each kind: a newer one replaces the one
// waiting and moves to the back. So does EXTEND_TIMEOUT_USEC= (kind extend):
// a newer extension replaces one that could not go out. STATUS= keeps only the latest text and is
// sent at most once per `status_gap`, except just before READY=1,
// RELOADING=1 or STOPPING=1, which it precedes so that systemd shows the
// status that goes with them. flush() sends until the socket would block;
// next_flush() says when to call it again (nothing waits: nullopt).
#pragma once

#include "core/function_ref.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace hbmon {

class NotifyOutbox {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = TimePoint::duration;
  enum class Kind { ready, reloading, stopping, watchdog, extend };
  // send(message): false when the socket would block (the message stays
  // and is tried again), true when it went out or can never go (then it is
  // gone).
  using Send = FunctionRef<bool(std::string_view)>;

  // `retry`: how soon to try again after the socket would have blocked.
  NotifyOutbox(Duration status_gap, Duration retry) : gap_(status_gap), retry_(retry) {}

  void must(Kind kind, std::string message);
  void status(std::string_view text);
  void flush(TimePoint now, Send send);

  std::optional<TimePoint> next_flush() const { return next_; }
  std::size_t waiting() const { return must_.size() + (status_ ? 1 : 0); }

private:
  struct Message {
    Kind kind;
    std::string text;
  };

  bool send_status(TimePoint now, Send send);

  Duration gap_, retry_;
  std::deque<Message> must_;
  std::optional<std::string> status_; // the latest text, not sent yet
  std::string sent_status_;
  std::optional<TimePoint> status_sent_at_;
  std::optional<TimePoint> next_;
};

} // namespace hbmon
