#include "daemon/admins.hpp"

#include "sys/accounts.hpp"

#include <string>
#include <unistd.h>

namespace hbmon {

std::optional<bool> Admins::known(uid_t uid) const {
  if (uid == 0 || uid == ::geteuid())
    return true;
  return cache_.find(uid, Loop::now());
}

void Admins::resolve(uid_t uid, Done done) {
  auto &waiting = waiting_[uid];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1)
    return; // its lookup is on its way
  worker_.post([this, uid]() -> Worker::Completion {
    bool member = false;
    try {
      member = uid_in_group(uid, group);
    } catch (const std::exception &) {
      // out of memory: not known to be a member
    }
    return [this, uid, member] {
      cache_.store(uid, member, Loop::now());
      auto node = waiting_.extract(uid);
      if (node.empty())
        return;
      for (Done &d : node.mapped())
        d(member);
    };
  });
}

} // namespace hbmon
