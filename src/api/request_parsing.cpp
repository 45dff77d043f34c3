// Reading query strings and writing JSON answers, shared by the API's handlers.
#include "request_parsing.hpp"

#include <boost/url/params_encoded_view.hpp>

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

// The decoded query parameters; each name at most once and from `allowed`.
core::result<std::vector<std::pair<std::string, std::string>>>
query_parameters(const http::request& req, std::initializer_list<std::string_view> allowed)
{
    std::vector<std::pair<std::string, std::string>> out;
    if (req.query().empty())
        return out;
    // Boost.URL 1.81 declares parse_query() only as a friend; the throwing constructor is the
    // public way to validate a query string. It reads its argument up to a NUL (a strlen past
    // the view's end), so it gets a NUL-terminated copy that outlives the view.
    const std::string query(req.query());
    std::optional<boost::urls::params_encoded_view> params;
    try
    {
        params.emplace(std::string_view(query));
    }
    catch (const boost::system::system_error&)
    {
        return failure(errc::bad_request, "the query string cannot be parsed");
    }
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    for (const boost::urls::param_pct_view param : *params)
    {
        std::string key = param.key.decode(form);
        std::string value = param.has_value ? param.value.decode(form) : std::string();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        {
            std::string names;
            for (auto a : allowed)
                names += (names.empty() ? "" : ", ") + std::string(a);
            return failure(errc::bad_request,
                           "unknown query parameter \"" + key + "\"; this resource takes " + names);
        }
        for (const auto& [seen, unused] : out)
            if (seen == key)
                return failure(errc::bad_request, "query parameter \"" + key + "\" is given twice");
        out.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

} // namespace reqstore::api
