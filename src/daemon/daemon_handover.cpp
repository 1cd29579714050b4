// The daemon's side of a re-exec (daemon/reexec.hpp): what it hands over,
// and taking over what was handed to it.
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "protocol/version.hpp"

#include <fmt/format.h>

namespace hbmon {

handover::State Daemon::state() const {
  handover::State s;
  s.version = program_version;
  s.started = started_;
  s.reexecs = reexecs_ + 1; // as the next one counts
  s.loop_lag = loop_.lag();
  s.written = Loop::now();
  s.child_nofile = settings_.supervisor.child_nofile;
  s.config = config_;
  if (settings_.supervisor.guardian)
    s.guardian = settings_.supervisor.guardian->handover();
  s.event_seq = reports_.last_seq();
  s.counters = counters();
  s.apps = sup_.hand_over();
  return s;
}

void Daemon::reexec(const std::string &trigger, Answer answer) {
  auto refuse = [&](std::string_view code, const std::string &why) {
    logging::daemon(LogLevel::warning, fmt::format("refused re-exec ({}): {}", trigger, why));
    if (answer)
      answer(error_reply(code, why));
  };
  if (!settings_.control_plane)
    return refuse("bad-request", "--exec mode does not re-exec");
  if (sup_.shutting_down())
    return refuse("shutting-down", "hbmond is shutting down");
  if (settings_.program.empty())
    return refuse("reexec-failed", "hbmond does not know the path it was started from");
  if (reloads_.running) {
    // Its result is part of what is handed over: the re-exec comes after it.
    logging::daemon(LogLevel::info,
                    fmt::format("re-exec ({}) waits for the reload in progress", trigger));
    reexec_waits_ = true;
    reexec_after_reload_.push_back(std::move(answer));
    return;
  }
  if (!reexec_) {
    Reexec::Hooks hooks;
    hooks.state = [this] {
      if (sup_.shutting_down())
        throw std::runtime_error("hbmond began to shut down");
      sup_.drain_heartbeats(); // what libzmq has read already is not lost
      // A child between its clone and its exec is no app's run yet: wait
      // for it (as every start once did), so that only runs are handed over.
      if (!sup_.settle_execs(std::chrono::seconds(1)))
        throw std::runtime_error("an app's start has not reached its exec after 1 s");
      return state();
    };
    hooks.write = [this](handover::State s, std::function<void(std::string)> done) {
      worker_.post([s = std::move(s), done = std::move(done)]() mutable -> Worker::Completion {
        std::string text = handover::write(s);
        return [text = std::move(text), done = std::move(done)] { done(text); };
      });
    };
    hooks.before_exec = [this] {
      sup_.cancel_probes();   // an exec probe's process must not outlive its timeout's timer
      sup_.kill_unrecorded(); // a kill that waits for its record goes now, or never
      reports_.reload_begins();
      logging::before_exec();
    };
    hooks.exec_failed = [this] {
      logging::exec_failed(loop_);
      sup_.resume_probes();
      reports_.reload_ends();
    };
    hooks.launch = [this](const SpawnRequest &r, ProcessRunner::ExitHandler h) {
      return sup_.launch(r, std::move(h));
    };
    reexec_ = std::make_unique<Reexec>(loop_, settings_.program, settings_.program_args,
                                       std::move(hooks));
  }
  reexec_->request(trigger, [answer](const std::string &error) {
    if (answer)
      answer(error_reply("reexec-failed", error));
  });
}

void Daemon::restore(const handover::State &s) {
  started_ = s.started;
  reexecs_ = s.reexecs;
  loop_.restore_lag(s.loop_lag);
  reports_.resume_seq(s.event_seq);
  counters_before_ = s.counters;
  logging::daemon(LogLevel::info,
                  fmt::format("re-executed (re-exec {}, from hbmond {}): taking over {} apps, "
                              "handed over in {:.1f} ms",
                              s.reexecs, s.version, s.apps.size(),
                              to_seconds(Loop::now() - s.written) * 1000));
  sup_.configure_forensics(s.config.forensics);
  sup_.restore(s.apps);
  reload("re-exec");
}

} // namespace hbmon
