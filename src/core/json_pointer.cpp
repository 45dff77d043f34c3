// JSON Pointer (RFC 6901): reading a pointer's reference tokens, finding what it names, escaping a
// member name as a token.
#include <reqstore/core/json_pointer.hpp>

#include <limits>
#include <utility>

#include "pointer_path.hpp"

namespace reqstore::core
{

namespace json = boost::json;

std::optional<pointer_tokens> parse_pointer(std::string_view text)
{
    pointer_tokens result;
    if (text.empty())
    {
        return result;
    }
    if (text.front() != '/')
    {
        return std::nullopt;
    }
    std::string token;
    for (std::size_t i = 1; i <= text.size(); ++i)
    {
        if (i == text.size() || text[i] == '/')
        {
            result.push_back(std::move(token));
            token.clear();
        }
        else if (text[i] == '~')
        {
            // "~0" is '~' and "~1" is '/'; decoding left to right makes "~01" the name "~1".
            if (i + 1 == text.size() || (text[i + 1] != '0' && text[i + 1] != '1'))
            {
                return std::nullopt;
            }
            token += text[i + 1] == '0' ? '~' : '/';
            ++i;
        }
        else
        {
            token += text[i];
        }
    }
    return result;
}

std::optional<std::size_t> parse_array_index(std::string_view token)
{
    if (token.empty() || (token.size() > 1 && token.front() == '0'))
    {
        return std::nullopt;
    }
    std::size_t index = 0;
    for (char c : token)
    {
        if (c < '0' || c > '9')
        {
            return std::nullopt;
        }
        const auto digit = static_cast<std::size_t>(c - '0');
        if (index > (std::numeric_limits<std::size_t>::max() - digit) / 10)
        {
            return std::nullopt;
        }
        index = index * 10 + digit;
    }
    return index;
}

const json::value* find_pointer(const json::value& doc, std::string_view pointer)
{
    const auto path = parse_pointer(pointer);
    if (!path)
    {
        return nullptr;
    }
    return resolve_pointer(doc, std::span(*path));
}

std::string escape_pointer_token(std::string_view name)
{
    std::string escaped;
    escaped.reserve(name.size());
    for (char c : name)
    {
        if (c == '~')
        {
            escaped += "~0";
        }
        else if (c == '/')
        {
            escaped += "~1";
        }
        else
        {
            escaped += c;
        }
    }
    return escaped;
}

} // namespace reqstore::core
