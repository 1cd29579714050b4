#include "daemon/heartbeat_intake.hpp"

#include "daemon/log.hpp"
#include "sys/loop.hpp"
#include "sys/proc.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace hbmon {

namespace {
constexpr auto refusal_log_every = std::chrono::seconds(10);
constexpr auto beat_log_every = std::chrono::seconds(1);
constexpr auto negative_cache_for = std::chrono::seconds(1);
} // namespace

HeartbeatIntake::HeartbeatIntake(std::string app, IntakeSet &set, Beat beat)
    : app_(std::move(app)), set_(set), beat_(std::move(beat)), senders_(negative_cache_for),
      refusal_log_(refusal_log_every), beat_log_(beat_log_every) {}

HeartbeatIntake::~HeartbeatIntake() { set_.forget(this); }

std::string HeartbeatIntake::bind(zmq::context_t &ctx, Loop &loop, const AppConfig &app) {
  if (!app.heartbeat || socket_)
    return {};
  const std::string &endpoint = app.heartbeat->endpoint;
  try {
    const BoundSocket::Guard guard{loop,
                                   fmt::format("{}'s heartbeat socket", app_),
                                   {.per_uid = connections_per_user},
                                   set_.connections()};
    socket_ = std::make_unique<HeartbeatSocket>(
        ctx, loop, endpoint, app.uid, app.gid, guard,
        [this](std::string_view d, std::optional<PeerCred> p, bool mp) { on_message(d, p, mp); },
        [this] { set_.wake(this); });
  } catch (const std::exception &e) {
    return e.what();
  }
  ipc_ = endpoint.rfind("ipc://", 0) == 0;
  if (endpoint.rfind("tcp://", 0) == 0)
    logging::app_event(app_, LogLevel::warning,
                       "heartbeats over tcp:// cannot be checked for their sender");
  return {};
}

AppCounters HeartbeatIntake::counters() const {
  AppCounters c = counters_;
  if (socket_)
    c.connections_refused = socket_->connections_refused();
  return c;
}

void HeartbeatIntake::set_process(pid_t pid) {
  pid_ = pid;
  senders_.reset();
}

void HeartbeatIntake::drain_all() {
  while (drain()) {
  }
}

bool HeartbeatIntake::drain() { return socket_ && socket_->drain(drain_budget); }

void HeartbeatIntake::on_message(std::string_view data, std::optional<PeerCred> peer,
                                 bool multipart) {
  if (multipart) {
    ++counters_.messages_dropped;
    return;
  }
  const auto walk = [](pid_t pid, pid_t ancestor) { return is_descendant(pid, ancestor); };
  if (ipc_ && !(peer && senders_.accept(pid_, peer->pid, &Loop::now, start_times_, walk))) {
    ++counters_.heartbeats_refused;
    if (auto held = refusal_log_.occurred(Loop::now()))
      logging::app_event(
          app_, LogLevel::warning,
          fmt::format("refused a heartbeat from pid {} (uid {}): not pid {} or its descendant{}",
                      peer ? peer->pid : 0, peer ? peer->uid : 0, pid_,
                      *held ? fmt::format(" ({} more since the last report)", *held) : ""));
    return;
  }
  if (logging::enabled(LogLevel::debug))
    if (auto held = beat_log_.occurred(Loop::now()))
      logging::app_event(app_, LogLevel::debug,
                         *held ? fmt::format("{} heartbeats", *held + 1) : "heartbeat");
  beat_(parse_heartbeat(data));
}

void IntakeSet::wake(HeartbeatIntake *in) {
  if (!in->woken_) {
    in->woken_ = true;
    woken_.push_back(in);
  }
}

void IntakeSet::forget(HeartbeatIntake *in) { std::erase(woken_, in); }

bool IntakeSet::drain() {
  // Two lists that trade places each turn: no allocation once they have grown.
  todo_.clear();
  todo_.swap(woken_);
  for (HeartbeatIntake *in : todo_) {
    in->woken_ = false;
    if (in->drain())
      wake(in);
  }
  return !woken_.empty();
}

} // namespace hbmon
