// Value checks by attribute kind, and the whole-record validation of a write.
#include <reqstore/core/dsr_rules.hpp>
#include <reqstore/core/ids.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/core/validation.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

// Names a record may always carry besides its type's attributes.
bool is_common_member(std::string_view name)
{
    return name == "id" || name == "type" || name == "status" || name == "version" || name == "etag" ||
           name == "created_at" || name == "updated_at" || name == "created_by" || name == "updated_by" ||
           name == "callback_url" || name == "metadata" || name == "deleted_at";
}

std::string format_number(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return buf;
}

// local@domain.tld: no spaces, one @, a dot in the domain that neither starts nor ends it.
bool is_email(std::string_view s)
{
    const auto at = s.find('@');
    if (at == 0 || at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos ||
        s.size() > 254)
        return false;
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; }))
        return false;
    const std::string_view domain = s.substr(at + 1);
    const auto dot = domain.find('.');
    return dot != std::string_view::npos && dot != 0 && domain.back() != '.';
}

std::optional<std::string> check_number_bounds(const attribute_spec& spec, double v)
{
    if (spec.min && v < *spec.min)
        return "must be at least " + format_number(*spec.min);
    if (spec.max && v > *spec.max)
        return "must be at most " + format_number(*spec.max);
    return std::nullopt;
}

std::optional<std::string> check_enum(const attribute_spec& spec, std::string_view s)
{
    if (spec.enum_values.empty() ||
        std::find(spec.enum_values.begin(), spec.enum_values.end(), s) != spec.enum_values.end())
        return std::nullopt;
    std::string list;
    for (const auto& e : spec.enum_values)
        list += (list.empty() ? "" : ", ") + e;
    return "must be one of " + list;
}

} // namespace

std::size_t code_points(std::string_view s)
{
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string member_pointer(std::string_view member)
{
    return "/" + escape_pointer_token(member);
}

bool is_absolute_http_url(std::string_view text)
{
    const auto url = boost::urls::parse_absolute_uri(text);
    if (!url)
        return false;
    // Schemes are case-insensitive (RFC 3986 section 3.1).
    std::string scheme(url->scheme());
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return (scheme == "http" || scheme == "https") && url->has_authority() && !url->host().empty();
}

std::optional<std::string> check_value(const attribute_spec& spec, const json::value& value)
{
    if (value.is_null())
        return std::nullopt;
    switch (spec.kind)
    {
    case value_kind::integer:
    {
        if (value.is_int64() || value.is_uint64())
        {
            if (value.is_uint64() && value.get_uint64() > static_cast<std::uint64_t>(INT64_MAX))
                return "must be an integer from -2^63 to 2^63-1";
            return check_number_bounds(spec, value.to_number<double>());
        }
        // A whole double within the 64-bit range: -2^63 <= d < 2^63, both bounds exact in a double.
        if (value.is_double() && std::floor(value.get_double()) == value.get_double() &&
            value.get_double() >= -9223372036854775808.0 && value.get_double() < 9223372036854775808.0)
            return check_number_bounds(spec, value.get_double());
        return "must be an integer";
    }
    case value_kind::number:
        if (!value.is_number())
            return "must be a number";
        return check_number_bounds(spec, value.to_number<double>());
    case value_kind::boolean:
        return value.is_bool() ? std::nullopt : std::optional<std::string>("must be true or false");
    case value_kind::object:
        return value.is_object() ? std::nullopt : std::optional<std::string>("must be an object");
    case value_kind::array:
        return value.is_array() ? std::nullopt : std::optional<std::string>("must be a list");
    case value_kind::string:
    case value_kind::enum_:
    case value_kind::datetime:
    case value_kind::email:
    case value_kind::url:
    case value_kind::uuid:
        break;
    }
    if (!value.is_string())
        return "must be a string";
    const std::string_view s = value.get_string();
    switch (spec.kind)
    {
    case value_kind::datetime:
        if (!parse_rfc3339(s))
            return "must be an RFC 3339 date-time such as 2026-11-22T04:46:31.991Z";
        break;
    case value_kind::email:
        if (!is_email(s))
            return "must be an email address";
        break;
    case value_kind::url:
        if (!is_absolute_http_url(s))
            return "must be an absolute http or https URL";
        break;
    case value_kind::uuid:
        if (!is_uuid_text(s, false))
            return "must be a UUID such as 3c90c3cc-0d44-4b50-8888-8dd25736052a";
        break;
    default:
        break;
    }
    if (spec.max_length && code_points(s) > *spec.max_length)
        return "must be at most " + std::to_string(*spec.max_length) + " characters long";
    return check_enum(spec, s);
}

void validate_record(const request_type& type, const json::object& record, json::object& errors)
{
    const json::value* status = record.if_contains("status");
    if (!status || !status->is_string())
        errors[member_pointer("status")] = "must be a string naming a state of type " + type.name;
    else if (!type.has_state(status->get_string()))
        errors[member_pointer("status")] =
            "\"" + std::string(status->get_string()) + "\" is not a state of type " + type.name;

    const json::value* metadata = record.if_contains("metadata");
    if (metadata && !metadata->is_object())
        errors[member_pointer("metadata")] = "must be an object";

    const json::value* callback = record.if_contains("callback_url");
    if (callback && !callback->is_null() &&
        !(callback->is_string() && is_absolute_http_url(callback->get_string())))
        errors[member_pointer("callback_url")] = "must be an absolute http or https URL, or null";

    for (const auto& spec : type.attributes)
    {
        const json::value* value = record.if_contains(spec.name);
        if (!value || value->is_null())
        {
            if (spec.required)
                errors[member_pointer(spec.name)] = "is required";
            continue;
        }
        if (auto problem = check_value(spec, *value))
            errors[member_pointer(spec.name)] = *problem;
    }

    validate_dsr(type, record, errors);

    if (!type.additional_attributes)
        for (const auto& member : record)
            if (!is_common_member(member.key()) && !type.attribute(member.key()))
                errors[member_pointer(member.key())] = "is not an attribute of type " + type.name;
}

namespace
{

void normalize_integers_of(const std::vector<attribute_spec>& specs, json::object& members)
{
    for (const auto& spec : specs)
    {
        if (spec.kind != value_kind::integer)
            continue;
        json::value* value = members.if_contains(spec.name);
        if (value && value->is_double())
            *value = static_cast<std::int64_t>(value->get_double());
    }
}

} // namespace

void normalize_integers(const request_type& type, json::object& record)
{
    normalize_integers_of(type.attributes, record);
    if (const dsr_type* dsr = type.dsr_type_of(record))
        if (json::value* data = record.if_contains("data"); data && data->is_object())
            normalize_integers_of(dsr->data, data->get_object());
}

} // namespace reqstore::core
