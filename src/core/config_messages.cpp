#include "core/config_messages.hpp"

#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>

namespace hbmon::config_detail {

void throw_problems(const std::string &path, const std::vector<Problem> &problems) {
  std::string text;
  const std::size_t shown = std::min(problems.size(), max_reported);
  for (std::size_t i = 0; i < shown; ++i) {
    const Problem &p = problems[i];
    if (!text.empty())
      text += '\n';
    const std::string &file = p.file.empty() ? path : p.file;
    text += p.place.empty() ? fmt::format("{}: {}", file, p.what)
                            : fmt::format("{}: {}: {}", file, p.place, p.what);
  }
  if (problems.size() > shown)
    text += fmt::format("\n{}: ... and {} more problems", path, problems.size() - shown);
  throw ConfigError(text);
}

std::string member(std::string_view base, std::string_view key) {
  const bool plain = !key.empty() && !std::isdigit(static_cast<unsigned char>(key.front())) &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                     });
  if (plain)
    return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
  return fmt::format("{}[{}]", base,
                     json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string element(std::string_view base, std::size_t i) { return fmt::format("{}[{}]", base, i); }

std::string quote(std::string_view s) {
  constexpr std::size_t max = 60;
  std::string text(s.substr(0, max));
  std::string q = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > max)
    q.insert(q.size() - 1, "...");
  return q;
}

std::string number_text(const json &v) {
  if (v.is_number_unsigned())
    return fmt::format("{}", v.get<std::uint64_t>());
  if (v.is_number_integer())
    return fmt::format("{}", v.get<std::int64_t>());
  const double d = v.get<double>();
  if (!std::isfinite(d))
    return "a number too large to represent";
  return fmt::format("{}", d);
}

std::string describe(const json &v) {
  switch (v.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return v.get<bool>() ? "true" : "false";
  case json::value_t::string:
    return "string " + quote(v.get_ref<const std::string &>());
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
  case json::value_t::number_float:
    return "number " + number_text(v);
  case json::value_t::array:
    return "an array";
  case json::value_t::object:
    return "an object";
  default:
    return "a value of an unexpected kind";
  }
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace

std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string_view> closest(std::string_view word, Keys choices) {
  if (word.size() > 64)
    return std::nullopt;
  const std::string w = lower(word);
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;
  for (std::string_view c : choices) {
    const std::size_t d = levenshtein(w, lower(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string join_quoted(Keys words) {
  std::string out;
  for (std::string_view w : words)
    out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", w);
  return out;
}

std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t position) {
  const std::size_t at = std::min(position > 0 ? position - 1 : 0, text.size());
  const std::string_view before = text.substr(0, at);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t nl = before.rfind('\n');
  const std::size_t column = nl == std::string_view::npos ? at + 1 : at - nl;
  return {line, column};
}

} // namespace hbmon::config_detail
