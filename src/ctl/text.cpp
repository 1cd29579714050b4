// Formatting rules of the table and the event lines; see text.hpp.
#include "ctl/text.hpp"

#include <cmath>
#include <ctime>
#include <fmt/format.h>

namespace hbmon::ctl {

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) // also NaN
    seconds = 0;
  auto s = static_cast<long long>(std::min(seconds, 1e15));
  if (s < 60)
    return fmt::format("{}s", s);
  if (s < 3600)
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400)
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string format_age(double seconds) {
  if (seconds < 59.95)
    return fmt::format("{:.1f}s ago", std::max(seconds, 0.0));
  return format_duration(seconds) + " ago";
}

std::string format_timestamp(double unix_seconds) {
  auto whole = static_cast<std::time_t>(std::floor(unix_seconds));
  auto millis = static_cast<int>(std::lround((unix_seconds - std::floor(unix_seconds)) * 1000));
  if (millis == 1000) {
    ++whole;
    millis = 0;
  }
  std::tm tm{};
  char buf[32];
  if (!::localtime_r(&whole, &tm) || !std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm))
    return fmt::format("{:.3f}", unix_seconds);
  return fmt::format("{}.{:03}", buf, millis);
}

std::string text_field(const nlohmann::json &obj, const char *key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string()
             ? printable(it->get_ref<const std::string &>(), for_terminal)
             : "";
}

std::optional<double> number_field(const nlohmann::json &obj, const char *key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number())
    return std::nullopt;
  return it->get<double>();
}

} // namespace hbmon::ctl
