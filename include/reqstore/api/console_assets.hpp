// The web console's built files (console/dist, contract section 15), embedded in the binary at
// build time (scripts/embed.cmake) so that the server needs no files and the C++ build no Node.
#pragma once

#include <span>
#include <string_view>

namespace reqstore::api
{

struct embedded_file
{
    std::string_view path;   // relative to console/dist: "index.html", "assets/index-3f9c1a.js"
    std::string_view bytes;  // the file's content
    std::string_view sha256; // hex SHA-256 of the content
};

// Every file of console/dist as the binary was built with it, sorted by path. Static storage.
std::span<const embedded_file> console_files() noexcept;

} // namespace reqstore::api
