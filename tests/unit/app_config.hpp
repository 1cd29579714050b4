// One app's settings for the unit tests: as the config reader would make
// them for an app `name` with a heartbeat (its endpoint under /run/hbmond).
#pragma once

#include "core/config.hpp"

#include <string>

namespace hbtest {

inline hbmon::AppConfig app_config(const std::string &name,
                                   hbmon::Duration interval = std::chrono::seconds(1),
                                   unsigned misses = 2,
                                   hbmon::Duration grace = std::chrono::seconds(2)) {
  hbmon::AppConfig c;
  c.name = name;
  c.command = {"/usr/libexec/hbmond/" + name};
  c.heartbeat =
      hbmon::HeartbeatConfig{"ipc:///run/hbmond/" + name + ".hb", interval, misses, grace};
  return c;
}

} // namespace hbtest
