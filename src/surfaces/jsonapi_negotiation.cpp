// What a JSON:API request asks of its answer: content negotiation (Accept, Content-Type and their
// `ext` and `profile` parameters) and the query (sparse fieldsets, reserved parameter names).
#include <reqstore/http/header_text.hpp>

#include <boost/url/params_encoded_view.hpp>

#include <algorithm>

#include "jsonapi_document.hpp"

namespace reqstore::surfaces::jsonapi
{
using core::errc;
using core::failure;

namespace
{

// Splits at `separator` where it is not inside a quoted string (a profile URI list may hold one).
std::vector<std::string_view> split_unquoted(std::string_view s, char separator)
{
    std::vector<std::string_view> parts;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
    {
        if (s[i] == '\\' && quoted)
            ++i;
        else if (s[i] == '"')
            quoted = !quoted;
        else if (s[i] == separator && !quoted)
        {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    parts.push_back(s.substr(start));
    return parts;
}

struct media_range
{
    std::string type;                                            // lower-case, without parameters
    std::vector<std::pair<std::string, std::string>> parameters; // name lower-case, value unquoted
};

media_range parse_media_range(std::string_view text)
{
    const auto parts = split_unquoted(text, ';');
    media_range m;
    m.type = http::lowercase(http::trim(parts.front()));
    for (std::size_t i = 1; i < parts.size(); ++i)
    {
        const std::string_view p = http::trim(parts[i]);
        if (p.empty())
            continue;
        const auto eq = p.find('=');
        std::string_view value =
            eq == std::string_view::npos ? std::string_view() : http::trim(p.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        m.parameters.emplace_back(http::lowercase(http::trim(p.substr(0, eq))), std::string(value));
    }
    return m;
}

// Why an instance of the JSON:API media type asks for something this server cannot do ("" when
// it does not): JSON:API 1.1 allows only `ext` and `profile`, and this server implements no
// extension. Profiles are ignorable by definition, so any is fine.
std::string jsonapi_parameter_problem(const media_range& m)
{
    for (const auto& [name, value] : m.parameters)
    {
        if (name == "profile")
            continue;
        if (name == "ext")
        {
            if (!http::trim(value).empty())
                return "this server implements no JSON:API extension (ext=\"" + value + "\")";
            continue;
        }
        return "the media type parameter \"" + name + "\" is not allowed with " + std::string(jsonapi_media);
    }
    return {};
}

bool reserved_name(std::string_view name)
{
    // JSON:API 1.1: a parameter name made only of a-z belongs to the specification.
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

api_error parameter_error(std::string parameter, std::string detail)
{
    return {400,
            "invalid-query-parameter",
            "Invalid query parameter",
            std::move(detail),
            {},
            std::move(parameter),
            {}};
}

} // namespace

std::optional<api_error> accept_problem(const http::request& req)
{
    const auto accept = req.header_list("accept");
    if (!accept)
        return std::nullopt;
    std::string problem;
    for (const std::string_view element : split_unquoted(*accept, ','))
    {
        media_range m = parse_media_range(element);
        if (m.type != jsonapi_media)
            continue;
        // `q` and what follows it are accept parameters, not the media type's.
        const auto q = std::find_if(m.parameters.begin(), m.parameters.end(),
                                    [](const auto& p) { return p.first == "q"; });
        m.parameters.erase(q, m.parameters.end());
        std::string why = jsonapi_parameter_problem(m);
        if (why.empty())
            return std::nullopt;
        problem = std::move(why);
    }
    if (problem.empty())
        return std::nullopt;
    return error_at(406, "not-acceptable", "Not acceptable", std::move(problem), {});
}

std::optional<failure> content_type_problem(const http::request& req)
{
    const auto value = req.header("content-type");
    if (!value)
        return failure(errc::unsupported_media_type,
                       "send the document with Content-Type: " + std::string(jsonapi_media));
    const media_range m = parse_media_range(*value);
    if (m.type == "application/json")
        return std::nullopt;
    if (m.type == jsonapi_media)
    {
        std::string why = jsonapi_parameter_problem(m);
        if (why.empty())
            return std::nullopt;
        return failure(errc::unsupported_media_type, std::move(why));
    }
    return failure(errc::unsupported_media_type, (m.type.empty() ? std::string("this media type") : m.type) +
                                                     " is not accepted; send " + std::string(jsonapi_media) +
                                                     " or application/json");
}

std::vector<api_error> read_query(const http::request& req, answer_shape& shape)
{
    if (req.query().empty())
        return {};
    // Boost.URL 1.81 reads its argument up to a NUL, so it gets a NUL-terminated copy.
    const std::string query(req.query());
    std::optional<boost::urls::params_encoded_view> params;
    try
    {
        params.emplace(std::string_view(query));
    }
    catch (const boost::system::system_error&)
    {
        return {parameter_error({}, "the query string cannot be parsed")};
    }
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    std::vector<api_error> errors;
    for (const boost::urls::param_pct_view param : *params)
    {
        std::string name = param.key.decode(form);
        const std::string value = param.has_value ? param.value.decode(form) : std::string();
        const std::string family = name.substr(0, name.find('['));
        if (name == fieldset_parameter)
        {
            std::vector<std::string> names;
            for (const std::string_view item : split_unquoted(value, ','))
            {
                const std::string_view attribute = http::trim(item);
                if (attribute.empty())
                    continue;
                if (!find_wire(fields, attribute))
                    errors.push_back(parameter_error(name, "\"" + std::string(attribute) +
                                                               "\" is not an attribute of " +
                                                               std::string(resource_type)));
                names.emplace_back(attribute);
            }
            shape.fieldset = std::move(names);
        }
        else if (family == "fields")
            continue; // a fieldset for a type this document never includes
        else if (family == "include")
            errors.push_back(parameter_error(name, "requests have no relationships to include"));
        else if (family == "sort" || family == "page" || family == "filter")
            errors.push_back(parameter_error(name, "a single resource cannot be sorted, paged or filtered"));
        else if (reserved_name(family))
            errors.push_back(parameter_error(name, "\"" + name + "\" is not a query parameter of this API"));
    }
    return errors;
}

} // namespace reqstore::surfaces::jsonapi
