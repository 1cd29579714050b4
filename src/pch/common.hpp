// Precompiled for the unoptimized builds (option pch_src): the standard and
// third-party headers most of hbmond's and hbmonctl's files include, whose
// parsing is most of an unoptimized compile, and (instantiate.hpp) the
// template instances of theirs that most files make. Never a header of our
// code, so a change to it never rebuilds them.

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

#include "pch/instantiate.hpp"
