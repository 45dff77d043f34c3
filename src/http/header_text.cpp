// Header text helpers: ASCII only, as the header grammar of RFC 9110 is.
#include <reqstore/http/header_text.hpp>

#include <algorithm>
#include <cctype>

namespace reqstore::http
{

std::string lowercase(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view trim(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) {
                                                  return std::tolower(static_cast<unsigned char>(x)) ==
                                                         std::tolower(static_cast<unsigned char>(y));
                                              });
}

std::string media_type(const request& req)
{
    const auto value = req.header("content-type");
    if (!value)
        return {};
    return lowercase(trim(value->substr(0, value->find(';'))));
}

} // namespace reqstore::http
