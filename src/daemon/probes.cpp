#include "daemon/probes.hpp"

#include "daemon/log.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace hbmon {

namespace {
std::chrono::milliseconds ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}
std::string secs(Duration d) { return fmt::format("{:g}s", to_seconds(d)); }
} // namespace

Probes::Probes(Loop &loop, ProcessRunner &runner, Verdict verdict)
    : loop_(loop), runner_(runner), verdict_(std::move(verdict)), net_(loop) {}

Probes::~Probes() {
  for (auto &[app, slot] : slots_)
    if (slot.exec > 0)
      runner_.signal(slot.exec, SIGKILL);
}

void Probes::started(App &a) {
  if (!a.cfg.probe || a.pid <= 0)
    return;
  ended(a); // whatever was left of an earlier process
  Slot &s = slots_[&a];
  s.pid = a.pid;
  s.next = loop_.timer([this, &a] { due(a); });
  s.next.arm(Loop::now() + a.cfg.probe->initial_delay);
}

void Probes::resumed(App &a, Loop::TimePoint next) {
  started(a);
  if (auto it = slots_.find(&a); it != slots_.end())
    it->second.next.arm(next);
}

std::optional<Loop::TimePoint> Probes::next_due(const App &a) const {
  auto it = slots_.find(const_cast<App *>(&a));
  if (it == slots_.end())
    return std::nullopt;
  const Slot &s = it->second;
  if (s.net || s.exec > 0 || s.queued)
    return Loop::now();
  return s.next.when();
}

void Probes::cancel_all() {
  std::vector<App *> apps;
  for (const auto &[app, slot] : slots_)
    apps.push_back(app);
  for (App *a : apps)
    ended(*a);
}

void Probes::ended(App &a) {
  auto it = slots_.find(&a);
  if (it == slots_.end())
    return;
  Slot &s = it->second;
  if (s.net)
    net_.cancel(*s.net);
  if (s.exec > 0)
    runner_.signal(s.exec, SIGKILL); // its exit handler finds no slot: no verdict
  if (s.queued)
    std::erase(exec_queue_, &a);
  slots_.erase(it);
}

void Probes::due(App &a) {
  Slot &s = slots_.at(&a);
  const ProbeConfig &p = *a.cfg.probe;
  s.next.arm(Loop::now() + p.interval);
  if (s.net || s.exec > 0 || s.queued)
    return; // the last one is still on: its timeout gives the verdict
  auto done = [this, &a](bool ok, std::string reason) {
    slots_.at(&a).net.reset();
    give(a, ok, std::move(reason));
  };
  switch (p.kind) {
  case ProbeKind::http:
    s.net = net_.http(p.url, ms(p.timeout), done);
    return;
  case ProbeKind::tcp:
    s.net = net_.tcp(p.host, p.port, ms(p.timeout), done);
    return;
  case ProbeKind::exec:
    s.timed_out = false;
    s.deadline = loop_.timer([this, &a] {
      Slot &slot = slots_.at(&a);
      if (slot.queued) {
        slot.queued = false;
        std::erase(exec_queue_, &a);
        give(a, false,
             fmt::format("could not start within {} ({} exec probes running)",
                         secs(a.cfg.probe->timeout), exec_running_));
      } else if (slot.exec > 0) {
        slot.timed_out = true;
        runner_.signal(slot.exec, SIGKILL);
      }
    });
    s.deadline.arm(Loop::now() + p.timeout);
    if (exec_running_ < max_exec_running) {
      run_exec(a);
    } else {
      s.queued = true;
      exec_queue_.push_back(&a);
    }
    return;
  }
}

void Probes::run_exec(App &a) {
  Slot &s = slots_.at(&a);
  AppConfig as_probe = a.cfg; // the app's account, cwd and environment
  as_probe.command = a.cfg.probe->argv;
  as_probe.heartbeat.reset(); // no endpoint of the app's: the probe is not the app
  as_probe.probe.reset();
  // Its output, for the debug log: a pipe for this run (or none, when fds
  // are short: the probe runs all the same).
  int p[2] = {-1, -1};
  UniqueFd write_end;
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
    s.output.reset(p[0]);
    write_end.reset(p[1]);
  }
  auto started = runner_.start(as_probe, write_end.get(), write_end.get(),
                               [this, &a](const ExitStatus &st) { exec_done(a, st); });
  write_end.reset(); // the probe holds it now, or nobody does
  if (auto *err = std::get_if<std::string>(&started)) {
    s.output.reset();
    s.deadline.disarm();
    give(a, false, "could not start: " + *err);
    return;
  }
  s.exec = std::get<pid_t>(started);
  s.output_bytes = 0;
  if (s.output)
    s.output_watch =
        loop_.watch(s.output.get(), EPOLLIN, [this, &a](std::uint32_t) { read_output(a, false); });
  ++exec_running_;
}

void Probes::read_output(App &a, bool to_the_end) {
  Slot &s = slots_.at(&a);
  if (!s.output)
    return;
  const auto emit = [&](std::string_view line) {
    if (logging::enabled(LogLevel::debug))
      logging::app_event(a.cfg.name, LogLevel::debug, fmt::format("probe: {}", line));
  };
  char buf[4096];
  bool eof = false;
  while (true) {
    const ssize_t n = ::read(s.output.get(), buf, sizeof buf);
    if (n <= 0) {
      eof = n == 0 || (errno != EAGAIN && errno != EINTR);
      break;
    }
    const std::size_t room = max_output_bytes - std::min(max_output_bytes, s.output_bytes);
    s.output_bytes += static_cast<std::size_t>(n);
    s.lines.feed(std::string_view(buf, std::min(static_cast<std::size_t>(n), room)), emit);
    if (!to_the_end)
      break; // once per wake-up: a chatty probe cannot hold the loop
  }
  if (eof || to_the_end) {
    s.lines.flush(emit);
    s.output_watch.reset();
    s.output.reset();
  }
}

void Probes::exec_done(App &a, const ExitStatus &st) {
  --exec_running_;
  next_exec();
  auto it = slots_.find(&a);
  if (it == slots_.end())
    return; // ended meanwhile: no verdict
  Slot &s = it->second;
  s.exec = 0;
  s.deadline.disarm();
  read_output(a, true); // what is left; a stray of the probe's may hold the pipe: not waited for
  if (s.timed_out)
    give(a, false, "timed out after " + secs(a.cfg.probe->timeout));
  else if (!st.exec_error.empty())
    give(a, false, "could not start: " + st.exec_error);
  else if (st.clean())
    give(a, true, "");
  else
    give(a, false, st.describe());
}

void Probes::next_exec() {
  while (exec_running_ < max_exec_running && !exec_queue_.empty()) {
    App *a = exec_queue_.front();
    exec_queue_.pop_front();
    slots_.at(a).queued = false;
    run_exec(*a);
  }
}

void Probes::give(App &a, bool ok, std::string reason) {
  auto it = slots_.find(&a);
  if (it == slots_.end())
    return;
  verdict_(a, it->second.pid, ok, std::move(reason));
}

} // namespace hbmon
