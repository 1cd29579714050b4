#include "core/log_limit.hpp"

namespace hbmon {

std::optional<std::uint64_t> LogLimit::occurred(TimePoint now) {
  if (last_ && now - *last_ < period_) {
    ++held_;
    return std::nullopt;
  }
  last_ = now;
  const std::uint64_t held = held_;
  held_ = 0;
  return held;
}

} // namespace hbmon
