// Key encoding for the RocksDB column families.
#include <reqstore/store/rocks/keys.hpp>

#include <cstdint>

namespace reqstore::store
{

void append_be64(std::string& out, std::uint64_t v)
{
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::optional<std::uint64_t> read_be64(std::string_view in) noexcept
{
    if (in.size() < 8)
        return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
    return v;
}

std::string version_key(std::string_view id, std::uint64_t version)
{
    std::string key;
    key.reserve(id.size() + 9);
    key.append(id);
    key.push_back('\0');
    append_be64(key, version);
    return key;
}

std::string version_key_end(std::string_view id)
{
    std::string key(id);
    key.push_back('\x01');
    return key;
}

std::optional<version_key_parts> parse_version_key(std::string_view key) noexcept
{
    if (key.size() < 9 || key[key.size() - 9] != '\0')
        return std::nullopt;
    return version_key_parts{key.substr(0, key.size() - 9), *read_be64(key.substr(key.size() - 8))};
}

std::string sequence_key(std::uint64_t sequence)
{
    std::string key;
    append_be64(key, sequence);
    return key;
}

std::string timer_key_bytes(std::int64_t due, std::string_view id)
{
    std::string key;
    key.reserve(8 + id.size());
    // Dates before 1970 are not scheduled; clamping keeps the big-endian order monotonic.
    append_be64(key, static_cast<std::uint64_t>(due < 0 ? 0 : due));
    key.append(id);
    return key;
}

std::optional<timer_key_parts> parse_timer_key(std::string_view key) noexcept
{
    const auto due = read_be64(key);
    if (!due || key.size() == 8 || *due > static_cast<std::uint64_t>(INT64_MAX))
        return std::nullopt;
    return timer_key_parts{static_cast<std::int64_t>(*due), key.substr(8)};
}

std::string attachment_key(std::string_view id, std::string_view sha256)
{
    std::string key;
    key.reserve(id.size() + 1 + sha256.size());
    key.append(id);
    key.push_back('\0');
    key.append(sha256);
    return key;
}

} // namespace reqstore::store
