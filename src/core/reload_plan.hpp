// A reload, decided before anything is touched.
//
// Contract: plan_reload() compares the apps hbmond supervises with a new,
// verified config and sorts every name into exactly one list: added (only
// in the new config), removed (only in the old), changed (settings differ
// in any field), unchanged. An app already on its way out is compared by
// where it is headed: replaced by the same settings again it is unchanged
// (a second reload of one file restarts nothing twice); on its way out for
// good and back in the new config, it is changed. The added are in the new
// config's order, the others in name order.
#pragma once

#include "core/config.hpp"

#include <map>
#include <string>
#include <vector>

namespace hbmon {

struct ReloadPlan {
  std::vector<std::string> added, removed, changed, unchanged;
};

// `headed_for`: for each app supervised now, the settings it will run with
// next (its successor's while it is being replaced; nullptr while it is
// being removed).
ReloadPlan plan_reload(const std::map<std::string, const AppConfig *> &headed_for,
                       const Config &next);

} // namespace hbmon
