// Precompiled for the unoptimized builds (option pch_src): common.hpp, and
// the logger and ZeroMQ headers of the daemon's own libraries.

#include "pch/common.hpp"

#include <spdlog/spdlog.h>
#include <zmq.hpp>
