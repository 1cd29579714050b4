// Cuts a byte stream into lines for the log. A line longer than the bound
// is emitted in pieces instead of being buffered without end; bytes are
// passed through as they are (the logger makes them printable).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hbmon {

class LineSplitter {
public:
  explicit LineSplitter(std::size_t max_line = 4096) : max_(max_line) {}

  // Calls emit(std::string_view line) for every complete (or too long) line.
  template <typename Emit> void feed(std::string_view data, Emit &&emit) {
    while (!data.empty()) {
      auto nl = data.find('\n');
      std::string_view chunk = data.substr(0, nl);
      if (buf_.size() + chunk.size() > max_) {
        std::size_t take = max_ - buf_.size();
        buf_.append(chunk.substr(0, take));
        emit_line(emit);
        data.remove_prefix(take);
        continue;
      }
      if (nl == std::string_view::npos) {
        buf_.append(chunk);
        return;
      }
      buf_.append(chunk);
      emit_line(emit);
      data.remove_prefix(nl + 1);
    }
  }

  // End of stream: emit what is left.
  template <typename Emit> void flush(Emit &&emit) {
    if (!buf_.empty())
      emit_line(emit);
  }

  std::size_t buffered() const { return buf_.size(); }
  // The line begun and not ended yet (a re-exec hands it over, and the
  // next splitter is fed it first).
  const std::string &pending() const { return buf_; }

private:
  template <typename Emit> void emit_line(Emit &emit) {
    if (!buf_.empty() && buf_.back() == '\r')
      buf_.pop_back();
    emit(std::string_view(buf_));
    buf_.clear();
  }

  std::size_t max_;
  std::string buf_;
};

} // namespace hbmon
