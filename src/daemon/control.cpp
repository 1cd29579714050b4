#include "daemon/control.hpp"

#include "daemon/log.hpp"
#include "protocol/protocol.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace hbmon {

namespace {

constexpr std::size_t max_frames = 16;
constexpr std::size_t request_budget = 64; // per loop iteration

} // namespace

ControlServer::ControlServer(zmq::context_t &ctx, Loop &loop, std::string endpoint, Handler handler,
                             ConnectionBudget::Pool &pool)
    : endpoint_(std::move(endpoint)),
      sock_(ctx, zmq::socket_type::router, endpoint_,
            {.mode = 0666,
             .maxmsgsize = (1 << 20) + 4096,
             .sndhwm = replies_per_peer,
             .rcvhwm = 1000,
             .router_mandatory = true,
             .guard =
                 BoundSocket::Guard{
                     loop, "the control socket", {.per_uid = connections_per_user}, pool}}),
      handler_(std::move(handler)) {
  watch_ =
      loop.watch(sock_->get(zmq::sockopt::fd), EPOLLIN, [this](std::uint32_t) { pending_ = true; });
  loop.add_prepare([this] { return pending_ && drain(request_budget); });
}

bool ControlServer::drain(std::size_t budget) {
  pending_ = false;
  std::vector<zmq::message_t> frames;
  for (std::size_t n = 0; n < budget; ++n) {
    frames.clear();
    bool more = true, oversized = false;
    while (more) {
      zmq::message_t part;
      zmq::recv_result_t r;
      try {
        r = sock_->recv(part, zmq::recv_flags::dontwait);
      } catch (const zmq::error_t &) {
        return false;
      }
      if (!r)
        return false; // EAGAIN: drained (parts of a message arrive together)
      more = part.more();
      if (frames.size() < max_frames)
        frames.push_back(std::move(part));
      else
        oversized = true;
    }
    ++requests_;
    if (frames.size() < 2) {
      ++dropped_;
      continue; // no envelope to answer to
    }
    std::optional<PeerCred> peer;
    if (const char *addr = zmq_msg_gets(frames.back().handle(), "Peer-Address"))
      peer = parse_peer_address(addr);
    const zmq::message_t body = std::move(frames.back());
    frames.pop_back(); // the envelope is left
    std::string reply;
    handling_ = &frames;
    try {
      reply = oversized
                  ? dump(error_reply("bad-request", "too many message parts"))
                  : handler_(std::string_view(static_cast<const char *>(body.data()), body.size()),
                             peer);
    } catch (const std::exception &e) {
      // Whatever failed, the client hears of it and the next request is read.
      logging::daemon(LogLevel::error, fmt::format("control request failed: {}", e.what()));
      reply = dump(error_reply("internal-error", e.what()));
      if (!handling_)
        answer(next_ticket_, reply); // it had deferred its answer: this is it
    }
    const bool later = handling_ == nullptr;
    handling_ = nullptr;
    if (!later)
      send(frames, reply);
  }
  pending_ = true;
  return true;
}

ControlServer::Ticket ControlServer::defer() {
  const Ticket t = ++next_ticket_;
  if (handling_)
    deferred_.emplace(t, std::move(*handling_));
  handling_ = nullptr;
  return t;
}

void ControlServer::answer(Ticket ticket, const std::string &reply) {
  auto node = deferred_.extract(ticket);
  if (!node.empty())
    send(node.mapped(), reply);
}

// Same envelope back (identity, and the empty delimiter of REQ clients). A
// peer with replies_per_peer unread replies, or gone, just loses this one:
// ROUTER_MANDATORY fails the first frame (EAGAIN, EHOSTUNREACH) before
// anything is queued.
void ControlServer::send(std::vector<zmq::message_t> &envelope, const std::string &reply) {
  try {
    bool sent = true;
    for (std::size_t i = 0; sent && i < envelope.size(); ++i)
      sent = sock_->send(envelope[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                 .has_value();
    if (sent)
      sent = sock_->send(zmq::buffer(reply), zmq::send_flags::dontwait).has_value();
    if (!sent)
      ++replies_dropped_;
  } catch (const zmq::error_t &) {
    ++replies_dropped_;
  }
}

EventPublisher::EventPublisher(zmq::context_t &ctx, Loop &loop, std::string endpoint,
                               ConnectionBudget::Pool &pool)
    : endpoint_(std::move(endpoint)),
      sock_(ctx, zmq::socket_type::pub, endpoint_,
            {.mode = 0666,
             .maxmsgsize = 256,
             .sndhwm = events_per_peer,
             .guard = BoundSocket::Guard{
                 loop, "the events socket", {.per_uid = connections_per_user}, pool}}) {
  // Subscriptions and new connections are commands the socket processes
  // when asked: ask whenever its fd says there are some.
  watch_ = loop.watch(sock_->get(zmq::sockopt::fd), EPOLLIN,
                      [this](std::uint32_t) { (void)sock_->get(zmq::sockopt::events); });
}

void EventPublisher::publish(const std::string &json) {
  try {
    sock_->send(zmq::buffer(json), zmq::send_flags::dontwait);
  } catch (const zmq::error_t &) {
    // nobody is hurt by a lost event
  }
}

} // namespace hbmon
