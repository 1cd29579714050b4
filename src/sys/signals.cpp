#include "sys/signals.hpp"

#include <cerrno>
#include <csignal>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <system_error>

namespace hbmon {

SignalSource::SignalSource(Loop &loop, std::initializer_list<int> signals,
                           std::function<void(int)> handler)
    : handler_(std::move(handler)) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals)
    sigaddset(&set, s);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0)
    throw std::system_error(errno, std::generic_category(), "sigprocmask");
  ::signal(SIGPIPE, SIG_IGN);
  fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_)
    throw std::system_error(errno, std::generic_category(), "signalfd");
  watch_ = loop.watch(fd_.get(), EPOLLIN, [this](std::uint32_t) {
    signalfd_siginfo si;
    while (::read(fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si))
      handler_(static_cast<int>(si.ssi_signo));
  });
}

} // namespace hbmon
