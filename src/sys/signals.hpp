// Signals as loop events: the given signals are blocked and read from a
// signalfd. SIGPIPE is ignored (a vanished peer is an EPIPE, not a death).
#pragma once

#include "sys/fd.hpp"
#include "sys/loop.hpp"

#include <functional>
#include <initializer_list>

namespace hbmon {

class SignalSource {
public:
  SignalSource(Loop &loop, std::initializer_list<int> signals, std::function<void(int)> handler);
  SignalSource(const SignalSource &) = delete;
  SignalSource &operator=(const SignalSource &) = delete;

private:
  UniqueFd fd_;
  std::function<void(int)> handler_;
  Loop::Watch watch_;
};

} // namespace hbmon
