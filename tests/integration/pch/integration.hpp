// Precompiled for each integration suite (built unoptimized, where parsing
// GoogleTest, JSON and ZeroMQ is most of a compile): never a header of ours.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
