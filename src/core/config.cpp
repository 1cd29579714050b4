// Config: text -> JSON tree (strict: duplicate keys refused, config_json)
// -> plain structs (types and ranges checked field by field, config_reader)
// -> one verify pass (what needs more than one field: unique names and
// endpoints, backoff_max >= restart_delay, accounts resolved, config_verify).
// Every problem is collected; one ConfigError lists them.
#include "core/config.hpp"

#include "core/config_json.hpp"
#include "core/config_messages.hpp"
#include "core/config_reader.hpp"
#include "core/config_verify.hpp"

#include <cmath>

namespace hbmon {

const AppConfig *Config::find(std::string_view name) const {
  for (const auto &a : apps)
    if (a.name == name)
      return &a;
  return nullptr;
}

std::string HeartbeatConfig::socket_file() const {
  if (protocol == HeartbeatProtocol::notify)
    return endpoint;
  return endpoint.rfind("ipc://", 0) == 0 ? endpoint.substr(6) : std::string();
}

Duration seconds(double s) {
  if (std::isnan(s))
    return Duration::zero();
  const double ns = s * 1e9;
  // 2^63 ns: the first value a Duration cannot hold.
  constexpr double limit = 9223372036854775808.0;
  if (ns >= limit)
    return Duration::max();
  if (ns <= -limit)
    return Duration::min();
  return Duration(std::llround(ns));
}

double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

Config parse_config(std::string_view text, const std::string &path, const Accounts &accounts,
                    const Directories &directories, std::string_view runtime_dir) {
  return parse_config(ConfigSource{path, std::string(text)}, {}, accounts, directories,
                      runtime_dir);
}

Config parse_config(const ConfigSource &main, const std::vector<ConfigSource> &dropins,
                    const Accounts &accounts, const Directories &directories,
                    std::string_view runtime_dir) {
  using namespace config_detail;
  std::vector<Problem> problems;
  const json root = read_json(main.text, main.path, problems);

  Config cfg;
  cfg.path = main.path;
  std::vector<ReadApp> apps;
  read_config(root, runtime_dir, cfg, apps, problems);
  for (const ConfigSource &d : dropins) {
    std::vector<Problem> found;
    read_dropin(read_json(d.text, d.path, found), d.path, runtime_dir, apps, found);
    for (Problem &p : found) {
      p.file = d.path;
      problems.push_back(std::move(p));
    }
    cfg.dropins.push_back(d.path);
  }
  verify_config(cfg, apps, accounts, directories, problems);
  if (!problems.empty())
    throw_problems(main.path, problems);

  cfg.apps.reserve(apps.size());
  for (ReadApp &a : apps)
    cfg.apps.push_back(std::move(a.cfg));
  return cfg;
}

} // namespace hbmon
