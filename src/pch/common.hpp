// Precompiled for the unoptimized builds (option pch_src): the standard and
// third-party headers most of hbmond's and hbmonctl's files include, whose
// parsing is most of an unoptimized compile. Never a header of ours, so a
// change to our code never rebuilds it.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
