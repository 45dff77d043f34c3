// Request types: reading them from config with precise errors, and answering state questions.
#include <reqstore/core/request_type.hpp>

#include <algorithm>

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

std::optional<std::string> parse_one(const std::string& name, const json::value& v, request_type& t)
{
    const std::string base = "types." + name;
    if (!v.is_object())
        return base + ": must be an object";
    const auto& o = v.get_object();
    t.name = name;
    static const std::set<std::string_view> known{
        "id_format",       "id_prefix", "states", "initial", "transitions", "final", "additional_attributes",
        "require_if_match"};
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
