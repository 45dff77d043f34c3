// Internal to core: a JSON Pointer (RFC 6901) as its unescaped reference tokens, and walking a
// document along them. Shared by json_pointer.cpp and json_patch.cpp.
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

using pointer_tokens = std::vector<std::string>;

// The unescaped reference tokens of an RFC 6901 pointer ("" has none); nullopt if the text is not
// pointer syntax (not empty and not starting with '/', or a '~' not followed by '0' or '1').
std::optional<pointer_tokens> parse_pointer(std::string_view text);

// An RFC 6901 array index: "0" or digits without a leading zero, fitting std::size_t; nullopt
// otherwise. "-" is not one.
std::optional<std::size_t> parse_array_index(std::string_view token);

// The member or element of parent a token names, or nullptr. Value is json::value, const or not.
template <class Value>
Value* pointer_child(Value& parent, const std::string& token)
{
    if (auto* object = parent.if_object())
    {
        return object->if_contains(token);
    }
    if (auto* array = parent.if_array())
    {
        const auto index = parse_array_index(token);
        if (!index || *index >= array->size())
        {
            return nullptr;
        }
        return &(*array)[*index];
    }
    return nullptr;
}

// The value a token sequence names inside doc, or nullptr.
template <class Value>
Value* resolve_pointer(Value& doc, std::span<const std::string> path)
{
    Value* current = &doc;
    for (const auto& token : path)
    {
        current = pointer_child(*current, token);
        if (!current)
        {
            return nullptr;
        }
    }
    return current;
}

} // namespace reqstore::core
