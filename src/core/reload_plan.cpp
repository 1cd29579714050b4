#include "core/reload_plan.hpp"

namespace hbmon {

ReloadPlan plan_reload(const std::map<std::string, const AppConfig *> &headed_for,
                       const Config &next) {
  ReloadPlan plan;
  for (const auto &[name, settings] : headed_for) {
    const AppConfig *nc = next.find(name);
    if (!nc)
      plan.removed.push_back(name);
    else if (settings && *settings == *nc)
      plan.unchanged.push_back(name);
    else
      plan.changed.push_back(name);
  }
  for (const auto &ac : next.apps)
    if (!headed_for.count(ac.name))
      plan.added.push_back(ac.name);
  return plan;
}

} // namespace hbmon
