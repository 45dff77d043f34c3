// Reading query strings and writing JSON answers, shared by the API's handlers.
#include "request_parsing.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace reqstore::api
{
using core::errc;
using core::failure;
using http::response;

response json_answer(unsigned status, std::string body)
{
    response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

// A query parameter's value as an integer within [min, max], or a failure naming it.
core::result<std::uint64_t> integer_parameter(std::string_view name, std::string_view value,
                                              std::uint64_t min, std::uint64_t max)
{
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < min || n > max)
        return failure(errc::bad_request, std::string(name) + " must be a whole number from " +
                                              std::to_string(min) + " to " + std::to_string(max));
    return n;
}

} // namespace reqstore::api
