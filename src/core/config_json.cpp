#include "core/config_json.hpp"

#include "core/config.hpp"

#include <fmt/format.h>
#include <optional>

namespace hbmon::config_detail {

namespace {

// A SAX consumer that builds the tree like nlohmann's own DOM parser, but
// refuses duplicate keys (naming the place) and absurd nesting.
class TreeBuilder {
public:
  explicit TreeBuilder(std::vector<Problem> &problems) : problems_(problems) {}

  json root;
  std::optional<std::size_t> error_position;
  std::string error_reason;

  bool null() { return add(json(nullptr)); }
  bool boolean(bool v) { return add(json(v)); }
  bool number_integer(json::number_integer_t v) { return add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return add(json(v)); }
  bool number_float(json::number_float_t v, const std::string &) { return add(json(v)); }
  bool string(std::string &v) { return add(json(std::move(v))); }
  bool binary(json::binary_t &) { return false; } // not produced by the JSON reader

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string &k) {
    Frame &f = stack_.back();
    if (f.value->contains(k))
      problems_.push_back({member(place(), k),
                           fmt::format("duplicate key \"{}\"; each key may appear only once in an "
                                       "object, remove one of them",
                                       k)});
    f.key = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::detail::exception &ex) {
    error_position = position;
    error_reason = short_reason(ex.what());
    return false;
  }

  bool too_deep() const { return too_deep_; }

private:
  struct Frame {
    json *value;
    std::string key; // current key, when value is an object
  };

  // The place of the child currently being built in the innermost container.
  std::string place() const {
    std::string p;
    for (std::size_t i = 0; i + 1 < stack_.size(); ++i)
      p = stack_[i].value->is_array() ? element(p, stack_[i].value->size() - 1)
                                      : member(p, stack_[i].key);
    return p;
  }

  json *insert(json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    Frame &f = stack_.back();
    if (f.value->is_array()) {
      f.value->push_back(std::move(v));
      return &f.value->back();
    }
    json &slot = (*f.value)[f.key];
    slot = std::move(v);
    return &slot;
  }

  bool add(json v) {
    insert(std::move(v));
    return true;
  }

  bool open(json v) {
    if (stack_.size() >= max_json_nesting) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back({insert(std::move(v)), {}});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax
  // error while parsing value - invalid literal; last read: 'tru'" -> the part
  // after the last " - ", which is what went wrong.
  static std::string short_reason(std::string_view what) {
    if (what.starts_with("[json.exception."))
      if (auto end = what.find("] "); end != std::string_view::npos)
        what.remove_prefix(end + 2);
    if (auto col = what.find("column "); col != std::string_view::npos)
      if (auto colon = what.find(": ", col); colon != std::string_view::npos)
        what.remove_prefix(colon + 2);
    if (what.starts_with("syntax error while parsing "))
      if (auto dash = what.find(" - "); dash != std::string_view::npos)
        what.remove_prefix(dash + 3);
    return std::string(what);
  }

  std::vector<Problem> &problems_;
  std::vector<Frame> stack_;
  bool too_deep_ = false;
};

} // namespace

json read_json(std::string_view text, const std::string &path, std::vector<Problem> &problems) {
  TreeBuilder tree(problems);
  if (json::sax_parse(text, &tree, json::input_format_t::json, true, false))
    return std::move(tree.root);
  std::string where = path;
  std::string reason = "nested deeper than " + std::to_string(max_json_nesting) + " levels";
  if (tree.error_position) {
    auto [line, column] = line_column(text, *tree.error_position);
    where = fmt::format("{}:{}:{}", path, line, column);
    reason = tree.error_reason;
  }
  // Duplicate keys found before the syntax error are still worth knowing.
  std::string message = fmt::format("{}: invalid JSON: {}", where, reason);
  for (std::size_t i = 0; i < problems.size() && i < max_reported; ++i)
    message += fmt::format("\n{}: {}: {}", path, problems[i].place, problems[i].what);
  throw ConfigError(message);
}

} // namespace hbmon::config_detail
