#include "daemon/connection_guard.hpp"

#include "daemon/log.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace hbmon {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t events_per_wake = 512;
// tcp:// peers have no uid: they share one budget.
constexpr uid_t tcp_peer = static_cast<uid_t>(-2);

std::string monitor_address() {
  static std::atomic<unsigned> n{0};
  return fmt::format("inproc://hbmon-connections-{}", n++);
}

std::optional<ConnectionBudget::Inode> inode_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
    return std::nullopt;
  return static_cast<ConnectionBudget::Inode>(st.st_ino);
}

// "tcp://127.0.0.1:5555" -> "5555"
std::string port_of(const std::string &endpoint) {
  auto colon = endpoint.rfind(':');
  return colon == std::string::npos ? std::string() : endpoint.substr(colon + 1);
}

} // namespace

ConnectionGuard::ConnectionGuard(zmq::context_t &ctx, Loop &loop, zmq::socket_t &watched,
                                 std::string what, std::string ipc_path,
                                 ConnectionBudget::Limits limits, ConnectionBudget::Pool &pool)
    : watched_(watched), what_(std::move(what)), ipc_path_(std::move(ipc_path)), limits_(limits),
      pool_(pool), budget_(limits, pool, 0, ::geteuid()), events_(ctx, zmq::socket_type::pair),
      log_limit_(10s) {
  const std::string address = monitor_address();
  if (zmq_socket_monitor(watched_.handle(), address.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
    throw std::runtime_error(
        fmt::format("watching connections to {}: {}", what_, zmq_strerror(zmq_errno())));
  // An unbounded queue: a lost close would hold a connection's budget
  // until the next refusal checks it; a lost accept would go uncounted.
  events_.set(zmq::sockopt::rcvhwm, 0);
  events_.set(zmq::sockopt::linger, 0);
  events_.connect(address);
  watch_ = loop.watch(events_.get(zmq::sockopt::fd), EPOLLIN, [this](std::uint32_t) { drain(); });
  again_ = loop.timer([this] { drain(); });
  drain();
}

ConnectionGuard::~ConnectionGuard() { zmq_socket_monitor(watched_.handle(), nullptr, 0); }

void ConnectionGuard::drain() {
  for (std::size_t n = 0; n < events_per_wake; ++n) {
    zmq::message_t head, address;
    try {
      if (!events_.recv(head, zmq::recv_flags::dontwait))
        return; // drained: ZMQ_FD wakes us for the next one
      if (head.more())
        (void)events_.recv(address, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t &) {
      return;
    }
    if (head.size() < 6)
      continue;
    std::uint16_t event;
    std::uint32_t value;
    std::memcpy(&event, head.data(), sizeof event);
    std::memcpy(&value, static_cast<const char *>(head.data()) + 2, sizeof value);
    const int fd = static_cast<int>(value);
    if (event == ZMQ_EVENT_ACCEPTED)
      on_accepted(fd);
    else if (event == ZMQ_EVENT_DISCONNECTED)
      budget_.closed(fd);
  }
  again_.arm(Loop::now()); // more may wait: let the rest of the loop run first
}

// Is `fd` (libzmq's, reported a moment ago) still a connection accepted by
// the socket this guard watches? Its number may have been reused since.
bool ConnectionGuard::ours(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) < 0)
    return false;
  if (!ipc_path_.empty()) {
    if (ss.ss_family != AF_UNIX)
      return false;
    const auto *un = reinterpret_cast<const sockaddr_un *>(&ss);
    const std::size_t n = len - offsetof(sockaddr_un, sun_path);
    return std::string_view(un->sun_path, ::strnlen(un->sun_path, n)) == ipc_path_;
  }
  if (tcp_port_.empty()) // bound after the guard was set up
    tcp_port_ = port_of(watched_.get(zmq::sockopt::last_endpoint));
  in_port_t port = 0;
  if (ss.ss_family == AF_INET)
    port = reinterpret_cast<const sockaddr_in *>(&ss)->sin_port;
  else if (ss.ss_family == AF_INET6)
    port = reinterpret_cast<const sockaddr_in6 *>(&ss)->sin6_port;
  else
    return false;
  return std::to_string(ntohs(port)) == tcp_port_;
}

void ConnectionGuard::on_accepted(int fd) {
  auto inode = inode_of(fd);
  if (!inode || !ours(fd))
    return; // already gone (its close is on the way) or a stranger's number now
  ucred cred{};
  socklen_t len = sizeof cred;
  uid_t uid = tcp_peer;
  pid_t pid = 0;
  if (!ipc_path_.empty()) {
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
      return;
    uid = cred.uid;
    pid = cred.pid;
  }
  auto still_open = [this](int f, ConnectionBudget::Inode ino) {
    return inode_of(f) == ino && ours(f);
  };
  if (budget_.accepted(fd, uid, *inode, still_open))
    return;
  ::shutdown(fd, SHUT_RDWR); // libzmq sees the end of the stream and closes it
  if (auto held = log_limit_.occurred(Loop::now()))
    logging::daemon(
        LogLevel::warning,
        fmt::format(
            "refused a connection to {} from {}: {}{}", what_,
            uid == tcp_peer ? std::string("a tcp peer") : fmt::format("uid {}, pid {}", uid, pid),
            budget_.open_by(uid) >= limits_.per_uid
                ? fmt::format("{} connections already open", budget_.open_by(uid))
                : fmt::format("hbmond holds {} connections of other users, its limit", pool_.open),
            *held ? fmt::format(" ({} more refused since the last report)", *held) : ""));
}

} // namespace hbmon
