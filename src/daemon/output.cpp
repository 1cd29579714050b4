#include "daemon/output.hpp"

#include "daemon/log.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <system_error>
#include <unistd.h>

namespace hbmon {

OutputPipe::OutputPipe(Loop &loop, std::string app) : loop_(loop), app_(std::move(app)) {
  for (Stream &s : streams_) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    s.rd.reset(p[0]);
    ::close(p[1]); // each run opens its own (open_run)
    ::fcntl(s.rd.get(), F_SETFL, ::fcntl(s.rd.get(), F_GETFL) | O_NONBLOCK);
  }
  report_ = loop.timer([this] { report(Loop::now()); });
}

OutputPipe::OutputPipe(Loop &loop, std::string app, const handover::Output &was)
    : loop_(loop), app_(std::move(app)), lines_(was.lines), dropped_before_(was.dropped) {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    Stream &s = streams_[i];
    s.rd.reset(was.fds[2 * i]);
    if (was.fds[2 * i + 1] >= 0)
      ::close(was.fds[2 * i + 1]); // a write end an hbmond of format 1 held: not needed
    if (!s.rd)
      throw std::system_error(EBADF, std::generic_category(), "handed-over output pipe");
    s.splitter.feed(was.partial[i], [](std::string_view) {}); // shorter than a line: kept
    watch(s); // its run, or strays of one, may still write
  }
  ring_.resume(was.ring, was.ring_next);
  report_ = loop.timer([this] { report(Loop::now()); });
}

void OutputPipe::watch(Stream &s) {
  if (!s.watch)
    s.watch = loop_.watch(s.rd.get(), EPOLLIN, [this, &s](std::uint32_t) { on_readable(s); });
}

std::array<UniqueFd, 2> OutputPipe::open_run() {
  std::array<UniqueFd, 2> wr;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    Stream &s = streams_[i];
    // The pipe's own inode opened for writing: the read end, and what is
    // still unread in it, stay as they are.
    const std::string path = fmt::format("/proc/self/fd/{}", s.rd.get());
    wr[i].reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!wr[i])
      throw std::system_error(errno, std::generic_category(),
                              fmt::format("opening {} for writing", path));
  }
  for (Stream &s : streams_)
    watch(s);
  return wr;
}

handover::Output OutputPipe::handover() const {
  handover::Output o;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    o.fds[2 * i] = streams_[i].rd.get();
    o.partial[i] = streams_[i].splitter.pending();
  }
  o.lines = lines_;
  o.dropped = dropped();
  o.ring = ring_.last(ring_.size());
  o.ring_next = ring_.next_seq();
  return o;
}

OutputPipe::~OutputPipe() {
  for (Stream &s : streams_)
    s.splitter.flush([&, now = Loop::now()](std::string_view l) { emit(l, s.priority, now); });
  report(std::nullopt);
}

void OutputPipe::emit(std::string_view line, int priority, Loop::TimePoint now) {
  report(now); // a window that ended is told before the next one begins
  if (!limit_.admit(line.size(), now)) {
    if (!report_.armed())
      report_.arm(*limit_.report_due());
    return;
  }
  ++lines_;
  priority = take_level_prefix(line, priority);
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  ring_.push(wall.count(), priority, line);
  logging::app_output(app_, pid_, priority, line);
}

void OutputPipe::report(std::optional<Loop::TimePoint> now) {
  const auto n = limit_.take_report(now);
  if (!n)
    return;
  const auto &l = limit_.limits();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(l.interval).count();
  logging::app_event(
      app_, LogLevel::warning,
      fmt::format("{} lines of output dropped (more than {} lines or {} KiB in {} s)", n, l.lines,
                  l.bytes / 1024, secs));
  report_.disarm();
}

void OutputPipe::end_of_run() {
  const auto now = Loop::now();
  for (Stream &s : streams_) {
    auto emit = [this, &s, now](std::string_view l) { this->emit(l, s.priority, now); };
    char buf[65536];
    // Bounded: a stray that keeps writing cannot hold us here.
    for (int i = 0; i < 16; ++i) {
      ssize_t n = ::read(s.rd.get(), buf, sizeof buf);
      if (n <= 0)
        break;
      s.splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)), emit);
    }
    s.splitter.flush(emit);
  }
  report(std::nullopt); // its last words include how many were not logged
}

void OutputPipe::on_readable(Stream &s) {
  char buf[65536];
  ssize_t n = ::read(s.rd.get(), buf, sizeof buf);
  auto emit = [this, &s, now = Loop::now()](std::string_view l) { this->emit(l, s.priority, now); };
  if (n > 0) {
    s.splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)), emit);
  } else if (n == 0) {
    // The last writer is gone (the run ended, with any stray of it): its
    // last line is told, and the pipe is not watched until the next run.
    s.splitter.flush(emit);
    s.watch.reset();
  }
}

} // namespace hbmon
