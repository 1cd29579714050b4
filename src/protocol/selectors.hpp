// App selectors, as hbmonctl takes them and hbmond expands them: an app's
// name, an fnmatch(3) pattern ("batch-*", "web-[0-9]") or `all` (a reserved
// name: the config verifier refuses an app called so).
//
// Contract: pure. select_apps() returns the apps that the selectors name, in
// the order of `names` (the config's), each once; a selector that names no
// app (an unknown name, a pattern that matches nothing) is listed in
// `unmatched`, in the order given. `all` matches every app and is never
// unmatched, also when there is no app. Any bytes are a valid selector: one
// that is no app's name just matches nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

inline constexpr std::string_view all_apps = "all";

// A selector with fnmatch(3) wildcards ('*', '?', '['); a name never has one.
bool is_pattern(std::string_view selector);

struct Selection {
  std::vector<std::string> apps;      // matched, in the order of names, each once
  std::vector<std::string> named;     // those of `apps` named exactly (not by pattern or all)
  std::vector<std::string> unmatched; // selectors that named no app
};

Selection select_apps(const std::vector<std::string> &selectors,
                      const std::vector<std::string> &names);

} // namespace hbmon
