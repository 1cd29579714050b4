#include "core/config_verify.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

namespace hbmon::config_detail {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "1000" -> 1000, for a user or group given by id; nullopt if not a valid id.
std::optional<std::uint32_t> account_id(std::string_view s) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (!all_digits(s) || ec != std::errc() || end != s.data() + s.size() || n > 4294967294u)
    return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

class Verifier {
public:
  Verifier(const Accounts &accounts, const Directories &directories, std::vector<Problem> &problems)
      : accounts_(accounts), directories_(directories), problems_(problems) {}

  void verify(const Config &cfg, std::vector<ReadApp> &apps) {
    main_path_ = cfg.path;
    // endpoint -> its first place and file
    std::map<std::string, std::pair<std::string, std::string>, std::less<>> endpoints;
    // Keyed by the socket file when there is one: ipc:///run/x and a
    // notify socket /run/x are the same file.
    auto claim = [&](const std::string &ep, const std::string &file, const std::string &place) {
      auto [it, fresh] = endpoints.emplace(file.empty() ? ep : file, std::pair{place, file_});
      if (!fresh)
        add(place, fmt::format("{} is already used by {}; every socket needs its own endpoint",
                               quote(ep), where(it->second.first, it->second.second)));
      else if (!file.empty())
        check_directory(ep, file, place);
    };
    const auto ipc_file = [](const std::string &ep) {
      return ep.rfind("ipc://", 0) == 0 ? ep.substr(6) : std::string();
    };
    claim(cfg.control, ipc_file(cfg.control), "control");
    claim(cfg.events, ipc_file(cfg.events), "events");

    std::map<std::string, const ReadApp *, std::less<>> names; // name -> where first
    for (ReadApp &app : apps) {
      file_ = app.file;
      const std::string place = element("apps", app.index);
      AppConfig &a = app.cfg;
      bool duplicate = false;
      if (app.name_ok && a.name == "all")
        add(member(place, "name"),
            "\"all\" is reserved: hbmonctl takes it to mean every app; choose another name");
      if (app.name_ok) {
        auto [it, fresh] = names.emplace(a.name, &app);
        duplicate = !fresh;
        if (duplicate)
          add(member(place, "name"),
              fmt::format(
                  "duplicate name {}, first used at {}; names must be unique{}", quote(a.name),
                  where(member(element("apps", it->second->index), "name"), it->second->file),
                  it->second->file == app.file ? "" : " across the main file and drop-ins"));
      }
      // A duplicate name already explains the clash of endpoints derived from it.
      if (a.heartbeat && app.endpoint_ok && !(duplicate && app.endpoint_defaulted))
        claim(a.heartbeat->endpoint, a.heartbeat->socket_file(),
              member(member(place, "heartbeat"), "endpoint"));
      if (app.restart_delay_ok && app.backoff_max_ok && a.backoff_max < a.restart_delay)
        add(member(place, "backoff_max"),
            fmt::format("{:g} is less than restart_delay ({:g}); backoff_max caps the restart "
                        "delay, so it must be at least restart_delay",
                        to_seconds(a.backoff_max), to_seconds(a.restart_delay)));
      resolve_accounts(place, app);
    }
  }

private:
  void add(std::string place, std::string what) {
    problems_.push_back({std::move(place), std::move(what), file_});
  }

  // A place in `file` ("" for the main file), as seen from the file being
  // verified: with the file's path when that is another file.
  std::string where(const std::string &place, const std::string &file) const {
    if (file == file_)
      return place;
    return fmt::format("{} in {}", place, file.empty() ? main_path_ : file);
  }

  // The directory of an endpoint's socket `file`, asked about once: the
  // first place that uses an unsafe one names it.
  void check_directory(const std::string &ep, const std::string &file, const std::string &place) {
    const auto slash = file.rfind('/');
    const std::string dir = slash == 0 ? "/" : file.substr(0, slash);
    if (!directories_checked_.insert(dir).second)
      return;
    if (auto why = directories_.unsafe(dir))
      add(place, fmt::format("{}: unsafe directory: {}; hbmond binds sockets only where no user "
                             "but root and its own can change what is there: make {} and every "
                             "directory above it belong to root (or hbmond's user) and not "
                             "writable by group or others (a sticky directory such as /tmp is "
                             "fine above it), or choose another directory",
                             quote(ep), *why, dir));
  }

  void resolve_accounts(const std::string &place, ReadApp &app) {
    AppConfig &a = app.cfg;
    std::optional<gid_t> group_gid;
    if (a.group && app.group_ok)
      if (auto group = resolve(member(place, "group"), "group", *a.group, &Accounts::group_by_name,
                               &Accounts::group_by_id))
        group_gid = group->gid;
    if (a.user && app.user_ok) {
      const auto user = resolve(member(place, "user"), "user", *a.user, &Accounts::user_by_name,
                                &Accounts::user_by_id);
      if (!user)
        return;
      if (a.group && !group_gid)
        return;
      a.uid = user->uid;
      a.gid = group_gid ? *group_gid : user->gid;
      a.account = user->name;
      a.home = user->home;
      a.supplementary_groups = accounts_.groups_of(user->name, *a.gid);
    } else if (group_gid) {
      a.gid = *group_gid;
    }
  }

  // A user or group by name, else (when no account has that name and it is
  // a number) by id; a Problem at `place` when neither finds it.
  template <typename Entry, typename Id>
  std::optional<Entry> resolve(const std::string &place, std::string_view what,
                               const std::string &name,
                               Lookup<Entry> (Accounts::*by_name)(const std::string &) const,
                               Lookup<Entry> (Accounts::*by_id)(Id) const) {
    Lookup<Entry> r = (accounts_.*by_name)(name);
    if (auto id = account_id(name); !r.found && r.error == 0 && id)
      r = (accounts_.*by_id)(*id);
    if (r.found)
      return r.found;
    if (r.error == 0)
      add(place, fmt::format("no such {} {} on this system; create it or use an existing {}", what,
                             all_digits(name) ? name : quote(name), what));
    else
      add(place, fmt::format("cannot look up {} {}: {}", what, quote(name),
                             std::generic_category().message(r.error)));
    return std::nullopt;
  }

  const Accounts &accounts_;
  const Directories &directories_;
  std::vector<Problem> &problems_;
  std::string file_; // of the app being verified: "" for the main file
  std::string main_path_;
  std::set<std::string, std::less<>> directories_checked_;
};

} // namespace

void verify_config(const Config &cfg, std::vector<ReadApp> &apps, const Accounts &accounts,
                   const Directories &directories, std::vector<Problem> &problems) {
  Verifier(accounts, directories, problems).verify(cfg, apps);
}

} // namespace hbmon::config_detail
