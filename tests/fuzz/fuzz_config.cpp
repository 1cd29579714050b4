// libFuzzer target: the config parser and verifier must turn any bytes into
// a Config or a ConfigError, nothing else (no crash, leak or hang). Accounts
// and directories come from fakes, so no input waits on NSS or the disk.
#include "core/config.hpp"
#include "fake_accounts.hpp"
#include "fake_directories.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const hbtest::FakeAccounts accounts;
  static const hbtest::FakeDirectories directories;
  std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    hbmon::Config c = hbmon::parse_config(text, "fuzz.json", accounts, directories, "/run/hbmond");
    // A config that passed verification must hold what verify promised.
    for (const auto &app : c.apps)
      if (app.name.empty() || app.command.empty() || (app.heartbeat && app.heartbeat->misses == 0))
        __builtin_trap();
  } catch (const hbmon::ConfigError &) {
  }
  return 0;
}
