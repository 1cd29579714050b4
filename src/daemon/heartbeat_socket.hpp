// One app's heartbeat endpoint: a ZeroMQ PULL socket bound by hbmond.
//
// Contract: the socket's ZMQ_FD sits in the loop; after every wake-up, and
// as long as the last drain() returned true, drain() receives until EAGAIN or the budget
// is spent (apis.md: ZMQ_FD is edge-like; a socket not drained to EAGAIN
// may never wake us again). Each complete message goes to the handler with
// the sender's credentials. on_wake() tells the owner to drain soon. An ipc:// socket file is
// created mode 0600 and given to the app's user without following a link (sys/directories.hpp;
// the config check has refused a directory anyone else could change); messages above
// max_heartbeat_bytes are refused by libzmq (ZMQ_MAXMSGSIZE) before they reach us.
#pragma once

#include "daemon/endpoint.hpp"
#include "sys/loop.hpp"
#include "sys/proc.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

namespace hbmon {

class HeartbeatSocket {
public:
  using Handler =
      std::function<void(std::string_view data, std::optional<PeerCred> peer, bool multipart)>;

  // Throws std::runtime_error with the endpoint and the reason on failure.
  HeartbeatSocket(zmq::context_t &ctx, Loop &loop, std::string endpoint, std::optional<uid_t> owner,
                  std::optional<gid_t> group, const BoundSocket::Guard &guard, Handler handler,
                  std::function<void()> on_wake);
  HeartbeatSocket(const HeartbeatSocket &) = delete;
  HeartbeatSocket &operator=(const HeartbeatSocket &) = delete;

  // Receive up to `budget` messages; true if more may be waiting.
  bool drain(std::size_t budget);
  const std::string &endpoint() const { return endpoint_; }
  std::uint64_t connections_refused() const { return sock_.connections_refused(); }

private:
  std::string endpoint_;
  BoundSocket sock_;
  Handler handler_;
  std::function<void()> on_wake_;
  Loop::Watch watch_; // after sock_: it leaves the loop before the socket closes
};

} // namespace hbmon
