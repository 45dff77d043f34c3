// Checking RocksDB's write-ahead logs record by record, to name the damage RocksDB refuses to replay.
#include <reqstore/store/rocks/wal_check.hpp>

#include <boost/crc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace reqstore::store
{
namespace
{

constexpr std::size_t block_size = 32768;

// CRC-32C (Castagnoli), as RocksDB's util/crc32c computes it.
using crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// RocksDB stores a masked CRC (util/crc32c.h: Mask), so that a CRC of data holding CRCs stays strong.
std::uint32_t mask(std::uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::uint32_t load_le32(const unsigned char* p)
{
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

bool is_log_name(const std::string& name)
{
    return name.size() > 4 && name.ends_with(".log") &&
           std::all_of(name.begin(), name.end() - 4, [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

std::vector<wal_record> wal_records(std::string_view bytes)
{
    std::vector<wal_record> out;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t pos = 0;
    while (pos + wal_record::header_size <= bytes.size())
    {
        const std::size_t left_in_block = block_size - pos % block_size;
        if (left_in_block < wal_record::header_size)
        {
            pos += left_in_block;
            continue;
        }
        const std::size_t length = std::size_t(data[pos + 4]) | std::size_t(data[pos + 5]) << 8;
        const unsigned type = data[pos + 6];
        if (type == 0 && length == 0)
        {
            pos += left_in_block; // padding (or preallocated space) to the end of the block
            continue;
        }
        if (pos + wal_record::header_size + length > bytes.size())
            break;
        crc32c crc;
        crc.process_bytes(data + pos + 6, 1 + length);
        out.push_back({pos, length, type, mask(crc.checksum()) == load_le32(data + pos)});
        pos += wal_record::header_size + length;
    }
    return out;
}

std::optional<wal_damage> find_wal_damage(const std::string& data_dir)
{
    std::error_code ec;
    std::vector<std::filesystem::path> logs;
    for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec))
        if (entry.is_regular_file(ec) && is_log_name(entry.path().filename().string()))
            logs.push_back(entry.path());
    // Log numbers are zero-padded: by name is oldest first.
    std::sort(logs.begin(), logs.end());
    for (const auto& log : logs)
    {
        std::ifstream in(log, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (in.bad())
            continue;
        for (const auto& record : wal_records(bytes))
            if (!record.checksum_ok)
                return wal_damage{log.string(), record.offset, bytes.size() - record.end()};
    }
    return std::nullopt;
}

} // namespace reqstore::store
