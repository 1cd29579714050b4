// gzip (RFC 1952) of a text in memory, for a response whose client says
// Accept-Encoding: gzip. zlib's deflate at its fastest level: the metrics'
// text is repetitive (2 MiB at 1,000 apps shrinks about twentyfold), and it
// is compressed by the Worker, so the loop sends a twentieth of it.
#pragma once

#include <string>
#include <string_view>

namespace hbmon {

// Throws std::runtime_error when zlib cannot (out of memory).
std::string gzip(std::string_view text);

} // namespace hbmon
