#include "daemon/heartbeat_socket.hpp"

#include "core/heartbeat.hpp"
#include "sys/directories.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/epoll.h>

namespace hbmon {

HeartbeatSocket::HeartbeatSocket(zmq::context_t &ctx, Loop &loop, std::string endpoint,
                                 std::optional<uid_t> owner, std::optional<gid_t> group,
                                 const BoundSocket::Guard &guard, Handler handler,
                                 std::function<void()> on_wake)
    : endpoint_(std::move(endpoint)),
      // The socket file is born 0600: no window in which another user could
      // connect and keep a hung app alive.
      sock_(ctx, zmq::socket_type::pull, endpoint_,
            {.mode = 0600,
             .maxmsgsize = static_cast<std::int64_t>(max_heartbeat_bytes),
             .rcvhwm = 1000,
             .guard = guard}),
      handler_(std::move(handler)), on_wake_(std::move(on_wake)) {
  // The config check saw to it that no one else can change the directory;
  // even so, never chown what a link points to.
  const std::string &path = sock_.ipc_path();
  if (!path.empty() && (owner || group))
    if (int err = give_socket_file(path, owner, group)) // the socket file goes with sock_
      throw std::runtime_error("chown " + path + ": " + std::strerror(err));
  int fd = sock_->get(zmq::sockopt::fd);
  watch_ = loop.watch(fd, EPOLLIN, [this](std::uint32_t) { on_wake_(); });
  on_wake_(); // libzmq may have queued commands already
}

bool HeartbeatSocket::drain(std::size_t budget) {
  zmq::message_t msg;
  for (std::size_t n = 0; n < budget; ++n) {
    zmq::recv_result_t r;
    try {
      r = sock_->recv(msg, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t &) {
      return false; // EINTR or a closing context: the next wake-up retries
    }
    if (!r)
      return false; // EAGAIN: drained, ZMQ_FD is armed again
    bool multipart = msg.more();
    std::optional<PeerCred> peer;
    if (const char *addr = zmq_msg_gets(msg.handle(), "Peer-Address"))
      peer = parse_peer_address(addr);
    std::string_view data(static_cast<const char *>(msg.data()), msg.size());
    if (multipart) {
      // Discard the rest of a multi-part message: one message, one verdict.
      while (msg.more()) {
        auto rr = sock_->recv(msg, zmq::recv_flags::dontwait);
        if (!rr)
          break;
      }
      data = {};
    }
    handler_(data, peer, multipart);
  }
  return true;
}

} // namespace hbmon
