#include "daemon/output.hpp"

#include "daemon/log.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <system_error>

namespace hbmon {

OutputPipe::OutputPipe(Loop &loop, std::string app) : app_(std::move(app)) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  rd_.reset(p[0]);
  wr_.reset(p[1]);
  ::fcntl(rd_.get(), F_SETFL, ::fcntl(rd_.get(), F_GETFL) | O_NONBLOCK);
  watch_ = loop.watch(rd_.get(), EPOLLIN, [this](std::uint32_t) { on_readable(); });
  report_ = loop.timer([this] { report(Loop::now()); });
}

OutputPipe::~OutputPipe() {
  splitter_.flush([this, now = Loop::now()](std::string_view l) { emit(l, now); });
  report(std::nullopt);
}

void OutputPipe::emit(std::string_view line, Loop::TimePoint now) {
  report(now); // a window that ended is told before the next one begins
  if (!limit_.admit(line.size(), now)) {
    if (!report_.armed())
      report_.arm(*limit_.report_due());
    return;
  }
  ++lines_;
  logging::app_output(app_, pid_, line);
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
  auto emit = [this, now = Loop::now()](std::string_view l) { this->emit(l, now); };
  char buf[65536];
  // Bounded: a stray that keeps writing cannot hold us here.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::read(rd_.get(), buf, sizeof buf);
    if (n <= 0)
      break;
    splitter_.feed(std::string_view(buf, static_cast<std::size_t>(n)), emit);
  }
  splitter_.flush(emit);
  report(std::nullopt); // its last words include how many were not logged
}

void OutputPipe::on_readable() {
  char buf[65536];
  ssize_t n = ::read(rd_.get(), buf, sizeof buf);
  auto emit = [this, now = Loop::now()](std::string_view l) { this->emit(l, now); };
  if (n > 0) {
    splitter_.feed(std::string_view(buf, static_cast<std::size_t>(n)), emit);
  } else if (n == 0) {
    // cannot happen while we hold the write end; be safe anyway
    splitter_.flush(emit);
    watch_.reset();
  }
}

} // namespace hbmon
