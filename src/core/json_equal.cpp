// JSON equality for JSON Patch's "test" (RFC 6902 section 4.6), numbers compared by value.
#include "json_equal.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace reqstore::core
{

namespace json = boost::json;

namespace
{

// Whether a double holds exactly the integer i.
bool double_equals_integer(double d, std::int64_t i)
{
    // -2^63 and 2^63 are exact doubles; every integral double in [-2^63, 2^63) converts exactly.
    constexpr double lower = -9223372036854775808.0;
    constexpr double upper = 9223372036854775808.0;
    if (!std::isfinite(d) || d != std::trunc(d) || d < lower || d >= upper)
    {
        return false;
    }
    return static_cast<std::int64_t>(d) == i;
}

bool double_equals_unsigned(double d, std::uint64_t u)
{
    constexpr double upper = 18446744073709551616.0; // 2^64
    if (!std::isfinite(d) || d != std::trunc(d) || d < 0 || d >= upper)
    {
        return false;
    }
    return static_cast<std::uint64_t>(d) == u;
}

// Numeric equality by mathematical value across int64, uint64 and double.
bool numbers_equal(const json::value& a, const json::value& b)
{
    switch (a.kind())
    {
    case json::kind::int64:
        switch (b.kind())
        {
        case json::kind::int64:
            return a.get_int64() == b.get_int64();
        case json::kind::uint64:
            return a.get_int64() >= 0 && static_cast<std::uint64_t>(a.get_int64()) == b.get_uint64();
        default:
            return double_equals_integer(b.get_double(), a.get_int64());
        }
    case json::kind::uint64:
        switch (b.kind())
        {
        case json::kind::uint64:
            return a.get_uint64() == b.get_uint64();
        case json::kind::int64:
            return numbers_equal(b, a);
        default:
            return double_equals_unsigned(b.get_double(), a.get_uint64());
        }
    default:
        switch (b.kind())
        {
        case json::kind::double_:
            return a.get_double() == b.get_double();
        default:
            return numbers_equal(b, a);
        }
    }
}

} // namespace

bool json_equal(const json::value& a, const json::value& b)
{
    if (a.is_number() && b.is_number())
    {
        return numbers_equal(a, b);
    }
    if (a.kind() != b.kind())
    {
        return false;
    }
    switch (a.kind())
    {
    case json::kind::null:
        return true;
    case json::kind::bool_:
        return a.get_bool() == b.get_bool();
    case json::kind::string:
        return a.get_string() == b.get_string();
    case json::kind::array:
    {
        const auto& x = a.get_array();
        const auto& y = b.get_array();
        if (x.size() != y.size())
        {
            return false;
        }
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            if (!json_equal(x[i], y[i]))
            {
                return false;
            }
        }
        return true;
    }
    case json::kind::object:
    {
        const auto& x = a.get_object();
        const auto& y = b.get_object();
        if (x.size() != y.size())
        {
            return false;
        }
        for (const auto& member : x)
        {
            const auto* other = y.if_contains(member.key());
            if (!other || !json_equal(member.value(), *other))
            {
                return false;
            }
        }
        return true;
    }
    default:
        return false; // numbers were handled above
    }
}

} // namespace reqstore::core
