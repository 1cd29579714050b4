#include "core/notify_outbox.hpp"

namespace hbmon {

namespace {
// The messages systemd shows with the status that goes with them.
bool announces(NotifyOutbox::Kind k) {
  using Kind = NotifyOutbox::Kind;
  return k == Kind::ready || k == Kind::reloading || k == Kind::stopping;
}
} // namespace

void NotifyOutbox::must(Kind kind, std::string message) {
  std::erase_if(must_, [kind](const Message &m) { return m.kind == kind; });
  must_.push_back({kind, std::move(message)});
}

void NotifyOutbox::status(std::string_view text) {
  if (text == sent_status_) {
    status_.reset(); // it changed and changed back before it went out
    return;
  }
  status_ = std::string(text);
}

void NotifyOutbox::flush(TimePoint now, Send send) {
  next_.reset();
  while (!must_.empty()) {
    if (status_ && announces(must_.front().kind) && !send_status(now, send))
      return;
    if (!send(std::string_view(must_.front().text))) {
      next_ = now + retry_;
      return;
    }
    must_.pop_front();
  }
  if (!status_)
    return;
  if (status_sent_at_ && now < *status_sent_at_ + gap_) {
    next_ = *status_sent_at_ + gap_;
    return;
  }
  send_status(now, send);
}

bool NotifyOutbox::send_status(TimePoint now, Send send) {
  const std::string message = "STATUS=" + *status_;
  if (!send(std::string_view(message))) {
    next_ = now + retry_;
    return false;
  }
  sent_status_ = std::move(*status_);
  status_.reset();
  status_sent_at_ = now;
  return true;
}

} // namespace hbmon
