// How many connections each local user may hold open to one of hbmond's
// sockets, and to all of them together.
//
// Contract: pure. The caller reports every connection libzmq accepted
// (`accepted`, with the fd libzmq gave it, the peer's uid and the socket's
// inode) and every one it closed (`closed`). `accepted` says whether the
// connection stays: one that would take its uid past `per_uid`, or every
// uid but the trusted ones past the shared `Pool`'s limit, is refused, and
// the caller shuts it down (libzmq then closes it and reports `closed`).
// Refused connections are not counted against anyone. Connections are
// keyed by fd; since libzmq reports asynchronously, an fd may be reported
// again for a new connection before its old one's close is seen, and
// reports may be lost: before refusing anyone, the caller's
// `still_open(fd, inode)` is asked about each of that uid's connections, and
// the ones it denies are forgotten. So a lost close costs one check, never a
// connection refused for good.
#pragma once

#include "core/function_ref.hpp"

#include <cstddef>
#include <cstdint>
#include <sys/types.h>
#include <unordered_map>

namespace hbmon {

class ConnectionBudget {
public:
  // Connections shared by every budget of the process (fds are one pool).
  struct Pool {
    std::size_t limit = 0; // connections from untrusted uids, all sockets
    std::size_t open = 0;  // admitted and not yet closed, all sockets
  };
  struct Limits {
    std::size_t per_uid = 0;
  };
  using Inode = std::uint64_t;
  using StillOpen = FunctionRef<bool(int fd, Inode inode)>;

  ConnectionBudget(Limits limits, Pool &pool, uid_t trusted_a, uid_t trusted_b)
      : limits_(limits), pool_(pool), trusted_a_(trusted_a), trusted_b_(trusted_b) {}
  ConnectionBudget(const ConnectionBudget &) = delete;
  ConnectionBudget &operator=(const ConnectionBudget &) = delete;
  ~ConnectionBudget() { pool_.open -= open_.size(); }

  // A connection was accepted on fd `fd`. True: it stays; false: shut it down.
  bool accepted(int fd, uid_t uid, Inode inode, StillOpen still_open);
  void closed(int fd);

  std::size_t open() const { return open_.size(); }
  std::size_t open_by(uid_t uid) const {
    auto it = per_uid_.find(uid);
    return it == per_uid_.end() ? 0 : it->second;
  }
  std::uint64_t refused() const { return refused_; }

private:
  struct Entry {
    uid_t uid;
    Inode inode;
  };

  bool trusted(uid_t uid) const { return uid == trusted_a_ || uid == trusted_b_; }
  bool over(uid_t uid) const;
  void forget_stale(uid_t uid, StillOpen still_open);

  Limits limits_;
  Pool &pool_;
  uid_t trusted_a_, trusted_b_;
  std::unordered_map<int, Entry> open_;
  std::unordered_map<uid_t, std::size_t> per_uid_;
  std::uint64_t refused_ = 0;
};

} // namespace hbmon
