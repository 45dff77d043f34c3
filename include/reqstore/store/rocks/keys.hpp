// Binary keys of the RocksDB column families, big-endian so that RocksDB's bytewise order is
// the order we read in: a record's versions by number, the change feed by sequence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reqstore::store
{

// Appends `v` as 8 big-endian bytes.
void append_be64(std::string& out, std::uint64_t v);
// Reads 8 big-endian bytes at the start of `in`; nullopt if it is shorter.
std::optional<std::uint64_t> read_be64(std::string_view in) noexcept;

// `versions` key: the id, a 0x00 separator (ids never contain NUL), the big-endian version.
// The separator keeps "req_A" + version from colliding with "req_A1"'s versions and makes all
// versions of one id a contiguous range.
std::string version_key(std::string_view id, std::uint64_t version);
// The first key after every version of `id`.
std::string version_key_end(std::string_view id);
// Splits a versions key into id and version; nullopt when it is not one.
struct version_key_parts
{
    std::string_view id;
    std::uint64_t version;
};
std::optional<version_key_parts> parse_version_key(std::string_view key) noexcept;

// `events` key: the big-endian global sequence number.
std::string sequence_key(std::uint64_t sequence);

// `timers` key: the big-endian due time (milliseconds since the epoch, as unsigned) followed by
// the id, so that iteration meets the earliest timer first.
std::string timer_key_bytes(std::int64_t due, std::string_view id);
struct timer_key_parts
{
    std::int64_t due;
    std::string_view id;
};
std::optional<timer_key_parts> parse_timer_key(std::string_view key) noexcept;

// `attachments` key: the record id, a 0x00 separator, the file's SHA-256 in hex.
std::string attachment_key(std::string_view id, std::string_view sha256);

} // namespace reqstore::store
