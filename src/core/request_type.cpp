// Request types: reading them from config with precise errors, and answering state questions.
#include <reqstore/core/request_type.hpp>
#include <reqstore/core/validation.hpp>

#include <algorithm>
#include <cmath>

namespace reqstore::core
{
namespace json = boost::json;

bool request_type::has_state(std::string_view state) const
{
    return std::find(states.begin(), states.end(), state) != states.end();
}

const std::vector<std::string>& request_type::allowed_from(std::string_view from) const
{
    static const std::vector<std::string> none;
    const auto it = transitions.find(from);
    return it == transitions.end() || is_final(from) ? none : it->second;
}

bool request_type::may_move(std::string_view from, std::string_view to) const
{
    const auto& allowed = allowed_from(from);
    return std::find(allowed.begin(), allowed.end(), to) != allowed.end();
}

const attribute_spec* request_type::attribute(std::string_view attribute_name) const
{
    for (const auto& a : attributes)
        if (a.name == attribute_name)
            return &a;
    return nullptr;
}

bool request_type::updatable_in_state(std::string_view state) const
{
    if (is_final(state))
        return false;
    return !updatable_in ||
           std::find(updatable_in->begin(), updatable_in->end(), state) != updatable_in->end();
}

const dsr_type* request_type::dsr_type_of(const json::object& record) const
{
    const json::value* id = record.if_contains("type_id");
    if (dsr_types.empty() || !id || !id->is_string())
        return nullptr;
    const auto it = dsr_types.find(std::string_view(id->get_string()));
    return it == dsr_types.end() ? nullptr : &it->second;
}

const attribute_spec* dsr_type::field(std::string_view field_name) const
{
    for (const auto& f : data)
        if (f.name == field_name)
            return &f;
    return nullptr;
}

const attachment_spec* dsr_type::slot(std::string_view slot_name) const
{
    for (const auto& a : attachments)
        if (a.name == slot_name)
            return &a;
    return nullptr;
}

type_registry::type_registry(std::vector<request_type> types) : types_(std::move(types)) {}

const request_type* type_registry::find(std::string_view name) const
{
    for (const auto& t : types_)
        if (t.name == name)
            return &t;
    return nullptr;
}

bool type_registry::any_type_fits(std::string_view id) const
{
    return std::any_of(types_.begin(), types_.end(),
                       [&](const request_type& t) { return id_fits(t.format, t.id_prefix, id); });
}

namespace
{

// Members every record has; a type cannot redeclare them as attributes.
bool is_reserved_member(std::string_view name)
{
    static const std::set<std::string_view> reserved{
        "id",         "type",       "status",     "version",      "etag",     "created_at",
        "updated_at", "created_by", "updated_by", "callback_url", "metadata", "deleted_at"};
    return reserved.contains(name);
}

// Reads a list of declared state names at `key`; returns an error message or nullopt.
// With `declared` false the list declares the states itself and must not repeat one.
std::optional<std::string> read_state_list(const json::value& v, const std::string& key,
                                           const request_type& type, std::vector<std::string>& out,
                                           bool declared = true)
{
    if (!v.is_array())
        return key + ": must be a list of state names";
    const auto& list = v.get_array();
    for (std::size_t i = 0; i < list.size(); ++i)
    {
        const std::string item_key = key + "[" + std::to_string(i) + "]";
        if (!list[i].is_string())
            return item_key + ": must be a string";
        const std::string_view state = list[i].get_string();
        if (declared && !type.has_state(state))
            return item_key + ": \"" + std::string(state) + "\" is not a declared state";
        if (!declared && std::find(out.begin(), out.end(), state) != out.end())
            return item_key + ": \"" + std::string(state) + "\" is declared twice";
        out.emplace_back(state);
    }
    return std::nullopt;
}

// Member names a type may name in `requires` besides its attributes.
bool is_common_attribute(std::string_view name)
{
    return name == "metadata" || name == "callback_url";
}

std::optional<std::string> parse_kind(const json::value& v, const std::string& key, value_kind& out)
{
    static const std::map<std::string_view, value_kind> kinds{
        {"string", value_kind::string},     {"integer", value_kind::integer}, {"number", value_kind::number},
        {"boolean", value_kind::boolean},   {"object", value_kind::object},   {"array", value_kind::array},
        {"datetime", value_kind::datetime}, {"email", value_kind::email},     {"url", value_kind::url},
        {"uuid", value_kind::uuid},         {"enum", value_kind::enum_}};
    const auto it = v.is_string() ? kinds.find(std::string_view(v.get_string())) : kinds.end();
    if (it == kinds.end())
        return key +
               ": must be one of string, integer, number, boolean, object, array, datetime, email, url, "
               "uuid, enum";
    out = it->second;
    return std::nullopt;
}

std::optional<std::string> parse_attribute(const std::string& name, const json::value& v,
                                           const std::string& key, const request_type& t, attribute_spec& a)
{
    if (!v.is_object())
        return key + ": must be an object";
    const auto& o = v.get_object();
    a.name = name;
    static const std::set<std::string_view> known{"type", "required", "enum",       "max_length", "min",
                                                  "max",  "default",  "mutable_in", "read_only"};
    for (const auto& member : o)
        if (!known.contains(member.key()))
            return key + "." + std::string(member.key()) + ": unknown key";
    const auto* kind = o.if_contains("type");
    if (!kind)
        return key + ".type: missing";
    if (auto err = parse_kind(*kind, key + ".type", a.kind))
        return err;
    for (auto [flag, field] : {std::pair{"required", &attribute_spec::required},
                               std::pair{"read_only", &attribute_spec::read_only}})
        if (const auto* f = o.if_contains(flag))
        {
            if (!f->is_bool())
                return key + "." + flag + ": must be true or false";
            a.*field = f->get_bool();
        }
    if (const auto* values = o.if_contains("enum"))
    {
        if (!values->is_array() || values->get_array().empty())
            return key + ".enum: must be a non-empty list of strings";
        for (std::size_t i = 0; i < values->get_array().size(); ++i)
        {
            const auto& item = values->get_array()[i];
            if (!item.is_string())
                return key + ".enum[" + std::to_string(i) + "]: must be a string";
            a.enum_values.emplace_back(item.get_string());
        }
        if (a.kind != value_kind::enum_ && a.kind != value_kind::string)
            return key + ".enum: only a string or enum attribute takes a list of values";
    }
    else if (a.kind == value_kind::enum_)
        return key + ".enum: an enum attribute needs its list of values";
    if (const auto* length = o.if_contains("max_length"))
    {
        if (!length->is_number() || length->to_number<double>() < 1 ||
            length->to_number<double>() != std::floor(length->to_number<double>()))
            return key + ".max_length: must be a positive whole number";
        a.max_length = static_cast<std::size_t>(length->to_number<double>());
    }
    for (auto [bound, field] :
         {std::pair{"min", &attribute_spec::min}, std::pair{"max", &attribute_spec::max}})
        if (const auto* b = o.if_contains(bound))
        {
            if (!b->is_number())
                return key + "." + bound + ": must be a number";
            if (a.kind != value_kind::integer && a.kind != value_kind::number)
                return key + "." + bound + ": only an integer or number attribute has bounds";
            a.*field = b->to_number<double>();
        }
    if (a.min && a.max && *a.min > *a.max)
        return key + ".min: must not exceed max";
    if (const auto* states = o.if_contains("mutable_in"))
    {
        a.mutable_in.emplace();
        if (auto err = read_state_list(*states, key + ".mutable_in", t, *a.mutable_in))
            return err;
    }
    if (const auto* d = o.if_contains("default"))
    {
        if (auto problem = check_value(a, *d))
            return key + ".default: " + *problem;
        a.default_value = *d;
    }
    return std::nullopt;
}

std::optional<std::string> parse_attributes(const json::value& v, const std::string& key, request_type& t)
{
    if (!v.is_object())
        return key + ": must be an object from attribute name to its schema";
    for (const auto& entry : v.get_object())
    {
        const std::string name(entry.key());
        const std::string attribute_key = key + "." + name;
        if (name.empty())
            return key + ": an attribute needs a name";
        if (is_reserved_member(name))
            return attribute_key + ": \"" + name +
                   "\" is a member every record has; it cannot be an attribute";
        attribute_spec a;
        if (auto err = parse_attribute(name, entry.value(), attribute_key, t, a))
            return err;
        t.attributes.push_back(std::move(a));
    }
    return std::nullopt;
}

// `requires`, `updatable_in`, `timestamps` and `expires`, which name states and attributes.
std::optional<std::string> parse_state_rules(const json::object& o, const std::string& base, request_type& t)
{
    if (const auto* required = o.if_contains("requires"))
    {
        if (!required->is_object())
            return base + ".requires: must be an object from state to a list of attribute names";
        for (const auto& entry : required->get_object())
        {
            const std::string key = base + ".requires." + std::string(entry.key());
            if (!t.has_state(entry.key()))
                return key + ": \"" + std::string(entry.key()) + "\" is not a declared state";
            if (!entry.value().is_array())
                return key + ": must be a list of attribute names";
            std::vector<std::string> names;
            const auto& list = entry.value().get_array();
            for (std::size_t i = 0; i < list.size(); ++i)
            {
                const std::string item_key = key + "[" + std::to_string(i) + "]";
                if (!list[i].is_string())
                    return item_key + ": must be a string";
                const std::string_view name = list[i].get_string();
                if (!t.attribute(name) && !is_common_attribute(name))
                    return item_key + ": \"" + std::string(name) + "\" is not an attribute of type " + t.name;
                names.emplace_back(name);
            }
            t.requirements.emplace(std::string(entry.key()), std::move(names));
        }
    }
    if (const auto* updatable = o.if_contains("updatable_in"))
    {
        t.updatable_in.emplace();
        if (auto err = read_state_list(*updatable, base + ".updatable_in", t, *t.updatable_in))
            return err;
        for (std::size_t i = 0; i < t.updatable_in->size(); ++i)
            if (t.is_final((*t.updatable_in)[i]))
                return base + ".updatable_in[" + std::to_string(i) + "]: \"" + (*t.updatable_in)[i] +
                       "\" is a final state, in which nothing may change";
    }
    if (const auto* timestamps = o.if_contains("timestamps"))
    {
        if (!timestamps->is_object())
            return base + ".timestamps: must be an object from state to a datetime attribute";
        for (const auto& entry : timestamps->get_object())
        {
            const std::string key = base + ".timestamps." + std::string(entry.key());
            if (!t.has_state(entry.key()))
                return key + ": \"" + std::string(entry.key()) + "\" is not a declared state";
            const attribute_spec* a =
                entry.value().is_string() ? t.attribute(entry.value().get_string()) : nullptr;
            if (!a || a->kind != value_kind::datetime)
                return key + ": must name a datetime attribute of type " + t.name;
            t.timestamps.emplace(std::string(entry.key()), a->name);
        }
    }
    if (const auto* expires = o.if_contains("expires"))
    {
        const std::string key = base + ".expires";
        if (!expires->is_object())
            return key + ": must be {\"attribute\": <datetime attribute>, \"state\": <state>}";
        for (const auto& member : expires->get_object())
            if (member.key() != "attribute" && member.key() != "state")
                return key + "." + std::string(member.key()) + ": unknown key";
        const auto* attribute = expires->get_object().if_contains("attribute");
        const attribute_spec* a =
            attribute && attribute->is_string() ? t.attribute(attribute->get_string()) : nullptr;
        if (!a || a->kind != value_kind::datetime)
            return key + ".attribute: must name a datetime attribute of type " + t.name;
        const auto* state = expires->get_object().if_contains("state");
        if (!state || !state->is_string() || !t.has_state(state->get_string()))
            return key + ".state: must name a declared state";
        t.expires = expiry_rule{a->name, std::string(state->get_string())};
    }
    return std::nullopt;
}

std::optional<std::string> parse_attachment(const std::string& name, const json::value& v,
                                            const std::string& key, attachment_spec& a)
{
    if (!v.is_object())
        return key + ": must be {\"required\", \"content_types\", \"max_bytes\"}";
    a.name = name;
    for (const auto& member : v.get_object())
    {
        const std::string member_key = key + "." + std::string(member.key());
        if (member.key() == "required")
        {
            if (!member.value().is_bool())
                return member_key + ": must be true or false";
            a.required = member.value().get_bool();
        }
        else if (member.key() == "content_types")
        {
            if (!member.value().is_array())
                return member_key + ": must be a list of media types";
            for (std::size_t i = 0; i < member.value().get_array().size(); ++i)
            {
                const auto& item = member.value().get_array()[i];
                if (!item.is_string() || item.get_string().find('/') == json::string::npos)
                    return member_key + "[" + std::to_string(i) + "]: must be a media type such as image/png";
                a.content_types.emplace_back(item.get_string());
            }
        }
        else if (member.key() == "max_bytes")
        {
            const auto& n = member.value();
            if (!n.is_number() || n.to_number<double>() < 1 ||
                n.to_number<double>() != std::floor(n.to_number<double>()))
                return member_key + ": must be a positive whole number";
            a.max_bytes = static_cast<std::size_t>(n.to_number<double>());
        }
        else
            return member_key + ": unknown key";
    }
    return std::nullopt;
}

// `dsr_types`: typeId -> {"data": {field: attribute schema}, "attachments": {slot: ...}}. The type
// must have the attributes these shapes judge.
std::optional<std::string> parse_dsr_types(const json::value& v, const std::string& key, request_type& t)
{
    if (!v.is_object() || v.get_object().empty())
        return key + ": must be an object from DSR type id to {\"data\", \"attachments\"}";
    for (const auto& [name, kind] :
         {std::pair{"type_id", value_kind::string}, std::pair{"data", value_kind::object},
          std::pair{"attachments", value_kind::object}})
    {
        const attribute_spec* a = t.attribute(name);
        if (!a || a->kind != kind)
            return key + ": a type with dsr_types needs the " +
                   (kind == value_kind::string ? "string" : "object") + " attribute " + name;
    }
    for (const auto& entry : v.get_object())
    {
        const std::string type_key = key + "." + std::string(entry.key());
        if (!entry.value().is_object())
            return type_key + ": must be {\"data\": {...}, \"attachments\": {...}}";
        dsr_type d;
        d.name = std::string(entry.key());
        for (const auto& member : entry.value().get_object())
        {
            const std::string member_key = type_key + "." + std::string(member.key());
            if (member.key() != "data" && member.key() != "attachments")
                return member_key + ": unknown key";
            if (!member.value().is_object())
                return member_key + ": must be an object from name to its schema";
            for (const auto& item : member.value().get_object())
            {
                const std::string name(item.key());
                const std::string item_key = member_key + "." + name;
                if (name.empty())
                    return member_key + ": a name cannot be empty";
                if (member.key() == "data")
                {
                    attribute_spec a;
                    if (auto err = parse_attribute(name, item.value(), item_key, t, a))
                        return err;
                    if (a.mutable_in || a.read_only || a.default_value)
                        return item_key + ": a DSR field takes no mutable_in, read_only or default";
                    d.data.push_back(std::move(a));
                }
                else
                {
                    attachment_spec a;
                    if (auto err = parse_attachment(name, item.value(), item_key, a))
                        return err;
                    d.attachments.push_back(std::move(a));
                }
            }
        }
        t.dsr_types.emplace(d.name, std::move(d));
    }
    return std::nullopt;
}

std::optional<std::string> parse_one(const std::string& name, const json::value& v, request_type& t)
{
    const std::string base = "types." + name;
    if (!v.is_object())
        return base + ": must be an object";
    const auto& o = v.get_object();
    t.name = name;
    static const std::set<std::string_view> known{"id_format",
                                                  "id_prefix",
                                                  "states",
                                                  "initial",
                                                  "transitions",
                                                  "final",
                                                  "additional_attributes",
                                                  "require_if_match",
                                                  "attributes",
                                                  "requires",
                                                  "updatable_in",
                                                  "timestamps",
                                                  "expires",
                                                  "dsr_types"};
    for (const auto& member : o)
        if (!known.contains(member.key()))
            return base + "." + std::string(member.key()) + ": unknown key";

    if (const auto* f = o.if_contains("id_format"))
    {
        const std::string_view s = f->is_string() ? std::string_view(f->get_string()) : "";
        if (s == "prefixed")
            t.format = id_format::prefixed;
        else if (s == "uuid")
            t.format = id_format::uuid;
        else if (s == "numeric")
            t.format = id_format::numeric;
        else
            return base + ".id_format: must be \"prefixed\", \"uuid\" or \"numeric\"";
    }
    if (const auto* p = o.if_contains("id_prefix"))
    {
        if (!p->is_string())
            return base + ".id_prefix: must be a string";
        t.id_prefix = std::string(p->get_string());
    }
    if (t.format == id_format::prefixed && t.id_prefix.empty())
        return base + ".id_prefix: a prefixed id format needs a non-empty prefix";

    const auto* states = o.if_contains("states");
    if (!states)
        return base + ".states: missing";
    if (auto err = read_state_list(*states, base + ".states", t, t.states, false))
        return err;
    if (t.states.empty())
        return base + ".states: must name at least one state";

    const auto* initial = o.if_contains("initial");
    if (!initial || !initial->is_string())
        return base + ".initial: must be a state name";
    t.initial = std::string(initial->get_string());
    if (!t.has_state(t.initial))
        return base + ".initial: \"" + t.initial + "\" is not a declared state";

    if (const auto* transitions = o.if_contains("transitions"))
    {
        if (!transitions->is_object())
            return base + ".transitions: must be an object from state to a list of states";
        for (const auto& entry : transitions->get_object())
        {
            const std::string key = base + ".transitions." + std::string(entry.key());
            if (!t.has_state(entry.key()))
                return key + ": \"" + std::string(entry.key()) + "\" is not a declared state";
            std::vector<std::string> targets;
            if (auto err = read_state_list(entry.value(), key, t, targets))
                return err;
            t.transitions.emplace(std::string(entry.key()), std::move(targets));
        }
    }
    if (const auto* finals = o.if_contains("final"))
    {
        std::vector<std::string> list;
        if (auto err = read_state_list(*finals, base + ".final", t, list))
            return err;
        t.final_states.insert(list.begin(), list.end());
    }
    if (const auto* extra = o.if_contains("additional_attributes"))
    {
        if (!extra->is_bool())
            return base + ".additional_attributes: must be true or false";
        t.additional_attributes = extra->get_bool();
    }
    if (const auto* require = o.if_contains("require_if_match"))
    {
        if (!require->is_bool())
            return base + ".require_if_match: must be true or false";
        t.require_if_match = require->get_bool();
    }
    if (const auto* attributes = o.if_contains("attributes"))
        if (auto err = parse_attributes(*attributes, base + ".attributes", t))
            return err;
    if (auto err = parse_state_rules(o, base, t))
        return err;
    if (const auto* dsr = o.if_contains("dsr_types"))
        return parse_dsr_types(*dsr, base + ".dsr_types", t);
    return std::nullopt;
}

} // namespace

std::optional<std::string> parse_types(const json::object& types, std::vector<request_type>& out)
{
    for (const auto& entry : types)
    {
        request_type t;
        if (auto err = parse_one(std::string(entry.key()), entry.value(), t))
            return err;
        out.push_back(std::move(t));
    }
    return std::nullopt;
}

} // namespace reqstore::core
