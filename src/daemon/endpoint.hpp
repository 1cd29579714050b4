// Binding a ZeroMQ socket at an endpoint hbmond serves.
#pragma once

#include <string>
#include <sys/types.h>
#include <zmq.hpp>

namespace hbmon {

// Bind `sock` at `endpoint`. An ipc:// socket file is created with `mode`
// from the start (no window with wider permissions) and is never taken over
// from a process still serving it. Returns the ipc path ("" for other
// transports). Throws std::runtime_error naming the endpoint.
std::string bind_endpoint(zmq::socket_t &sock, const std::string &endpoint, mode_t mode);

} // namespace hbmon
