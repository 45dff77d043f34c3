// Helpers for tests of binary keys and values: RocksDB's byte order, and bytes shown as hex.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::test
{

// RocksDB's default comparator: unsigned bytes, then length.
inline bool bytewise_less(std::string_view a, std::string_view b)
{
    const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    return c != 0 ? c < 0 : a.size() < b.size();
}

// Bytes as lower-case hex, a space between fields where `widths` says (e.g. {1, 1, 8}).
inline std::string hex(std::string_view bytes, const std::vector<std::size_t>& widths = {})
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    std::size_t field = 0, in_field = 0;
    for (unsigned char c : bytes)
    {
        if (field < widths.size() && in_field == widths[field])
        {
            out.push_back(' ');
            ++field;
            in_field = 0;
        }
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
        ++in_field;
    }
    return out;
}

} // namespace reqstore::test
