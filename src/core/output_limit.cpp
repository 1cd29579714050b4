#include "core/output_limit.hpp"

namespace hbmon {

bool OutputLimit::admit(std::size_t bytes, TimePoint now) {
  if (now >= end_) {
    end_ = now + limits_.interval;
    lines_ = bytes_ = 0;
  }
  if (lines_ + 1 > limits_.lines || bytes_ + bytes > limits_.bytes) {
    ++dropped_;
    ++dropped_total_;
    return false;
  }
  ++lines_;
  bytes_ += bytes;
  return true;
}

std::uint64_t OutputLimit::take_report(std::optional<TimePoint> now) {
  if (!dropped_ || (now && *now < end_))
    return 0;
  const std::uint64_t n = dropped_;
  dropped_ = 0;
  return n;
}

std::optional<OutputLimit::TimePoint> OutputLimit::report_due() const {
  if (!dropped_)
    return std::nullopt;
  return end_;
}

} // namespace hbmon
