#include "core/env_file.hpp"

#include <fmt/format.h>

namespace hbmon {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

class Parser {
public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::variant<EnvVars, std::string> run() {
    while (true) {
      skip_blank_lines();
      if (at_end())
        return std::move(vars_);
      if (peek() == '#' || peek() == ';') {
        skip_line();
        continue;
      }
      const std::size_t key_line = line_;
      std::string key;
      while (!at_end() && peek() != '=' && peek() != '\n')
        key += next();
      while (!key.empty() && blank(key.back()))
        key.pop_back();
      if (at_end() || peek() == '\n')
        return fmt::format("line {}: no '=' in it; write KEY=VALUE", key_line);
      next(); // '='
      if (auto why = key_problem(key); !why.empty())
        return fmt::format("line {}: {}", key_line, why);
      std::string value, error;
      if (!read_value(value, error))
        return fmt::format("line {}: {}", key_line, error);
      if (value.find('\0') != std::string::npos)
        return fmt::format("line {}: the value must not contain a NUL byte", key_line);
      vars_[key] = std::move(value);
    }
  }

private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  char next() {
    const char c = s_[pos_++];
    if (c == '\n')
      ++line_;
    return c;
  }
  void skip_line() {
    while (!at_end() && next() != '\n') {
    }
  }
  void skip_blank_lines() {
    while (!at_end() && (blank(peek()) || peek() == '\n'))
      next();
  }

  static std::string key_problem(const std::string &key) {
    if (key.empty())
      return "the variable name is empty";
    if (key.front() >= '0' && key.front() <= '9')
      return fmt::format("the variable name \"{}\" starts with a digit", key);
    for (char c : key)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return "the variable name holds a control character";
    return refused_env_key(key);
  }

  bool read_value(std::string &out, std::string &error) {
    while (!at_end() && blank(peek()))
      next();
    if (at_end() || peek() == '\n')
      return true;
    if (peek() == '"' || peek() == '\'') {
      const char quote = next();
      while (true) {
        if (at_end()) {
          error = fmt::format("the {} quote is never closed", quote == '"' ? "double" : "single");
          return false;
        }
        const char c = next();
        if (c == quote)
          break;
        if (quote == '"' && c == '\\' && !at_end()) {
          const char e = next();
          if (e == '\n')
            continue; // joins the next line
          if (e != '"' && e != '\\' && e != '`' && e != '$')
            out += '\\';
          out += e;
          continue;
        }
        out += c;
      }
      while (!at_end() && blank(peek()))
        next();
      if (!at_end() && peek() != '\n') {
        error = "text after the closing quote; quote the whole value";
        return false;
      }
      return true;
    }
    std::size_t kept = 0; // out's length without trailing blanks
    while (!at_end() && peek() != '\n') {
      const char c = next();
      if (c == '\\' && !at_end()) {
        const char e = next();
        if (e != '\n')
          out += e;
        kept = out.size();
        continue;
      }
      out += c;
      if (!blank(c))
        kept = out.size();
    }
    out.resize(kept);
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  EnvVars vars_;
};

} // namespace

std::string refused_env_key(std::string_view key) {
  if (key.starts_with("HBMON_"))
    return fmt::format("{} is set by hbmond for each app and cannot be overridden", key);
  if (key == "NOTIFY_SOCKET" || key.starts_with("WATCHDOG_"))
    return fmt::format("{} belongs to hbmond's service manager and is never passed to apps", key);
  return "";
}

std::variant<EnvVars, std::string> parse_env_file(std::string_view text) {
  return Parser(text).run();
}

} // namespace hbmon
