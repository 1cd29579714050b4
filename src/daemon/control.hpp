// The control plane's sockets: the ROUTER that answers hbmonctl, and the
// PUB that streams events.
//
// Contract (ControlServer): each request is one multi-part message whose
// last frame is the body; the handler's reply goes back with the same
// envelope. Replies are sent without waiting: hbmond holds at most
// `replies_per_peer` unread replies for a connection (its other replies are
// dropped and counted), and each user may hold at most
// `connections_per_user` connections (daemon/connection_guard.hpp), so a
// client that never reads costs a bounded amount of memory and harms no one
// else. Requests above max_request_bytes get an error reply; above 1 MiB
// libzmq drops the connection before they reach us. The socket file is mode
// 0666: anyone who can reach it may ask, and authorization is by the
// caller's uid.
// A handler that cannot answer at once (it waits for the worker thread)
// calls defer() while it runs: its return value is then not sent, the
// request's envelope is kept under the ticket defer() returns, and
// answer(ticket, reply) sends the reply later, once, in the same envelope
// (a client gone meanwhile just loses it). If the handler throws, the
// client gets an internal-error reply and the next request is read.
//
// Contract (EventPublisher): publish() never blocks; a subscriber that
// does not read loses events beyond `events_per_peer` (ZeroMQ's high-water
// mark), never slows the daemon, and each user may hold at most
// `connections_per_user` subscriptions.
#pragma once

#include "daemon/endpoint.hpp"
#include "sys/loop.hpp"
#include "sys/proc.hpp"

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace hbmon {

// Connections one local user may hold to the control or events socket:
// hbmonctl needs one per command, `watch` two.
inline constexpr std::size_t connections_per_user = 64;

class ControlServer {
public:
  using Handler = std::function<std::string(std::string_view body, std::optional<PeerCred> peer)>;
  // A well-behaved client (REQ) reads each reply before it asks again.
  static constexpr int replies_per_peer = 2;

  // Throws std::runtime_error naming the endpoint when it cannot bind, also
  // when another live hbmond already serves it.
  ControlServer(zmq::context_t &ctx, Loop &loop, std::string endpoint, Handler handler,
                ConnectionBudget::Pool &pool);
  ControlServer(const ControlServer &) = delete;
  ControlServer &operator=(const ControlServer &) = delete;

  const std::string &endpoint() const { return endpoint_; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t replies_dropped() const { return replies_dropped_; }
  std::uint64_t connections_refused() const { return sock_.connections_refused(); }

  // Deferred replies (see the contract above).
  using Ticket = std::uint64_t;
  Ticket defer();
  void answer(Ticket ticket, const std::string &reply);
  std::size_t deferred() const { return deferred_.size(); }

private:
  bool drain(std::size_t budget);
  void send(std::vector<zmq::message_t> &envelope, const std::string &reply);

  std::string endpoint_;
  BoundSocket sock_;
  Handler handler_;
  Loop::Watch watch_; // after sock_: it leaves the loop before the socket closes
  bool pending_ = true;
  std::uint64_t requests_ = 0, dropped_ = 0, replies_dropped_ = 0;
  std::vector<zmq::message_t> *handling_ = nullptr; // the envelope while the handler runs
  Ticket next_ticket_ = 0;
  std::unordered_map<Ticket, std::vector<zmq::message_t>> deferred_;
};

class EventPublisher {
public:
  static constexpr int events_per_peer = 1000;

  EventPublisher(zmq::context_t &ctx, Loop &loop, std::string endpoint,
                 ConnectionBudget::Pool &pool);
  EventPublisher(const EventPublisher &) = delete;
  EventPublisher &operator=(const EventPublisher &) = delete;

  void publish(const std::string &json);
  const std::string &endpoint() const { return endpoint_; }
  std::uint64_t connections_refused() const { return sock_.connections_refused(); }

private:
  std::string endpoint_;
  BoundSocket sock_;
  Loop::Watch watch_; // after sock_: it leaves the loop before the socket closes
};

} // namespace hbmon
