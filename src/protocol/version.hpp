// hbmond's version, meson.build's project version: hbmond and hbmonctl
// print it, the control protocol's `info` and the handover state carry it.
// Defined in one file, so that a new version compiles one file again.
#pragma once

namespace hbmon {

extern const char *const program_version;

} // namespace hbmon
