#include "daemon/endpoint.hpp"

#include "daemon/connection_guard.hpp"
#include "protocol/socket_probe.hpp"
#include "sys/directories.hpp"
#include "sys/proc.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace hbmon {

namespace {

std::string ipc_path_of(const std::string &endpoint) {
  return endpoint.rfind("ipc://", 0) == 0 ? endpoint.substr(6) : std::string();
}

// Bind `sock` at `endpoint`, whose socket file is `path` ("" for other transports).
void bind_endpoint(zmq::socket_t &sock, const std::string &endpoint, const std::string &path,
                   mode_t mode) {
  if (!path.empty()) {
    // libzmq would silently take over the file of a daemon still running.
    if (auto probe = probe_unix_socket(path); probe && probe->served())
      throw std::runtime_error(fmt::format(
          "bind {}: {} is serving it (is another hbmond running on this runtime dir?)", endpoint,
          probe->server > 0 ? fmt::format("pid {} ({})", probe->server, process_name(probe->server))
                            : std::string("another process")));
  }
  try {
    UmaskGuard mask(static_cast<mode_t>(~mode & 0777));
    sock.bind(endpoint);
  } catch (const zmq::error_t &e) {
    throw std::runtime_error("bind " + endpoint + ": " + e.what());
  }
}

} // namespace

BoundSocket::BoundSocket(zmq::context_t &ctx, zmq::socket_type type, const std::string &endpoint,
                         const Options &options)
    : sock_(ctx, type) {
  sock_.set(zmq::sockopt::linger, 0);
  sock_.set(zmq::sockopt::maxmsgsize, options.maxmsgsize);
  sock_.set(zmq::sockopt::sndhwm, options.sndhwm);
  sock_.set(zmq::sockopt::rcvhwm, options.rcvhwm);
  if (options.router_mandatory)
    sock_.set(zmq::sockopt::router_mandatory, true);
  const std::string path = ipc_path_of(endpoint);
  if (options.guard)
    guard_ = std::make_unique<ConnectionGuard>(ctx, options.guard->loop, sock_, options.guard->what,
                                               path, options.guard->limits, options.guard->pool);
  bind_endpoint(sock_, endpoint, path, options.mode);
  ipc_path_ = path; // bound: the file is ours to remove
}

std::uint64_t BoundSocket::connections_refused() const { return guard_ ? guard_->refused() : 0; }

BoundSocket::~BoundSocket() {
  guard_.reset(); // stops watching before the socket goes
  sock_.close();
  if (!ipc_path_.empty())
    ::unlink(ipc_path_.c_str());
}

} // namespace hbmon
