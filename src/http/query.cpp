// Decoding query strings, shared by every surface's handlers.
#include <reqstore/http/query.hpp>

#include <boost/url/params_encoded_view.hpp>

#include <algorithm>
#include <optional>

namespace reqstore::http
{
using core::errc;
using core::failure;

// The decoded query parameters; each name at most once and from `allowed`.
core::result<std::vector<std::pair<std::string, std::string>>>
query_parameters(const request& req, std::initializer_list<std::string_view> allowed)
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

} // namespace reqstore::http
