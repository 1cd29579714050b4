// The unit tests' fake clock starts here: far enough from the clock's zero
// that "a while before" is still a time, and the same in every test file.
#pragma once

#include <chrono>

namespace hbtest {

inline constexpr std::chrono::steady_clock::time_point t0{std::chrono::seconds(1000)};

} // namespace hbtest
