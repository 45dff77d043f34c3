// JSON Pointer (RFC 6901): finding the value a pointer names, and writing a member name as one of
// a pointer's reference tokens.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace reqstore::core
{

// RFC 6901: the value a pointer names, or nullptr (nothing there, or not valid pointer syntax). "" names
// the whole document. An array index must be "0" or a number without leading zeros; "-" names nothing.
const boost::json::value* find_pointer(const boost::json::value& doc, std::string_view pointer);

// Escapes one member name as a JSON Pointer reference token ("a/b" -> "a~1b", "m~n" -> "m~0n").
std::string escape_pointer_token(std::string_view name);

} // namespace reqstore::core
