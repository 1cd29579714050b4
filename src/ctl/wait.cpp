// The wait: one record per app, moved by events and by status replies alike
// (judge()), until none is pending or the bound has passed.
#include "ctl/wait.hpp"

#include "ctl/error.hpp"
#include "ctl/text.hpp"
#include "protocol/protocol.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>

namespace hbmon::ctl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Outcome {
  std::string app;
  std::string state;
  std::string reason; // why it is in `state`, as hbmond says it
  std::string news;   // the latest event about the end of a run ("pid 42 exited: ...")
  bool pending = true;
  bool ok = false;
};

// Events whose message says best why a start did not come through.
bool is_news(std::string_view event) {
  return event == "exited" || event == "start-failed" || event == "killed" || event == "failed";
}

class Wait {
public:
  Wait(const ControlTarget &target, std::string_view want, const json &reply)
      : target_(target), want_(want) {
    if (auto seq = reply.find("seq"); seq != reply.end() && seq->is_number_unsigned())
      seq_ = seq->get<std::uint64_t>();
    double longest = 0;
    if (auto apps = reply.find("apps"); apps != reply.end() && apps->is_array())
      for (const json &a : *apps) {
        apps_.push_back({text_field(a, "app"), "", "", "", true, false});
        longest = std::max(longest, number_field(a, "stop_timeout").value_or(0) +
                                        number_field(a, "grace").value_or(0));
        judge(apps_.back(), text_field(a, "state"), text_field(a, "reason"));
      }
    bound_ = longest + wait_margin;
    deadline_ = Clock::now() +
                std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(bound_));
  }

  json run(zmq::socket_t &events) {
    auto next_status = Clock::now() + status_every;
    while (pending() && Clock::now() < deadline_) {
      if (readable(events, std::min(next_status, deadline_)))
        drain(events);
      // Also while other apps' events keep coming.
      if (pending() && Clock::now() >= next_status) {
        ask_status();
        next_status = Clock::now() + status_every;
      }
    }
    return outcome();
  }

private:
  bool pending() const {
    return std::any_of(apps_.begin(), apps_.end(), [](const Outcome &o) { return o.pending; });
  }

  Outcome *find(std::string_view app) {
    for (auto &o : apps_)
      if (o.app == app && o.pending)
        return &o;
    return nullptr;
  }

  // Where the app is now decides: there (ok), somewhere that ends the wait
  // (failed), or still on its way.
  void judge(Outcome &o, const std::string &state, const std::string &reason) {
    if (state.empty())
      return;
    o.state = state;
    if (!reason.empty())
      o.reason = reason;
    const bool failed = state == "backoff" || state == "failed" || state == "exited" ||
                        (want_ == "running" && state == "stopped") ||
                        (want_ == "stopped" && (state == "starting" || state == "running"));
    if (state == want_ || failed) {
      o.pending = false;
      o.ok = !failed;
    }
  }

  bool readable(zmq::socket_t &events, Clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    zmq::pollitem_t item{events.handle(), 0, ZMQ_POLLIN, 0};
    int rc = ::zmq_poll(&item, 1, std::max<long>(left.count(), 0));
    if (rc < 0 && zmq_errno() != EINTR)
      throw zmq::error_t();
    return rc > 0;
  }

  void drain(zmq::socket_t &events) {
    zmq::message_t msg;
    while (events.recv(msg, zmq::recv_flags::dontwait)) {
      json e = json::parse(msg.to_string_view(), nullptr, false);
      if (!e.is_object())
        continue;
      auto seq = e.find("seq");
      if (seq == e.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() <= seq_)
        continue; // from before the command
      Outcome *o = find(text_field(e, "app"));
      if (!o)
        continue;
      std::string event = text_field(e, "event");
      if (is_news(event))
        o->news = text_field(e, "message");
      judge(*o, text_field(e, "state"), "");
    }
  }

  void ask_status() {
    Request req{.cmd = Command::status};
    for (const auto &o : apps_)
      if (o.pending)
        req.apps.push_back(o.app);
    json reply = call(target_, build_request(req));
    if (auto apps = reply.find("apps"); apps != reply.end() && apps->is_array())
      for (const json &a : *apps)
        if (Outcome *o = find(text_field(a, "name")))
          judge(*o, text_field(a, "state"), text_field(a, "reason"));
  }

  json outcome() const {
    json apps = json::array();
    std::string failures;
    bool timed_out = false;
    for (const auto &o : apps_) {
      const std::string &why = o.news.empty() ? o.reason : o.news;
      json one = {{"app", o.app}, {"state", o.state}, {"ok", o.ok && !o.pending}};
      if (!o.ok || o.pending)
        one["reason"] = why;
      apps.push_back(std::move(one));
      if (o.ok && !o.pending)
        continue;
      timed_out = timed_out || o.pending;
      std::string line =
          o.pending ? fmt::format("{}: still {} after {:g}s, not {}", o.app,
                                  o.state.empty() ? "unknown" : o.state, bound_, want_)
                    : fmt::format("{}: {}{}{}", o.app, o.state, why.empty() ? "" : ": ", why);
      failures += (failures.empty() ? "" : "\n") + line;
    }
    if (failures.empty())
      return {{"apps", std::move(apps)}};
    throw CtlError(exit_refused, failures, timed_out ? "wait-timeout" : "wait-failed",
                   {{"apps", std::move(apps)}});
  }

  const ControlTarget &target_;
  std::string want_;
  std::uint64_t seq_ = 0;
  std::vector<Outcome> apps_;
  double bound_ = 0;
  Clock::time_point deadline_;
};

} // namespace

json wait_for_outcome(const ControlTarget &target, zmq::socket_t &events, std::string_view want,
                      const json &reply) {
  return Wait(target, want, reply).run(events);
}

} // namespace hbmon::ctl
