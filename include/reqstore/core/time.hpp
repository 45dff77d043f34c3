// Time as reqstore stores and shows it: milliseconds since the Unix epoch, RFC 3339 with
// millisecond precision for JSON, and HTTP-date (RFC 9110 section 5.6.7) for headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reqstore::core
{

using unix_millis = std::int64_t;

// The wall clock, in milliseconds since the epoch.
unix_millis now_millis() noexcept;

// "2026-11-22T04:46:31.991Z".
std::string format_rfc3339(unix_millis t);

// Parses RFC 3339 date-times with any offset and up to nanosecond fractions (truncated to
// milliseconds). Returns nullopt for anything else.
std::optional<unix_millis> parse_rfc3339(std::string_view text);

// "Sun, 22 Nov 2026 04:46:31 GMT" (IMF-fixdate), the time truncated to seconds.
std::string format_http_date(unix_millis t);

// Accepts the three forms RFC 9110 requires recipients to accept: IMF-fixdate, RFC 850 and
// asctime. Returns nullopt when the value is none of them.
std::optional<unix_millis> parse_http_date(std::string_view text);

} // namespace reqstore::core
