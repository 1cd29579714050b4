// Who may send an app's heartbeats: its own process or one of its
// descendants, judged by the sender's pid from the kernel (the ipc://
// connection's credentials), never by anything the message says.
//
// Contract: pure but for the ancestry question, which the caller answers
// (sys/proc walks /proc). A connection's pid is fixed, so a flood from one
// sender costs one walk: the last accepted pid is remembered until the app
// gets a new process (reset()), and the last refused one for
// `negative_cache` (a pid may become a descendant only by being reused).
#pragma once

#include <sys/types.h>

namespace hbmon {

template <typename TimePoint> class SenderCheck {
public:
  using Duration = typename TimePoint::duration;

  explicit SenderCheck(Duration negative_cache) : negative_cache_(negative_cache) {}

  // The app has a new process (or none): forget who was judged.
  void reset() {
    accepted_ = 0;
    refused_ = 0;
  }

  // May `sender` beat for the app whose process is `app_pid` (0: none)?
  // `now()` gives the time and `is_descendant(pid, ancestor)` walks the
  // process tree; each is called only when the answer is not known yet
  // (the common case, the app's own pid, costs two comparisons).
  template <typename Now, typename IsDescendant>
  bool accept(pid_t app_pid, pid_t sender, Now &&now, IsDescendant &&is_descendant) {
    if (app_pid <= 0 || sender <= 0)
      return false;
    if (sender == app_pid || sender == accepted_)
      return true;
    const TimePoint t = now();
    if (sender == refused_ && t - refused_at_ < negative_cache_)
      return false;
    if (is_descendant(sender, app_pid)) {
      accepted_ = sender;
      return true;
    }
    refused_ = sender;
    refused_at_ = t;
    return false;
  }

private:
  Duration negative_cache_;
  pid_t accepted_ = 0;
  pid_t refused_ = 0;
  TimePoint refused_at_{};
};

} // namespace hbmon
