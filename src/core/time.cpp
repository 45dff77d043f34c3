// Formatting and parsing of the two time formats reqstore speaks.
#include <reqstore/core/time.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace reqstore::core
{
namespace
{

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m)
{
    constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[static_cast<std::size_t>(m - 1)];
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy =
        (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct fields
{
    int year, month, day, hour, minute, second, millis;
};

fields split(unix_millis t)
{
    std::int64_t ms = t % 1000;
    std::int64_t secs = t / 1000;
    if (ms < 0)
    {
        ms += 1000;
        --secs;
    }
    std::int64_t days = secs / 86400;
    std::int64_t rem = secs % 86400;
    if (rem < 0)
    {
        rem += 86400;
        --days;
    }
    // civil_from_days (H. Hinnant).
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const auto y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
    return {y,
            static_cast<int>(m),
            static_cast<int>(d),
            static_cast<int>(rem / 3600),
            static_cast<int>(rem / 60 % 60),
            static_cast<int>(rem % 60),
            static_cast<int>(ms)};
}

// Reads exactly `width` decimal digits at `pos`.
bool read_digits(std::string_view s, std::size_t pos, std::size_t width, int& out)
{
    if (pos + width > s.size())
        return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + width; ++i)
    {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}

std::optional<unix_millis> to_millis(int y, int mo, int d, int h, int mi, int s, int ms)
{
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
        return std::nullopt;
    if (s == 60) // a leap second is the last second of its minute
        s = 59;
    const std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return secs * 1000 + ms;
}

int month_index(std::string_view name)
{
    for (std::size_t i = 0; i < month_names.size(); ++i)
        if (month_names[i] == name)
            return static_cast<int>(i) + 1;
    return 0;
}

} // namespace

unix_millis now_millis() noexcept
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(unix_millis t)
{
    const fields f = split(t);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", f.year, f.month, f.day, f.hour,
                  f.minute, f.second, f.millis);
    return buf;
}

std::optional<unix_millis> parse_rfc3339(std::string_view s)
{
    int y, mo, d, h, mi, sec;
    if (!read_digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
        s[7] != '-' || !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !read_digits(s, 11, 2, h) || s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' ||
        !read_digits(s, 17, 2, sec))
        return std::nullopt;
    std::size_t pos = 19;
    int ms = 0;
    if (pos < s.size() && s[pos] == '.')
    {
        ++pos;
        const std::size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
        {
            if (pos - start < 3)
                ms = ms * 10 + (s[pos] - '0');
            ++pos;
        }
        const std::size_t digits = pos - start;
        if (digits == 0 || digits > 9)
            return std::nullopt;
        for (std::size_t i = digits; i < 3; ++i)
            ms *= 10;
    }
    if (pos >= s.size())
        return std::nullopt;
    int offset_minutes = 0;
    if (s[pos] == 'Z' || s[pos] == 'z')
        ++pos;
    else if (s[pos] == '+' || s[pos] == '-')
    {
        int oh, om;
        if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    }
    else
        return std::nullopt;
    if (pos != s.size())
        return std::nullopt;
    auto t = to_millis(y, mo, d, h, mi, sec, ms);
    if (!t)
        return std::nullopt;
    return *t - static_cast<unix_millis>(offset_minutes) * 60'000;
}

std::string format_http_date(unix_millis t)
{
    const fields f = split(t);
    const std::int64_t days = (t >= 0 ? t : t - 86'399'999) / 86'400'000;
    const auto weekday = static_cast<std::size_t>(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday
    // "Sun, 06 Nov 1994 08:49:37 GMT", by hand: every GET answer carries one (Last-Modified), and
    // snprintf's format parsing cost more than the rest of the answer's head.
    if (f.year < 0 || f.year > 9999)
    {
        char buf[48];
        std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[weekday].data(),
                      f.day, month_names[static_cast<std::size_t>(f.month - 1)].data(), f.year, f.hour,
                      f.minute, f.second);
        return buf;
    }
    std::string out = "Ddd, 00 Mmm 0000 00:00:00 GMT";
    const auto two = [&out](std::size_t at, int v)
    {
        out[at] = static_cast<char>('0' + v / 10);
        out[at + 1] = static_cast<char>('0' + v % 10);
    };
    out.replace(0, 3, day_names[weekday]);
    two(5, f.day);
    out.replace(8, 3, month_names[static_cast<std::size_t>(f.month - 1)]);
    two(12, f.year / 100);
    two(14, f.year % 100);
    two(17, f.hour);
    two(20, f.minute);
    two(23, f.second);
    return out;
}

std::optional<unix_millis> parse_http_date(std::string_view s)
{
    int y, d, h, mi, sec;
    const auto parse_clock = [&](std::size_t pos)
    {
        return read_digits(s, pos, 2, h) && s[pos + 2] == ':' && read_digits(s, pos + 3, 2, mi) &&
               s[pos + 5] == ':' && read_digits(s, pos + 6, 2, sec);
    };
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && read_digits(s, 5, 2, d) && s[7] == ' ' &&
        s[11] == ' ' && read_digits(s, 12, 4, y) && s[16] == ' ' && parse_clock(17) && s.substr(25) == " GMT")
    {
        const int mo = month_index(s.substr(8, 3));
        return mo ? to_millis(y, mo, d, h, mi, sec, 0) : std::nullopt;
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ' &&
        read_digits(s, 20, 4, y) && parse_clock(11))
    {
        const int mo = month_index(s.substr(4, 3));
        const std::string_view day_text = s.substr(8, 2);
        if (day_text[0] == ' ' ? !read_digits(s, 9, 1, d) : !read_digits(s, 8, 2, d))
            return std::nullopt;
        return mo ? to_millis(y, mo, d, h, mi, sec, 0) : std::nullopt;
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    const auto comma = s.find(", ");
    if (comma != std::string_view::npos && s.size() == comma + 24 && s[comma + 4] == '-' &&
        s[comma + 8] == '-' && s[comma + 11] == ' ' && s.substr(comma + 20) == " GMT")
    {
        int yy;
        if (!read_digits(s, comma + 2, 2, d) || !read_digits(s, comma + 9, 2, yy) || !parse_clock(comma + 12))
            return std::nullopt;
        const int mo = month_index(s.substr(comma + 5, 3));
        // RFC 9110: a two-digit year more than 50 years in the future means the past century.
        y = 2000 + yy;
        if (y > split(now_millis()).year + 50)
            y -= 100;
        return mo ? to_millis(y, mo, d, h, mi, sec, 0) : std::nullopt;
    }
    return std::nullopt;
}

} // namespace reqstore::core
