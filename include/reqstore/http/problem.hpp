// Problem documents (RFC 9457) built from the core's failures: the one way any error leaves
// reqstore's native API.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/message.hpp>

#include <string>
#include <string_view>

namespace reqstore::http
{

// {"type":"/problems/<slug>","title","status","detail","instance", ...extensions} as
// application/problem+json. Internal and unavailable failures never show their detail: the
// client gets a generic sentence (the detail belongs in the log).
response problem_response(const core::failure& f, std::string_view instance);

// `text` with every byte sequence that is not well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) replaced by U+FFFD. A request's path may hold any bytes, and
// an error that quotes it must still be valid JSON.
std::string valid_utf8(std::string_view text);

// Shorthand for a failure with no extensions.
response problem_response(core::errc code, std::string detail, std::string_view instance);

} // namespace reqstore::http
