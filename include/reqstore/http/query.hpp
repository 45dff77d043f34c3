// Query strings as handlers read them: decoded, each parameter named at most once, and only the
// parameters a resource takes, so that a misspelt one is a 400 instead of being silently ignored.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/message.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reqstore::http
{

// The decoded parameters in order (`+` read as a space), or errc::bad_request naming the
// parameter that is unknown, repeated, or a query that does not parse.
[[nodiscard]] core::result<std::vector<std::pair<std::string, std::string>>>
query_parameters(const request& req, std::initializer_list<std::string_view> allowed);

} // namespace reqstore::http
