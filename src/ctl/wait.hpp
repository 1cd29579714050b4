// The wait of `start`, `stop` and `restart` for their outcome (hbmonctl(1),
// "Waiting"): start and restart wait for `running`, stop for `stopped`; an
// app that reaches `backoff`, `failed` or `exited` instead (or, for stop,
// is started again; for start, is stopped) ends the wait as a failure with
// its reason. The wait for all the apps is bounded by the longest of their
// stop_timeout + grace, plus wait_margin.
//
// How: by the events stream, so a state that lasts a moment (a backoff with
// restart_delay 0) is seen; the stream was subscribed to before the command
// was sent, and events numbered at or below the reply's "seq" came before
// the command and are ignored. A subscription takes a moment to reach
// hbmond (ZeroMQ's slow joiner) and a reader may lose events past the
// high-water mark, so the state is also asked for (status) every
// status_every while apps are pending: never longer than that is lost.
#pragma once

#include "ctl/client.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string_view>
#include <zmq.hpp>

namespace hbmon::ctl {

inline constexpr double wait_margin = 5.0; // seconds
inline constexpr auto status_every = std::chrono::milliseconds(500);

// `reply` is hbmond's to the command ({"seq": N, "apps": [{"app", "state",
// "reason", "stop_timeout", "grace"}, ...]}); `want` is "running" or
// "stopped". Returns {"apps": [{"app", "state"}, ...]} once every app got
// there; throws CtlError(exit_refused, "wait-failed" or "wait-timeout")
// with every app's outcome as its detail otherwise.
nlohmann::json wait_for_outcome(const ControlTarget &target, zmq::socket_t &events,
                                std::string_view want, const nlohmann::json &reply);

} // namespace hbmon::ctl
