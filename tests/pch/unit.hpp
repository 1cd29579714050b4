// Precompiled for the unit test program (built unoptimized, where parsing
// GoogleTest and JSON is most of a compile): never a header of ours.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pch/instantiate.hpp"
