#include "daemon/output.hpp"

#include "daemon/log.hpp"

#include <cerrno>
#include <fcntl.h>
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
}

OutputPipe::~OutputPipe() {
  splitter_.flush([this](std::string_view l) { emit(l); });
}

void OutputPipe::emit(std::string_view line) {
  ++lines_;
  logging::app_output(app_, pid_, line);
}

void OutputPipe::end_of_run() {
  auto emit = [this](std::string_view l) { this->emit(l); };
  char buf[65536];
  // Bounded: a stray that keeps writing cannot hold us here.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = ::read(rd_.get(), buf, sizeof buf);
    if (n <= 0)
      break;
    splitter_.feed(std::string_view(buf, static_cast<std::size_t>(n)), emit);
  }
  splitter_.flush(emit);
}

void OutputPipe::on_readable() {
  char buf[65536];
  ssize_t n = ::read(rd_.get(), buf, sizeof buf);
  if (n > 0) {
    splitter_.feed(std::string_view(buf, static_cast<std::size_t>(n)),
                   [this](std::string_view l) { emit(l); });
  } else if (n == 0) {
    // cannot happen while we hold the write end; be safe anyway
    splitter_.flush([this](std::string_view l) { emit(l); });
    watch_.reset();
  }
}

} // namespace hbmon
