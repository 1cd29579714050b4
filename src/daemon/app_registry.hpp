// The app table: every app hbmond supervises, by name, and how many are in
// each state.
//
// Contract: add() creates an app; find() looks one up by name. An app
// leaves only through retire() (it is on its way out, to be replaced by its
// successor or to go) followed, once its process is gone, by take_gone(),
// which the supervisor calls outside every callback (its prepare hook), so
// no callback ever outlives its App. counts() follows every state change
// reported to moved(), and every add and removal.
#pragma once

#include "core/status.hpp"
#include "daemon/app.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hbmon {

class AppRegistry {
public:
  using Table = std::map<std::string, std::unique_ptr<App>, std::less<>>;

  App &add(std::unique_ptr<App> app);
  App *find(std::string_view name) const;
  const Table &all() const { return apps_; }

  // `a` moved between states (its watchdog's Changed action).
  void moved(State from, State to);
  const StateCounts &counts() const { return counts_; }

  // Mark `a` as leaving, to be replaced by `successor` (or to go). False
  // when it was leaving already (only its successor changed).
  bool retire(App &a, std::unique_ptr<App> successor);
  // After each event: a leaving app whose process is gone is queued for
  // take_gone().
  void settle(App &a);
  // The leaving apps whose process is gone, out of the table.
  std::vector<std::unique_ptr<App>> take_gone();

  // For a reload plan: the settings each app will run with next.
  std::map<std::string, const AppConfig *> headed_for() const;

private:
  Table apps_;
  StateCounts counts_{};
  std::vector<std::string> gone_;
};

} // namespace hbmon
