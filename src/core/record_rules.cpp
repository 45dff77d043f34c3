// The pure rules of one record's versions: system fields, canonical member order, what changed,
// expiry timers, the state machine's refusals, and the commit one judged change makes.
#include "record_rules.hpp"

#include <reqstore/core/dsr_rules.hpp>
#include <reqstore/core/ids.hpp>
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/validation.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

// Members every type has besides its attributes.
constexpr std::array<std::string_view, 3> common_fields{"status", "callback_url", "metadata"};

bool is_common_field(std::string_view name)
{
    return std::find(common_fields.begin(), common_fields.end(), name) != common_fields.end();
}

// The top-level members whose value differs between the two records (system fields excluded).
std::vector<std::string> changed_members(const json::object& before, const json::object& after)
{
    std::vector<std::string> changed;
    for (const auto& member : after)
    {
        if (is_system_field(member.key()))
            continue;
        const json::value* old_value = before.if_contains(member.key());
        if (!old_value || *old_value != member.value())
            changed.emplace_back(member.key());
    }
    for (const auto& member : before)
        if (!is_system_field(member.key()) && !after.contains(member.key()))
            changed.emplace_back(member.key());
    return changed;
}

struct system_values
{
    std::string id;
    std::string type;
    std::uint64_t version;
    std::string created_at;
    unix_millis updated_at;
    std::string created_by;
    std::string updated_by;
};

// The record in canonical member order: system fields, the common members, then the attributes
// in the order they were first written.
json::object canonical_record(const system_values& sys, const json::object& members)
{
    json::object out;
    out.reserve(members.size() + 11);
    out["id"] = sys.id;
    out["type"] = sys.type;
    if (const auto* status = members.if_contains("status"))
        out["status"] = *status;
    out["version"] = sys.version;
    out["etag"] = etag_for_version(sys.version);
    out["created_at"] = sys.created_at;
    out["updated_at"] = format_rfc3339(sys.updated_at);
    out["created_by"] = sys.created_by;
    out["updated_by"] = sys.updated_by;
    const auto* callback = members.if_contains("callback_url");
    out["callback_url"] = callback ? *callback : json::value(nullptr);
    const auto* metadata = members.if_contains("metadata");
    out["metadata"] = metadata ? *metadata : json::value(json::object());
    for (const auto& member : members)
        if (!is_system_field(member.key()) && !is_common_field(member.key()))
            out[member.key()] = member.value();
    if (const auto* deleted = members.if_contains("deleted_at"))
        out["deleted_at"] = *deleted;
    return out;
}

stored_version make_version(const json::object& record, std::uint64_t version, unix_millis at, bool deleted,
                            std::string actor, std::vector<std::string> changed)
{
    stored_version v;
    v.version = version;
    v.updated_at = at;
    v.deleted = deleted;
    v.type = string_member(record, "type");
    v.status = string_member(record, "status");
    v.updated_by = std::move(actor);
    v.changed = std::move(changed);
    v.body = json::serialize(record);
    return v;
}

event_draft make_event(std::string name, const std::string& id, const stored_version& v,
                       std::optional<std::string> from = std::nullopt)
{
    return {std::move(name), id, v.type, v.version, v.status, std::move(from), v.updated_at};
}

} // namespace

// Members the server maintains; a write may repeat their current value but not change it.
constexpr std::array<std::string_view, 8> system_fields{
    "id", "type", "version", "etag", "created_at", "updated_at", "created_by", "updated_by"};

bool is_system_field(std::string_view name)
{
    return std::find(system_fields.begin(), system_fields.end(), name) != system_fields.end() ||
           name == "deleted_at";
}

failure not_found(std::string_view id)
{
    return {errc::not_found, "no request with id " + std::string(id)};
}

failure gone(std::string_view id)
{
    return {errc::gone, "request " + std::string(id) + " was deleted"};
}

failure precondition_failure(const stored_version& current)
{
    json::object ext;
    ext["current_etag"] = etag_for_version(current.version);
    return {errc::precondition_failed,
            "the request's preconditions do not hold for the current version " +
                std::to_string(current.version),
            std::move(ext)};
}

current_state state_of(const stored_version& v)
{
    return {v.version, v.updated_at};
}

// Every system field of `candidate` must equal the one in `current` (absent counts as a change),
// and so must every read-only attribute.
void check_read_only(const json::object& current, const json::object& candidate, const request_type& type,
                     json::object& errors)
{
    for (std::string_view name : system_fields)
    {
        const json::value* before = current.if_contains(name);
        const json::value* after = candidate.if_contains(name);
        if (!after || !before || *after != *before)
            errors[member_pointer(name)] = "is read-only";
    }
    if (candidate.contains("deleted_at"))
        errors[member_pointer("deleted_at")] = "is read-only";
    for (const auto& spec : type.attributes)
    {
        if (!spec.read_only)
            continue;
        const json::value* before = current.if_contains(spec.name);
        const json::value* after = candidate.if_contains(spec.name);
        const bool same =
            (!before || before->is_null()) ? (!after || after->is_null()) : (after && *after == *before);
        if (!same)
            errors[member_pointer(spec.name)] = "is read-only";
    }
}

std::string string_member(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

result<json::object> parse_stored(const stored_version& v)
{
    auto parsed = parse_json_body(v.body, 1024);
    if (!parsed || !parsed->is_object())
        return failure(errc::internal, "stored record " + std::to_string(v.version) + " does not parse");
    return std::move(parsed->get_object());
}

// The declared type a creating body names in `type`.
result<const request_type*> type_named_in(const json::object& body, const type_registry& types)
{
    const json::value* name = body.if_contains("type");
    if (!name || !name->is_string())
        return failure(errc::validation_failed, "the request names no type",
                       {{"errors", {{"/type", "required: the name of a declared request type"}}}});
    const request_type* type = types.find(name->get_string());
    if (!type)
        return failure(
            errc::validation_failed, "unknown request type",
            {{"errors",
              {{"/type", "\"" + std::string(name->get_string()) + "\" is not a declared request type"}}}});
    return type;
}

// When the record is due to expire: the type's expiry attribute, while the record is in a state
// that expiry can still leave (not the expiry state itself, not a final state).
std::optional<unix_millis> expiry_timer(const request_type& type, const json::object& record)
{
    if (!type.expires)
        return std::nullopt;
    const std::string status = string_member(record, "status");
    if (status == type.expires->state || type.is_final(status))
        return std::nullopt;
    const json::value* due = record.if_contains(type.expires->attribute);
    if (!due || !due->is_string())
        return std::nullopt;
    const auto at = parse_rfc3339(due->get_string());
    if (!at)
        return std::nullopt;
    // Timers are keyed by unsigned time: a time before 1970 is simply due at once.
    return std::max<unix_millis>(*at, 0);
}

// Section 5 step 6 for a change of an existing record: the transition, then whether the changed
// attributes may change in the current state, then the requirements of the state entered.
std::optional<failure> state_rule_problem(const request_type& type, const std::string& from,
                                          const json::object& before, const json::object& after)
{
    const std::string to = string_member(after, "status");
    if (to != from && !type.may_move(from, to))
    {
        json::array allowed;
        for (const auto& state : type.allowed_from(from))
            allowed.emplace_back(state);
        return failure(errc::invalid_transition,
                       "type " + type.name + " does not allow moving from " + from + " to " + to,
                       {{"from", from}, {"to", to}, {"allowed", std::move(allowed)}});
    }
    std::vector<std::string> changed = changed_members(before, after);
    std::erase(changed, "status");
    if (!changed.empty() && !type.updatable_in_state(from))
    {
        const std::string why =
            type.is_final(from)
                ? "a request in the final state " + from + " cannot be changed"
                : "a request of type " + type.name + " in state " + from + " cannot be updated";
        json::array members;
        json::object errors;
        for (const auto& name : changed)
        {
            members.emplace_back(name);
            errors[member_pointer(name)] = "cannot change in state " + from;
        }
        return failure(errc::not_updatable_in_state, why,
                       {{"state", from}, {"members", std::move(members)}, {"errors", std::move(errors)}});
    }
    // Every member that may not change now is named in `errors`; `member` and `mutable_in` describe
    // the first, as the problem's detail does.
    std::optional<failure> first;
    for (const auto& name : changed)
    {
        const attribute_spec* spec = type.attribute(name);
        if (!spec || !spec->mutable_in ||
            std::find(spec->mutable_in->begin(), spec->mutable_in->end(), from) != spec->mutable_in->end())
            continue;
        std::string why = name + " cannot change while the request is " + from;
        if (first)
        {
            first->extensions["errors"].as_object()[member_pointer(name)] = std::move(why);
            continue;
        }
        json::array states;
        for (const auto& state : *spec->mutable_in)
            states.emplace_back(state);
        json::object errors{{member_pointer(name), why}};
        first = failure(errc::not_updatable_in_state, std::move(why),
                        {{"state", from},
                         {"member", name},
                         {"mutable_in", std::move(states)},
                         {"errors", std::move(errors)}});
    }
    if (first)
        return first;
    return std::nullopt;
}

// The members that must be present (not null) to enter `state`, as a 422 when any is missing.
std::optional<failure> requirements_problem(const request_type& type, const std::string& state,
                                            const json::object& record)
{
    const auto it = type.requirements.find(state);
    if (it == type.requirements.end())
        return std::nullopt;
    json::object errors;
    for (const auto& name : it->second)
    {
        const json::value* v = record.if_contains(name);
        if (!v || v->is_null())
            errors[member_pointer(name)] = "is required to enter state " + state;
    }
    if (!type.dsr_types.empty())
    {
        const auto& names = it->second;
        dsr_requirements(type, record, std::find(names.begin(), names.end(), "data") != names.end(),
                         std::find(names.begin(), names.end(), "attachments") != names.end(), state, errors);
    }
    if (errors.empty())
        return std::nullopt;
    return failure(errc::requirements_missing, "the request lacks what state " + state + " requires",
                   {{"errors", std::move(errors)}});
}

// For a write that wants every problem at once: what steps 6 would also refuse, as entries of a
// validation failure's `errors` (the transition under /status, a member that may not change under
// its pointer, and the requirements of the state entered).
void add_state_problems(const request_type& type, const std::string& from, const json::object& before,
                        const json::object& after, json::object& errors)
{
    const auto merge = [&errors](const failure& problem)
    {
        if (const auto* found = problem.extensions.if_contains("errors"); found && found->is_object())
            for (const auto& entry : found->get_object())
                errors.emplace(entry.key(), entry.value());
    };
    if (auto problem = state_rule_problem(type, from, before, after))
    {
        if (problem->code == errc::invalid_transition)
            errors.emplace(member_pointer("status"), problem->detail);
        merge(*problem);
    }
    const std::string to = string_member(after, "status");
    if (to != from)
        if (auto missing = requirements_problem(type, to, after))
            merge(*missing);
}

result<commit_request> build_commit(version_change change, std::size_t max_record_bytes)
{
    const request_type& type = *change.type;
    json::object& members = change.members;
    const std::string status = string_member(members, "status");
    const bool entering = !change.current || status != change.current->status;
    // Timestamps and updated_at never go back, even if the wall clock does.
    const unix_millis now = std::max(now_millis(), change.current ? change.current->updated_at : 0);
    if (entering && !change.deleting)
        if (const auto it = type.timestamps.find(status); it != type.timestamps.end())
            members[it->second] = format_rfc3339(now);
    if (change.deleting)
        members["deleted_at"] = format_rfc3339(now);

    const std::uint64_t version = change.current ? change.current->version + 1 : 1;
    const system_values sys{
        change.id,
        type.name,
        version,
        change.current ? string_member(*change.current_record, "created_at") : format_rfc3339(now),
        now,
        change.current ? string_member(*change.current_record, "created_by") : change.actor,
        change.actor};
    const json::object record = canonical_record(sys, members);

    std::vector<std::string> changed;
    if (change.deleting)
        changed.emplace_back("deleted_at");
    else if (change.current)
        changed = changed_members(*change.current_record, members);
    else
        for (const auto& member : record)
            if (!is_system_field(member.key()))
                changed.emplace_back(member.key());

    commit_request request;
    request.id = change.id;
    if (change.current)
        request.expected = {change.current->version, change.current->tag};
    request.next = make_version(record, version, now, change.deleting, change.actor, std::move(changed));
    request.next.tag = new_version_tag();
    request.attachments = std::move(change.uploads);
    if (!change.current)
        request.events.push_back(make_event("request.created", change.id, request.next));
    else if (change.deleting)
        request.events.push_back(make_event("request.deleted", change.id, request.next));
    else if (entering)
        request.events.push_back(
            make_event("request.status_changed", change.id, request.next, change.current->status));
    else
        request.events.push_back(make_event("request.updated", change.id, request.next));

    // Scheduled expiry follows the record: a timer exists while the record can still expire.
    // Times with a sentinel rather than std::optional: GCC 12 warns falsely (maybe-uninitialized)
    // about comparing two optionals here. Timers are never before the epoch (expiry_timer).
    constexpr unix_millis no_timer = -1;
    const unix_millis due_before = change.current && !change.current->deleted
                                       ? expiry_timer(type, *change.current_record).value_or(no_timer)
                                       : no_timer;
    const unix_millis due_after = change.deleting ? no_timer : expiry_timer(type, record).value_or(no_timer);
    if (due_before != due_after)
    {
        if (due_before != no_timer)
            request.timers_removed.push_back({due_before, change.id});
        if (due_after != no_timer)
            request.timers_added.push_back({due_after, change.id});
    }
    if (change.fired_timer && std::find(request.timers_removed.begin(), request.timers_removed.end(),
                                        *change.fired_timer) == request.timers_removed.end())
        request.timers_removed.push_back(*change.fired_timer);

    if (request.next.body.size() > max_record_bytes)
        return failure(errc::record_too_large,
                       "the record would be " + std::to_string(request.next.body.size()) +
                           " bytes; the limit is " + std::to_string(max_record_bytes));
    return request;
}

result<json::object> apply_write(write_operation op, const json::object& current, const json::value& body,
                                 const json_patch_limits& limits)
{
    if (op == write_operation::json_patch)
    {
        auto patched = apply_json_patch(json::value(current), body, limits);
        if (!patched)
            return patched.error();
        if (!patched->is_object())
            return failure(errc::validation_failed, "a record must stay a JSON object",
                           {{"errors", json::object{{"", "must be an object"}}}});
        return std::move(patched->get_object());
    }
    if (!body.is_object())
        return failure(errc::malformed_json, "the body must be a JSON object");
    if (op == write_operation::merge_patch)
        return std::move(apply_merge_patch(json::value(current), body).get_object());
    json::object candidate = current;
    for (const auto& member : body.get_object())
        candidate[member.key()] = member.value();
    return candidate;
}

std::optional<failure> validation_problem(const request_type& type, const std::string& from,
                                          const json::object& current, json::object& candidate,
                                          std::vector<attachment_blob>& uploads, bool every_problem_at_once)
{
    // Removing callback_url or metadata means their empty values, as a record always shows them;
    // normalized so, such a write compares equal to an unchanged one.
    if (!candidate.contains("callback_url"))
        candidate["callback_url"] = nullptr;
    if (!candidate.contains("metadata"))
        candidate["metadata"] = json::object();
    json::object errors;
    check_read_only(current, candidate, type, errors);
    if (!errors.empty())
        return failure(errc::read_only_field, "read-only members cannot be changed",
                       {{"errors", std::move(errors)}});
    accept_uploads(type, candidate, &current, uploads, errors);
    validate_record(type, candidate, errors);
    if (!errors.empty())
    {
        if (every_problem_at_once)
            add_state_problems(type, from, current, candidate, errors);
        return failure(errc::validation_failed, "the request does not fit type " + type.name,
                       {{"errors", std::move(errors)}});
    }
    normalize_integers(type, candidate);
    return std::nullopt;
}

std::optional<failure> change_problem(const request_type& type, const std::string& from,
                                      const json::object& before, const json::object& after)
{
    if (auto problem = state_rule_problem(type, from, before, after))
        return problem;
    const std::string to = string_member(after, "status");
    if (to != from)
        return requirements_problem(type, to, after);
    return std::nullopt;
}

} // namespace reqstore::core
