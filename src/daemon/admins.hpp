// Who may use the admin verbs (panic, start, stop, restart, reload): uid 0,
// hbmond's own uid, and the members (primary or supplementary) of the group
// `hbmond`.
//
// Contract: loop thread. known() answers at once when it can: uid 0 and
// hbmond's euid need no lookup, anyone else is answered from a lookup made
// less than `lifetime` ago (core/membership_cache.hpp), else nullopt. Then
// resolve() has the Worker ask the user database (sys/accounts.hpp, off the
// loop: NSS may take seconds) and calls back on the loop thread once it
// knows; callers for a uid already being looked up wait for that lookup.
#pragma once

#include "core/membership_cache.hpp"
#include "sys/loop.hpp"
#include "sys/worker.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

namespace hbmon {

class Admins {
public:
  static constexpr const char *group = "hbmond";
  static constexpr auto lifetime = std::chrono::seconds(30);
  using Done = std::function<void(bool allowed)>;

  explicit Admins(Worker &worker) : worker_(worker), cache_(lifetime) {}
  Admins(const Admins &) = delete;
  Admins &operator=(const Admins &) = delete;

  std::optional<bool> known(uid_t uid) const;
  void resolve(uid_t uid, Done done);

private:
  Worker &worker_;
  MembershipCache cache_;
  std::unordered_map<uid_t, std::vector<Done>> waiting_; // by the uid being looked up
};

} // namespace hbmon
