// hbmond's own cgroup (v2) and its OOM kill counter.
//
// Contract: oom_events_file() finds, once at start, the memory.events of
// the cgroup hbmond runs in (/proc/self/cgroup's "0::" line, under
// /sys/fs/cgroup); empty when there is none (cgroup v1, no memory
// controller: the file does not exist). HBMOND_TEST_CGROUP_DIR, for tests
// only, names the directory instead. read_oom_kills() reads the file's
// oom_kill count: one read() of a small kernel file that the kernel fills
// from memory, cheap and never blocking for long, so it runs on the loop;
// nullopt when unreadable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hbmon {

std::string oom_events_file();
std::optional<std::uint64_t> read_oom_kills(const std::string &events_file);

} // namespace hbmon
