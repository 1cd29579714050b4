// Keeps any one local user (or app) from holding more than its share of
// connections to a socket hbmond binds, so that no flood of connections
// can take hbmond to its fd limit (where libzmq 4.3.4 aborts the process,
// apis.md) or make it grow without bound.
//
// Contract: watches the socket's accepted and closed connections through
// a ZeroMQ socket monitor, asks the kernel who each peer is (SO_PEERCRED),
// and keeps a ConnectionBudget (core/connection_budget.hpp). A connection
// over budget is shut down (shutdown(2), never close(2): the fd is
// libzmq's, and libzmq closes it when it sees the end of the stream) after
// checking that its fd still holds a connection accepted by this very
// socket. Each refusal is counted and logged, at most one line per 10 s.
// Set up before the socket binds, so no connection goes uncounted; destroyed
// before the socket closes.
#pragma once

#include "core/connection_budget.hpp"
#include "core/log_limit.hpp"
#include "sys/loop.hpp"

#include <string>
#include <zmq.hpp>

namespace hbmon {

class ConnectionGuard {
public:
  // `what` names the socket in log lines ("the control socket"); `ipc_path`
  // is its socket file ("" for tcp://). Throws std::runtime_error.
  ConnectionGuard(zmq::context_t &ctx, Loop &loop, zmq::socket_t &watched, std::string what,
                  std::string ipc_path, ConnectionBudget::Limits limits,
                  ConnectionBudget::Pool &pool);
  ConnectionGuard(const ConnectionGuard &) = delete;
  ConnectionGuard &operator=(const ConnectionGuard &) = delete;
  ~ConnectionGuard();

  std::size_t open() const { return budget_.open(); }
  std::uint64_t refused() const { return budget_.refused(); }

private:
  void drain();
  void on_accepted(int fd);
  bool ours(int fd);

  zmq::socket_t &watched_;
  std::string what_, ipc_path_, tcp_port_;
  ConnectionBudget::Limits limits_;
  const ConnectionBudget::Pool &pool_;
  ConnectionBudget budget_;
  zmq::socket_t events_;
  Loop::Watch watch_;
  Loop::Timer again_; // resumes a drain that stopped at its budget
  LogLimit log_limit_;
};

} // namespace hbmon
