// The JSON tree -> the plain structs of core/config.hpp, field by field:
// unknown keys refused (with a "did you mean"), each value's type and range
// checked, defaults filled in (endpoints derived from the runtime dir and the
// app's name).
//
// Contract: read_config() never throws. A value that cannot be read keeps
// its default and adds a Problem naming its place. What needs more than one
// field (unique names and endpoints, backoff_max >= restart_delay, accounts)
// is checked afterwards by core/config_verify.hpp, which ReadApp tells which
// fields were read well, so one bad value is reported once.
#pragma once

#include "core/config.hpp"
#include "core/config_messages.hpp"

#include <cstddef>
#include <string_view>
#include <vector>

namespace hbmon::config_detail {

// An app as read, plus what verify needs to know about how it was read.
struct ReadApp {
  std::string file; // "" for the main config file, else the drop-in's path
  std::size_t index = 0;
  AppConfig cfg;
  bool name_ok = false;
  bool endpoint_ok = false;
  bool endpoint_defaulted = false; // derived from the name
  bool restart_delay_ok = true;
  bool backoff_max_ok = true;
  bool user_ok = true;
  bool group_ok = true;
};

// Fills `cfg` (but its apps) and `apps` from `root`.
void read_config(const json &root, std::string_view runtime_dir, Config &cfg,
                 std::vector<ReadApp> &apps, std::vector<Problem> &problems);

// Appends the apps of the drop-in `file` (`root` may hold "apps" only) to
// `apps`, each marked with `file`.
void read_dropin(const json &root, const std::string &file, std::string_view runtime_dir,
                 std::vector<ReadApp> &apps, std::vector<Problem> &problems);

} // namespace hbmon::config_detail
