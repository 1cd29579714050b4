#include "daemon/app_registry.hpp"

#include "daemon/log.hpp"

#include <fmt/format.h>

namespace hbmon {

App &AppRegistry::add(std::unique_ptr<App> app) {
  App &a = *app;
  ++counts_[static_cast<std::size_t>(a.wd.state())];
  auto [it, fresh] = apps_.emplace(a.cfg.name, std::move(app));
  if (!fresh)
    logging::invariant(fmt::format("a second app named {}", a.cfg.name));
  return *it->second;
}

App *AppRegistry::find(std::string_view name) const {
  auto it = apps_.find(name);
  return it == apps_.end() ? nullptr : it->second.get();
}

void AppRegistry::moved(State from, State to) {
  --counts_[static_cast<std::size_t>(from)];
  ++counts_[static_cast<std::size_t>(to)];
}

bool AppRegistry::retire(App &a, std::unique_ptr<App> successor) {
  a.successor = std::move(successor);
  return !std::exchange(a.retiring, true);
}

void AppRegistry::settle(App &a) {
  if (a.retiring && a.pid == 0)
    gone_.push_back(a.cfg.name);
}

std::vector<std::unique_ptr<App>> AppRegistry::take_gone() {
  std::vector<std::unique_ptr<App>> out;
  std::vector<std::string> names;
  names.swap(gone_);
  for (const auto &name : names) {
    // An app settles after every event: it may be listed more than once.
    auto it = apps_.find(name);
    if (it == apps_.end() || !it->second->retiring || it->second->pid > 0)
      continue;
    --counts_[static_cast<std::size_t>(it->second->wd.state())];
    out.push_back(std::move(it->second));
    apps_.erase(it);
  }
  return out;
}

std::map<std::string, const AppConfig *> AppRegistry::headed_for() const {
  std::map<std::string, const AppConfig *> out;
  for (const auto &[name, a] : apps_)
    out[name] = !a->retiring ? &a->cfg : a->successor ? &a->successor->cfg : nullptr;
  return out;
}

} // namespace hbmon
