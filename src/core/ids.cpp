// Id generation (time-sortable where the format allows) and format checks.
#include <reqstore/core/ids.hpp>
#include <reqstore/core/time.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>

namespace reqstore::core
{
namespace
{

constexpr std::string_view crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::uint64_t random_u64()
{
    thread_local std::mt19937_64 engine{[]
                                        {
                                            std::random_device device;
                                            return (static_cast<std::uint64_t>(device()) << 32) ^ device();
                                        }()};
    return engine();
}

bool is_crockford(char c) noexcept
{
    return crockford.find(c) != std::string_view::npos;
}

void append_base32(std::string& out, std::uint64_t value, int chars)
{
    for (int i = chars - 1; i >= 0; --i)
        out.push_back(crockford[(value >> (5 * i)) & 31]);
}

std::string make_uuid_v7()
{
    const auto ms = static_cast<std::uint64_t>(now_millis());
    const std::uint64_t hi = (ms << 16) | 0x7000 | (random_u64() & 0x0fff);
    const std::uint64_t lo = (random_u64() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 15; i >= 0; --i)
    {
        out.push_back(digits[(hi >> (4 * i)) & 15]);
        if (i == 8 || i == 4)
            out.push_back('-');
    }
    out.push_back('-');
    for (int i = 15; i >= 0; --i)
    {
        out.push_back(digits[(lo >> (4 * i)) & 15]);
        if (i == 12)
            out.push_back('-');
    }
    return out;
}

} // namespace

std::uint64_t new_version_tag()
{
    for (;;)
        if (const std::uint64_t tag = random_u64(); tag != 0)
            return tag;
}

std::string generate_id(id_format format, std::string_view prefix)
{
    switch (format)
    {
    case id_format::prefixed:
    {
        std::string out(prefix);
        append_base32(out, static_cast<std::uint64_t>(now_millis()), 10);
        append_base32(out, random_u64(), 10);
        return out;
    }
    case id_format::uuid:
        return make_uuid_v7();
    case id_format::numeric:
    {
        // The creation time in milliseconds shifted left 12 bits, kept strictly increasing
        // within the process: after 4096 ids in one millisecond the ids run ahead of the
        // clock instead of repeating.
        static std::atomic<std::uint64_t> last{0};
        const std::uint64_t from_clock = static_cast<std::uint64_t>(now_millis()) << 12;
        std::uint64_t previous = last.load(std::memory_order_relaxed);
        std::uint64_t next;
        do
            next = std::max(previous + 1, from_clock);
        while (!last.compare_exchange_weak(previous, next, std::memory_order_relaxed));
        return std::to_string(next);
    }
    }
    return {};
}

bool id_fits(id_format format, std::string_view prefix, std::string_view id) noexcept
{
    switch (format)
    {
    case id_format::prefixed:
    {
        if (!id.starts_with(prefix))
            return false;
        const std::string_view rest = id.substr(prefix.size());
        if (rest.size() < 16 || rest.size() > 26)
            return false;
        for (char c : rest)
            if (!is_crockford(c))
                return false;
        return true;
    }
    case id_format::uuid:
        // Lower case only: one UUID must not name two records by its spelling.
        return is_uuid_text(id, true);
    case id_format::numeric:
    {
        if (id.empty() || id.size() > 19 || id[0] == '0')
            return false;
        for (char c : id)
            if (c < '0' || c > '9')
                return false;
        return true;
    }
    }
    return false;
}

bool is_uuid_text(std::string_view text, bool lower_case_only) noexcept
{
    if (text.size() != 36)
        return false;
    for (std::size_t i = 0; i < text.size(); ++i)
    {
        const char c = text[i];
        const bool hex =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (!lower_case_only && c >= 'A' && c <= 'F');
        const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? c != '-' : !hex)
            return false;
    }
    return true;
}

} // namespace reqstore::core
