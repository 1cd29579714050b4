#include "protocol/selectors.hpp"

#include <algorithm>
#include <fnmatch.h>

namespace hbmon {

bool is_pattern(std::string_view selector) {
  return selector.find_first_of("*?[") != std::string_view::npos;
}

Selection select_apps(const std::vector<std::string> &selectors,
                      const std::vector<std::string> &names) {
  std::vector<bool> chosen(names.size(), false), exact(names.size(), false);
  Selection out;
  for (const std::string &sel : selectors) {
    bool matched = sel == all_apps;
    for (std::size_t i = 0; i < names.size(); ++i) {
      bool hit = sel == all_apps || sel == names[i] ||
                 (is_pattern(sel) && sel.find('\0') == std::string::npos &&
                  ::fnmatch(sel.c_str(), names[i].c_str(), 0) == 0);
      if (hit) {
        matched = true;
        chosen[i] = true;
        exact[i] = exact[i] || sel == names[i];
      }
    }
    if (!matched)
      out.unmatched.push_back(sel);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (chosen[i])
      out.apps.push_back(names[i]);
    if (exact[i])
      out.named.push_back(names[i]);
  }
  return out;
}

} // namespace hbmon
