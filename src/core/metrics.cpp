#include "core/metrics.hpp"

#include <cmath>
#include <fmt/format.h>
#include <iterator>

namespace hbmon::metrics {

namespace {

// `s` as the format allows it in a label value (`quoted`) or a HELP text:
// backslash and newline escaped in both, the double quote in a value.
void escape(std::string &out, std::string_view s, bool quoted) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quoted)
      out += "\\\"";
    else
      out += c;
  }
}

// A float as the format reads it: shortest round-trip digits, or +Inf,
// -Inf, NaN.
void put_value(std::string &out, double v) {
  if (std::isnan(v))
    out += "NaN";
  else if (std::isinf(v))
    out += v > 0 ? "+Inf" : "-Inf";
  else
    fmt::format_to(std::back_inserter(out), "{}", v);
}

} // namespace

void Writer::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  escape(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Writer::series(std::string_view name, std::initializer_list<Label> labels,
                    std::string_view extra_key, std::string_view extra_value) {
  out_ += name;
  if (labels.size() == 0 && extra_key.empty())
    return;
  char sep = '{';
  for (const auto &[key, value] : labels) {
    out_ += sep;
    out_ += key;
    out_ += "=\"";
    escape(out_, value, true);
    out_ += '"';
    sep = ',';
  }
  if (!extra_key.empty()) {
    out_ += sep;
    out_ += extra_key;
    out_ += "=\"";
    out_ += extra_value;
    out_ += '"';
  }
  out_ += '}';
}

void Writer::sample(std::string_view name, std::initializer_list<Label> labels,
                    std::uint64_t value) {
  series(name, labels);
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void Writer::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  series(name, labels);
  out_ += ' ';
  put_value(out_, value);
  out_ += '\n';
}

void Writer::histogram(std::string_view name, std::initializer_list<Label> labels,
                       std::span<const double> bounds, std::span<const std::uint64_t> counts,
                       double sum) {
  scratch_.assign(name);
  scratch_ += "_bucket";
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    le.clear();
    if (i < bounds.size())
      put_value(le, bounds[i]);
    else
      le = "+Inf";
    series(scratch_, labels, "le", le);
    fmt::format_to(std::back_inserter(out_), " {}\n", cumulative);
  }
  scratch_.assign(name);
  scratch_ += "_sum";
  sample(scratch_, labels, sum);
  scratch_.assign(name);
  scratch_ += "_count";
  sample(scratch_, labels, cumulative);
}

} // namespace hbmon::metrics
