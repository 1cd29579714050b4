#include "core/log_ring.hpp"

#include <algorithm>

namespace hbmon {

void LogRing::push(std::int64_t time_us, int priority, std::string_view text) {
  if (text.size() > line_bytes_) {
    std::size_t cut = line_bytes_;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
      --cut; // text[cut] continues a character: cut before it
    text = text.substr(0, cut);
  }
  if (lines_.size() < cap_) {
    lines_.push_back({});
  }
  LogLine &l = lines_[(next_ - base_) % cap_];
  l.seq = next_++;
  l.time_us = time_us;
  l.priority = priority;
  l.text.assign(text);
}

void LogRing::resume(const std::vector<LogLine> &lines, std::uint64_t next) {
  lines_.clear();
  const std::size_t skip = lines.size() > cap_ ? lines.size() - cap_ : 0;
  base_ = next_ = lines.size() > skip ? lines[skip].seq : next;
  // The ring's lines are consecutive: each takes the number it had.
  for (std::size_t i = skip; i < lines.size(); ++i)
    push(lines[i].time_us, lines[i].priority, lines[i].text);
}

std::vector<LogLine> LogRing::last(std::size_t n) const {
  const std::uint64_t kept = lines_.size();
  const std::uint64_t from = next_ - std::min<std::uint64_t>(n, kept);
  return range(from, n);
}

std::vector<LogLine> LogRing::since(std::uint64_t seq, std::size_t n) const {
  return range(std::max(seq + 1, first()), n);
}

std::vector<LogLine> LogRing::range(std::uint64_t from, std::size_t n) const {
  std::vector<LogLine> out;
  for (std::uint64_t s = from; s < next_ && out.size() < n; ++s)
    out.push_back(lines_[(s - base_) % cap_]);
  return out;
}

int take_level_prefix(std::string_view &line, int fallback) {
  if (line.size() >= 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
    const int p = line[1] - '0';
    line.remove_prefix(3);
    return p;
  }
  return fallback;
}

} // namespace hbmon
