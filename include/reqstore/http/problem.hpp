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

// The sentence a client may see for `f`: its detail (its title when it has none) as valid UTF-8;
// for a server-side failure (5xx), the generic sentence of server_failure_detail() instead, never
// the failure's own detail.
std::string client_detail(const core::failure& f);

// Logs the detail of a server-side failure (5xx) at error level with the request's id and path,
// since the client never sees it. Does nothing for any other failure, nor for an empty detail (one
// that was logged where it arose, as dispatch's "handler failed" is). Thread-safe.
void log_server_failure(const core::failure& f, const request& req);

} // namespace reqstore::http
