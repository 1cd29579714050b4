#include "daemon/endpoint.hpp"

#include "protocol/socket_probe.hpp"
#include "sys/proc.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace hbmon {

namespace {

class UmaskGuard {
public:
  explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
  UmaskGuard(const UmaskGuard &) = delete;
  UmaskGuard &operator=(const UmaskGuard &) = delete;
  ~UmaskGuard() { ::umask(old_); }

private:
  mode_t old_;
};

// Bind `sock` at `endpoint`; the ipc path ("" for other transports).
std::string bind_endpoint(zmq::socket_t &sock, const std::string &endpoint, mode_t mode) {
  std::string path;
  if (endpoint.rfind("ipc://", 0) == 0) {
    path = endpoint.substr(6);
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
  return path;
}

} // namespace

BoundSocket::BoundSocket(zmq::context_t &ctx, zmq::socket_type type, const std::string &endpoint,
                         const Options &options)
    : sock_(ctx, type) {
  sock_.set(zmq::sockopt::linger, 0);
  sock_.set(zmq::sockopt::maxmsgsize, options.maxmsgsize);
  sock_.set(zmq::sockopt::sndhwm, options.sndhwm);
  sock_.set(zmq::sockopt::rcvhwm, options.rcvhwm);
  ipc_path_ = bind_endpoint(sock_, endpoint, options.mode);
}

BoundSocket::~BoundSocket() {
  sock_.close();
  if (!ipc_path_.empty())
    ::unlink(ipc_path_.c_str());
}

} // namespace hbmon
