// Damaging RocksDB's files on purpose in tests: the records of a write-ahead log (the store's own
// reader, wal_check.hpp), a byte inverted in place, and a data directory's files of one kind.
#pragma once

#include <reqstore/store/rocks/wal_check.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::faultfs
{

using store::wal_record;
using store::wal_records;

inline std::string read_bytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Inverts every bit of the byte at `offset`.
inline void flip_byte(const std::filesystem::path& path, std::size_t offset)
{
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    if (!file)
        throw std::runtime_error("cannot open " + path.string());
    file.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    if (!file.get(c))
        throw std::runtime_error("no byte " + std::to_string(offset) + " in " + path.string());
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(static_cast<char>(~c));
    if (!file.flush())
        throw std::runtime_error("cannot write " + path.string());
}

// The files of `dir` whose names end with `suffix` (".log", ".sst"), by name: RocksDB's numbers are
// zero-padded, so the last is the newest.
inline std::vector<std::filesystem::path> files_ending(const std::filesystem::path& dir,
                                                       std::string_view suffix)
{
    std::vector<std::filesystem::path> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().filename().string().ends_with(suffix))
            out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace reqstore::faultfs
