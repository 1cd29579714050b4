// `hbmonctl watch`: follow hbmond's event stream (a ZeroMQ PUB socket) and print
// each event, as a line of text or as one JSON object per line, until SIGINT or
// SIGTERM. When hbmond goes away it keeps waiting: ZeroMQ reconnects by itself.
#pragma once

#include <string>
#include <zmq.hpp>

namespace hbmon::ctl {

// A SUB socket following every event at `events_endpoint`.
zmq::socket_t subscribe_events(zmq::context_t &ctx, const std::string &events_endpoint);

// Returns the exit status: 0 after a signal, 1 when stdout can no longer be written.
int watch_events(const std::string &events_endpoint, bool json);

} // namespace hbmon::ctl
