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
      refusal_log_(refusal_log_every), beat_log_(beat_log_every), refused_log_(refusal_log_every) {}

HeartbeatIntake::~HeartbeatIntake() { set_.forget(this); }

std::string HeartbeatIntake::bind(zmq::context_t &ctx, Loop &loop, const AppConfig &app) {
  if (!app.heartbeat || socket_ || notify_)
    return {};
  const std::string &endpoint = app.heartbeat->endpoint;
  try {
    if (app.heartbeat->protocol == HeartbeatProtocol::notify) {
      auto handler = [this](const NotifySocket::Datagram &d) { on_datagram(d); };
      auto wake = [this] { set_.wake(this); };
      if (handed_over_) {
        notify_ =
            std::make_unique<NotifySocket>(loop, endpoint, std::move(handed_over_), handler, wake);
        set_.wake(this); // what came during the exec is read at once
      } else {
        notify_ = std::make_unique<NotifySocket>(loop, endpoint, app.uid, app.gid, handler, wake);
      }
      ipc_ = true;
      return {};
    }
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
  c.connections_refused = connections_refused_before_;
  if (socket_)
    c.connections_refused += socket_->connections_refused();
  return c;
}

void HeartbeatIntake::resume(const AppCounters &counters, UniqueFd notify_socket) {
  counters_ = counters;
  connections_refused_before_ = std::exchange(counters_.connections_refused, 0);
  handed_over_ = std::move(notify_socket);
}

void HeartbeatIntake::set_process(pid_t pid) {
  pid_ = pid;
  senders_.reset();
}

void HeartbeatIntake::drain_all() {
  while (drain()) {
  }
}

bool HeartbeatIntake::drain() {
  if (notify_)
    return notify_->drain(drain_budget);
  return socket_ && socket_->drain(drain_budget);
}

bool HeartbeatIntake::sender_ok(const std::optional<PeerCred> &peer) {
  const auto walk = [](pid_t pid, pid_t ancestor) { return is_descendant(pid, ancestor); };
  if (!ipc_ || (peer && senders_.accept(pid_, peer->pid, &Loop::now, start_times_, walk)))
    return true;
  ++counters_.heartbeats_refused;
  if (auto held = refusal_log_.occurred(Loop::now()))
    logging::app_event(
        app_, LogLevel::warning,
        fmt::format("refused a heartbeat from pid {} (uid {}): not pid {} or its descendant{}",
                    peer ? peer->pid : 0, peer ? peer->uid : 0, pid_,
                    *held ? fmt::format(" ({} more since the last report)", *held) : ""));
  return false;
}

void HeartbeatIntake::delivered(HeartbeatMsg m) {
  if (m.beat && logging::enabled(LogLevel::debug))
    if (auto held = beat_log_.occurred(Loop::now()))
      logging::app_event(app_, LogLevel::debug,
                         *held ? fmt::format("{} heartbeats", *held + 1) : "heartbeat");
  beat_(std::move(m));
}

void HeartbeatIntake::on_message(std::string_view data, std::optional<PeerCred> peer,
                                 bool multipart) {
  if (multipart) {
    ++counters_.messages_dropped;
    return;
  }
  if (sender_ok(peer))
    delivered(parse_heartbeat(data));
}

void HeartbeatIntake::on_datagram(const NotifySocket::Datagram &d) {
  counters_.fds_closed += d.fds;
  if (d.truncated) {
    ++counters_.messages_dropped;
    return;
  }
  // Judged while the sender's fds are still open: systemd-notify waits on
  // its barrier's fd, so it is still there to be looked up.
  if (!sender_ok(d.peer))
    return;
  HeartbeatMsg m = parse_heartbeat(d.data, HeartbeatProtocol::notify);
  std::string refused;
  if (m.mainpid)
    refused = "MAINPID= (hbmond watches the process it started)";
  if (d.fds > (m.barrier ? 1U : 0U))
    refused += fmt::format(
        "{}{} fd{} passed{}", refused.empty() ? "" : " and ", d.fds, d.fds == 1 ? "" : "s",
        m.fdstore ? " with FDSTORE=1 (hbmond keeps no fd store), closed" : ", closed");
  if (!refused.empty())
    if (auto held = refused_log_.occurred(Loop::now()))
      logging::app_event(
          app_, LogLevel::warning,
          fmt::format("refused {}{}", refused,
                      *held ? fmt::format(" ({} more since the last report)", *held) : ""));
  delivered(std::move(m));
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
