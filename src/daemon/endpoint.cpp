#include "daemon/endpoint.hpp"

#include "protocol/socket_probe.hpp"
#include "sys/proc.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <sys/stat.h>

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

} // namespace

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

} // namespace hbmon
