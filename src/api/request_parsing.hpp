// Internal to the api module: what every handler needs to read a request and write an answer.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/message.hpp>
#include <reqstore/http/query.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reqstore::api
{

// A JSON answer with the given status and body.
http::response json_answer(unsigned status, std::string body);

// A query parameter's value as an integer within [min, max], or a 400 naming it.
[[nodiscard]] core::result<std::uint64_t> integer_parameter(std::string_view name, std::string_view value,
                                                            std::uint64_t min, std::uint64_t max);

using http::query_parameters;

} // namespace reqstore::api
