// Directories for tests that must not depend on the machine's file system:
// every directory is safe but those listed in `unsafe_dirs`, with the reason
// given there; `asked` records each question.
#pragma once

#include "core/directories.hpp"

#include <map>
#include <string>
#include <vector>

namespace hbtest {

class FakeDirectories : public hbmon::Directories {
public:
  std::map<std::string, std::string> unsafe_dirs;
  mutable std::vector<std::string> asked;

  std::optional<std::string> unsafe(const std::string &dir) const override {
    asked.push_back(dir);
    if (auto it = unsafe_dirs.find(dir); it != unsafe_dirs.end())
      return it->second;
    return std::nullopt;
  }
};

} // namespace hbtest
