// Reading RocksDB's write-ahead-log format, enough to tell an operator which log is damaged and where
// when RocksDB refuses to replay it: 32 KiB blocks, each physical record a 7-byte header (masked
// CRC32C of type and payload: 4 bytes; payload length: 2 bytes little-endian; type: 1 byte) and its
// payload, zero padding where no header fits (RocksDB's db/log_format.h). The store never recycles log
// files, so the 11-byte recyclable header does not occur.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::store
{

struct wal_record
{
    static constexpr std::size_t header_size = 7;
    std::size_t offset = 0; // of the header, in the file
    std::size_t length = 0; // of the payload
    unsigned type = 0;      // 1 full, 2 first, 3 middle, 4 last fragment of a logical record
    bool checksum_ok = false;

    std::size_t payload_offset() const { return offset + header_size; }
    std::size_t end() const { return payload_offset() + length; }
};

// Every complete physical record of a log file's bytes, in order. A record cut short by the end of
// the file (a write a crash interrupted) is not listed.
std::vector<wal_record> wal_records(std::string_view bytes);

struct wal_damage
{
    std::string file;              // the log's path
    std::uint64_t offset = 0;      // of the first record whose checksum fails
    std::uint64_t bytes_after = 0; // of log that follow that record in this file
};

// The first record that fails its checksum in the write-ahead logs (*.log) of `data_dir`, oldest log
// first; nothing when every complete record is intact or the logs cannot be read.
std::optional<wal_damage> find_wal_damage(const std::string& data_dir);

} // namespace reqstore::store
