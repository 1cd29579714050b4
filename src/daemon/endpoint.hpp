// A ZeroMQ socket bound at an endpoint hbmond serves.
#pragma once

#include "core/connection_budget.hpp"
#include "sys/loop.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <zmq.hpp>

namespace hbmon {

// Contract: the socket is made with linger 0 and `Options`, then bound at
// `endpoint`. An ipc:// socket file is created with `mode` from the start (no
// window with wider permissions), is never taken over from a process still
// serving it, and is removed when the socket closes. With `guard`, no peer
// holds more connections than its budget (daemon/connection_guard.hpp), from
// before the bind on. The constructor throws std::runtime_error naming the
// endpoint.
class ConnectionGuard;

class BoundSocket {
public:
  struct Guard {
    Loop &loop;
    std::string what; // names the socket in log lines
    ConnectionBudget::Limits limits;
    ConnectionBudget::Pool &pool;
  };
  struct Options {
    mode_t mode = 0600;           // of an ipc:// socket file
    std::int64_t maxmsgsize = -1; // ZMQ_MAXMSGSIZE: larger messages drop the peer
    int sndhwm = 1000;            // ZeroMQ's own defaults
    int rcvhwm = 1000;
    bool router_mandatory = false; // ROUTER: a send to a full peer fails instead of vanishing
    std::optional<Guard> guard;
  };

  BoundSocket(zmq::context_t &ctx, zmq::socket_type type, const std::string &endpoint,
              const Options &options);
  BoundSocket(const BoundSocket &) = delete;
  BoundSocket &operator=(const BoundSocket &) = delete;
  ~BoundSocket();

  zmq::socket_t *operator->() { return &sock_; }
  // The socket file's path; "" for other transports.
  const std::string &ipc_path() const { return ipc_path_; }
  // Connections refused for being over budget (0 without a guard).
  std::uint64_t connections_refused() const;

private:
  zmq::socket_t sock_;
  std::string ipc_path_;
  std::unique_ptr<ConnectionGuard> guard_;
};

} // namespace hbmon
