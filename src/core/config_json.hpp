// Config text -> JSON tree, strictly. nlohmann's own parser keeps the last of
// two equal keys without a word; this one reports each duplicate key at its
// place, and refuses nesting deeper than max_json_nesting levels.
//
// Contract: read_json() returns the tree and appends each duplicate key to
// `problems` (the tree keeps the last value). Text that is not JSON throws a
// ConfigError at once: `path:line:column: invalid JSON: <reason>`, followed
// by the duplicate keys found before the error.
#pragma once

#include "core/config_messages.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hbmon::config_detail {

inline constexpr std::size_t max_json_nesting = 512;

json read_json(std::string_view text, const std::string &path, std::vector<Problem> &problems);

} // namespace hbmon::config_detail
