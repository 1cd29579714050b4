// How the config code words what it finds wrong. Each mistake is a Problem:
// its place, written the way a reader points at it (`apps[2].heartbeat.
// interval`, `apps[0].env["A=B"]`), and what is wrong, with the value found
// quoted and described the same way everywhere and, for a misspelt key or
// value, a "did you mean" guess.
//
// Contract: pure text functions, shared by the pieces of parse_config()
// (config_json, config_reader, config_verify); not a public API.
// throw_problems() makes the one ConfigError that lists them all, one line
// each, at most max_reported.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hbmon::config_detail {

using json = nlohmann::json;

// Problems listed in full in one ConfigError; the rest are counted.
inline constexpr std::size_t max_reported = 100;

struct Problem {
  std::string place; // "" for the document as a whole
  std::string what;
  std::string file = {}; // "" for the main config file, else the drop-in's path
};

// Throws the ConfigError that lists `problems`, each line starting with its
// file: the problem's own (a drop-in), else `path`.
[[noreturn]] void throw_problems(const std::string &path, const std::vector<Problem> &problems);

// `base.key`, or `base["key"]` for a key that is not a plain identifier.
std::string member(std::string_view base, std::string_view key);
// `base[i]`.
std::string element(std::string_view base, std::size_t i);

// `s` as a JSON string, cut to 60 characters ("...").
std::string quote(std::string_view s);
// A number as the document wrote it (integers exactly).
std::string number_text(const json &v);
// What was found, for "must be X, got <describe>".
std::string describe(const json &v);

using Keys = std::span<const std::string_view>;

std::size_t levenshtein(std::string_view a, std::string_view b);
// The closest of `choices` within edit distance 2 (case-insensitive), if any.
std::optional<std::string_view> closest(std::string_view word, Keys choices);
// "a", "b", "c" (each in double quotes).
std::string join_quoted(Keys words);

// 1-based line and column (in bytes) of the character that stopped the
// parser; nlohmann reports the count of bytes read, which includes it.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t position);

} // namespace hbmon::config_detail
