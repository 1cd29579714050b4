// The watch loop: zmq_poll with a short timeout and a flag set by the signal
// handler, so Ctrl-C is noticed within poll_ms without a busy loop.
#include "ctl/watch.hpp"

#include "ctl/error.hpp"
#include "ctl/render.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <zmq.hpp>

namespace hbmon::ctl {
namespace {

// How long one zmq_poll waits: the latency of noticing a signal. No SA_RESTART,
// so a signal usually interrupts the poll at once anyway.
constexpr long poll_ms = 200;

volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) { stop_requested = 1; }

void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM})
    ::sigaction(sig, &sa, nullptr);
}

// Prints one event; false when stdout is gone. Frames that are not JSON
// objects are not events and are skipped.
bool print_event(const zmq::message_t &msg, bool json) {
  auto event = nlohmann::json::parse(msg.to_string_view(), nullptr, false);
  if (event.is_discarded() || !event.is_object())
    return true;
  std::string line = json ? dump_line(event) + '\n' : render_event(event);
  return std::fputs(line.c_str(), stdout) >= 0 && std::fflush(stdout) == 0;
}

// Prints every queued event; false when stdout is gone.
bool drain(zmq::socket_t &sub, bool json) {
  zmq::message_t msg;
  while (!stop_requested && sub.recv(msg, zmq::recv_flags::dontwait))
    if (!print_event(msg, json))
      return false;
  return true;
}

// True when the socket has something to read; false on timeout or a signal.
bool wait_readable(zmq::socket_t &sub) {
  zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
  int rc = ::zmq_poll(&item, 1, poll_ms);
  if (rc < 0 && zmq_errno() != EINTR)
    throw zmq::error_t();
  return rc > 0;
}

} // namespace

zmq::socket_t subscribe_events(zmq::context_t &ctx, const std::string &endpoint) {
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, "");
  try {
    sub.connect(endpoint);
  } catch (const zmq::error_t &e) {
    throw CtlError(exit_refused,
                   fmt::format("cannot follow hbmond's events at '{}': {}", endpoint, e.what()),
                   "no-events");
  }
  return sub;
}

int watch_events(const std::string &events_endpoint, bool json) {
  catch_stop_signals();
  zmq::context_t ctx;
  zmq::socket_t sub = subscribe_events(ctx, events_endpoint);
  while (!stop_requested) {
    try {
      if (wait_readable(sub) && !drain(sub, json))
        return exit_refused;
    } catch (const zmq::error_t &e) {
      if (e.num() != EINTR)
        throw;
    }
  }
  return exit_ok;
}

} // namespace hbmon::ctl
