// Request types as data for clients: the same rules the core judges writes by, in JSON and JSON Schema.
#include <reqstore/core/type_description.hpp>

#include <boost/json/array.hpp>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

json::array strings(const auto& items)
{
    json::array out;
    for (const auto& item : items)
        out.emplace_back(item);
    return out;
}

json::object string_lists(const std::map<std::string, std::vector<std::string>, std::less<>>& map)
{
    json::object out;
    for (const auto& [key, values] : map)
        out[key] = strings(values);
    return out;
}

// `text` with the characters a regular expression gives a meaning escaped.
std::string regex_literal(std::string_view text)
{
    std::string out;
    for (char ch : text)
    {
        if (std::string_view("\\^$.|?*+()[]{}").find(ch) != std::string_view::npos)
            out += '\\';
        out += ch;
    }
    return out;
}

json::object id_format_of(const request_type& t)
{
    // The patterns are those of the ids the server makes; id_fits (ids.hpp) also takes the
    // somewhat wider forms seed documents use, which docs/API.md lists.
    switch (t.format)
    {
    case id_format::prefixed:
        return {{"kind", "prefixed"},
                {"prefix", t.id_prefix},
                {"pattern", "^" + regex_literal(t.id_prefix) + "[0-9A-HJKMNP-TV-Z]{20}$"}};
    case id_format::uuid:
        return {{"kind", "uuid"},
                {"prefix", nullptr},
                {"pattern", "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"}};
    case id_format::numeric:
        return {{"kind", "numeric"}, {"prefix", nullptr}, {"pattern", "^[1-9][0-9]{0,18}$"}};
    }
    return {};
}

json::object attributes_of(const std::vector<attribute_spec>& attributes)
{
    json::object out;
    for (const auto& a : attributes)
        out[a.name] =
            json::object{{"schema", attribute_schema(a)},
                         {"required", a.required},
                         {"read_only", a.read_only},
                         {"mutable_in", a.mutable_in ? json::value(strings(*a.mutable_in)) : nullptr}};
    return out;
}

} // namespace

json::object attribute_schema(const attribute_spec& a)
{
    json::object schema;
    switch (a.kind)
    {
    case value_kind::string:
        schema["type"] = "string";
        break;
    case value_kind::integer:
        schema["type"] = "integer";
        break;
    case value_kind::number:
        schema["type"] = "number";
        break;
    case value_kind::boolean:
        schema["type"] = "boolean";
        break;
    case value_kind::object:
        schema["type"] = "object";
        break;
    case value_kind::array:
        schema["type"] = "array";
        break;
    case value_kind::datetime:
        schema["type"] = "string";
        schema["format"] = "date-time";
        break;
    case value_kind::email:
        schema["type"] = "string";
        schema["format"] = "email";
        break;
    case value_kind::url:
        schema["type"] = "string";
        schema["format"] = "uri";
        break;
    case value_kind::uuid:
        schema["type"] = "string";
        schema["format"] = "uuid";
        break;
    case value_kind::enum_:
        break; // the values say it all
    }
    if (!a.enum_values.empty())
        schema["enum"] = strings(a.enum_values);
    if (a.max_length)
        schema["maxLength"] = *a.max_length;
    if (a.min)
        schema["minimum"] = *a.min;
    if (a.max)
        schema["maximum"] = *a.max;
    if (a.default_value)
        schema["default"] = *a.default_value;
    if (a.read_only)
        schema["readOnly"] = true;
    return schema;
}

json::object describe_type(const request_type& t, bool default_require_if_match)
{
    json::object timestamps;
    for (const auto& [state, attribute] : t.timestamps)
        timestamps[state] = attribute;
    json::object out{
        {"name", t.name},
        {"id_format", id_format_of(t)},
        {"states", strings(t.states)},
        {"initial", t.initial},
        {"transitions", string_lists(t.transitions)},
        {"final", strings(t.final_states)},
        {"updatable_in", t.updatable_in ? json::value(strings(*t.updatable_in)) : nullptr},
        {"requires", string_lists(t.requirements)},
        {"timestamps", std::move(timestamps)},
        {"expires", t.expires ? json::value(json::object{{"attribute", t.expires->attribute},
                                                         {"state", t.expires->state}})
                              : nullptr},
        {"require_if_match", t.require_if_match.value_or(default_require_if_match)},
        {"additional_attributes", t.additional_attributes},
        {"attributes", attributes_of(t.attributes)},
    };
    if (!t.dsr_types.empty())
    {
        json::object dsr;
        for (const auto& [name, d] : t.dsr_types)
        {
            json::object slots;
            for (const auto& s : d.attachments)
                slots[s.name] =
                    json::object{{"required", s.required},
                                 {"content_types", strings(s.content_types)},
                                 {"max_bytes", s.max_bytes ? json::value(*s.max_bytes) : nullptr}};
            dsr[name] = json::object{{"data", attributes_of(d.data)}, {"attachments", std::move(slots)}};
        }
        out["dsr_types"] = std::move(dsr);
    }
    return out;
}

} // namespace reqstore::core
