// Small helpers for the text of header fields, shared by the server, the native API and every
// surface: ASCII case, optional whitespace, and the media type of Content-Type.
#pragma once

#include <reqstore/http/message.hpp>

#include <string>
#include <string_view>

namespace reqstore::http
{

// `s` in ASCII lower case; every other byte as it is.
std::string lowercase(std::string_view s);

// `s` without its leading and trailing spaces and tabs (RFC 9110's optional whitespace). The
// result views `s`.
std::string_view trim(std::string_view s);

// Whether `a` and `b` are equal but for ASCII case.
bool iequals(std::string_view a, std::string_view b) noexcept;

// The media type of the request's Content-Type without its parameters, trimmed and lower-cased
// ("application/json"); "" when the request has no Content-Type.
std::string media_type(const request& req);

} // namespace reqstore::http
