// Writing a tool's JSON summary (--json FILE), shared by reqstore-load and reqstore-sink.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace reqstore::tools
{

// Writes `value` and a newline to `file` through a temporary file and a rename, so that a reader
// never sees half a summary. Returns false when either step fails.
inline bool write_json_file(const std::string& file, const boost::json::object& value)
{
    const std::filesystem::path target(file);
    std::filesystem::path temporary = target;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << boost::json::serialize(value) << "\n";
        out.flush();
        if (!out)
            return false;
    }
    std::error_code ec;
    std::filesystem::rename(temporary, target, ec);
    return !ec;
}

} // namespace reqstore::tools
