// Config text for the tests that parse one.
#pragma once

#include <string>

namespace hbtest {

// A config with one app whose body is `name`, `command` and `extra`.
inline std::string one_app(const std::string &extra) {
  return R"({"apps": [{"name": "web", "command": ["/bin/true"])" +
         (extra.empty() ? "" : ", " + extra) + "}]}";
}

} // namespace hbtest
