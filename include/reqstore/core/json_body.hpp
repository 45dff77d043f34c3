// Parsing request bodies as JSON with the limits of the contract (section 9).
#pragma once

#include <reqstore/core/errc.hpp>

#include <boost/json/value.hpp>

#include <string_view>

namespace reqstore::core
{

// Parses `text` as one JSON value: valid UTF-8, at most `max_depth` levels of nesting, numbers
// that fit a double. On failure: errc::malformed_json whose detail names the byte offset and
// the reason, e.g. "invalid JSON at byte 17: syntax error".
[[nodiscard]] result<boost::json::value> parse_json_body(std::string_view text, unsigned max_depth);

} // namespace reqstore::core
