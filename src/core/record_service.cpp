// The write path of one record, in the contract's order: existence, preconditions, body,
// validation, state rules, then one atomic commit of the version and its events.
#include <reqstore/core/dsr_rules.hpp>
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/core/validation.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>

namespace reqstore::core
{
namespace net = boost::asio;
namespace json = boost::json;

namespace
{

// Members the server maintains; a write may repeat their current value but not change it.
constexpr std::array<std::string_view, 8> system_fields{
    "id", "type", "version", "etag", "created_at", "updated_at", "created_by", "updated_by"};
// Members every type has besides its attributes.
constexpr std::array<std::string_view, 3> common_fields{"status", "callback_url", "metadata"};

bool is_system_field(std::string_view name)
{
    return std::find(system_fields.begin(), system_fields.end(), name) != system_fields.end() ||
           name == "deleted_at";
}

bool is_common_field(std::string_view name)
{
    return std::find(common_fields.begin(), common_fields.end(), name) != common_fields.end();
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

} // namespace

failure precondition_problem(precondition_outcome outcome, const stored_version* current)
{
    switch (outcome)
    {
    case precondition_outcome::required:
        return {errc::precondition_required,
                "this write needs an If-Match header naming the version it was built on"};
    case precondition_outcome::malformed_if_match:
        return {errc::bad_request, "If-Match must be * or a list of quoted entity-tags such as \"3\""};
    case precondition_outcome::malformed_if_none_match:
        return {errc::bad_request, "If-None-Match must be * or a list of quoted entity-tags such as \"3\""};
    default:
        if (current)
            return precondition_failure(*current);
        return {errc::precondition_failed,
                "the request's preconditions do not hold: the record does not exist"};
    }
}

namespace
{

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

// Parses a write's body, which must be a JSON object.
result<json::object> parse_object_body(std::string_view body, unsigned max_depth)
{
    auto parsed = parse_json_body(body, max_depth);
    if (!parsed)
        return parsed.error();
    if (!parsed->is_object())
        return failure(errc::malformed_json, "the body must be a JSON object");
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

} // namespace

record_service::record_service(net::any_io_executor executor, record_store& store, const type_registry& types,
                               service_options options)
    : store_(store), types_(types), options_(options), locks_(std::move(executor)),
      newest_(options.newest_versions_bytes)
{
}

bool record_service::require_if_match_for(std::string_view type_name) const
{
    const request_type* type = types_.find(type_name);
    return type && type->require_if_match ? *type->require_if_match : options_.require_if_match;
}

result<read_outcome> record_service::read(std::string_view id, const conditional_headers& conditions)
{
    // Only a durable version is shown to a reader; the store has it when memory does not.
    auto current = [&]() -> result<std::optional<stored_version>>
    {
        if (auto held = newest_.find_durable(id))
            return held;
        const std::uint64_t changes_before = newest_.changes();
        auto loaded = store_.load(id);
        if (loaded && *loaded)
            newest_.remember_read(std::string(id), **loaded, changes_before);
        return loaded;
    }();
    if (!current)
        return current.error();
    if (!*current)
        return not_found(id);
    if ((*current)->deleted)
        return gone(id);
    const auto outcome = evaluate_preconditions(conditions, state_of(**current), request_kind::read, false);
    if (outcome != precondition_outcome::proceed && outcome != precondition_outcome::not_modified)
        return precondition_problem(outcome, &**current);
    return read_outcome{std::move(**current), outcome == precondition_outcome::not_modified};
}

result<stored_version> record_service::read_version(std::string_view id, std::uint64_t version)
{
    auto found = store_.load_version(id, version);
    if (!found)
        return found.error();
    if (!*found)
    {
        auto current = store_.load(id);
        if (current && !*current)
            return not_found(id);
        return failure(errc::not_found,
                       "request " + std::string(id) + " has no version " + std::to_string(version));
    }
    return std::move(**found);
}

result<std::vector<stored_version>> record_service::history(std::string_view id, std::uint64_t below_version,
                                                            std::size_t limit)
{
    auto current = store_.load(id);
    if (!current)
        return current.error();
    if (!*current)
        return not_found(id);
    return store_.history(id, below_version == 0 ? (*current)->version + 1 : below_version, limit);
}

result<list_page> record_service::list(const list_filter& filter, std::string_view after_id,
                                       std::size_t limit)
{
    constexpr std::size_t max_examined_per_page = 10'000;
    return store_.list(filter, after_id, limit, max_examined_per_page);
}

result<std::optional<idempotency_entry>> record_service::find_idempotent(std::string_view key)
{
    return store_.load_idempotency(key);
}

result<std::size_t> record_service::forget_idempotent_before(unix_millis cutoff)
{
    return store_.remove_idempotency_before(cutoff);
}

net::awaitable<result<write_outcome>> record_service::create(write_input input)
{
    auto body = parse_object_body(input.body, options_.max_json_depth);
    if (!body)
        co_return body.error();
    auto type = type_named_in(*body, types_);
    if (!type)
        co_return type.error();
    // A fresh id collides only by astronomical chance; the store's compare-and-swap on
    // "absent" turns that chance into a retry instead of an overwrite.
    for (int attempt = 0;; ++attempt)
    {
        auto staged = commit_create(generate_id((*type)->format, (*type)->id_prefix), **type, *body,
                                    input.actor, input.idempotency, false);
        auto created = co_await finish(std::move(staged));
        if (created || created.error().code != errc::precondition_failed || attempt == 3)
            co_return created;
    }
}

result<record_service::staged_write>
record_service::commit_create(std::string id, const request_type& type, json::object body, std::string actor,
                              const std::optional<idempotency_hook>& idempotency, bool locked)
{
    json::object errors;
    for (const auto& member : body)
        if (member.key() != "type" && is_system_field(member.key()))
            errors[member_pointer(member.key())] = "is read-only";
    if (!errors.empty())
        return failure(errc::read_only_field, "system fields are set by the server",
                       {{"errors", std::move(errors)}});
    if (!body.contains("status"))
        body["status"] = type.initial;
    for (const auto& spec : type.attributes)
        if (spec.default_value && !body.contains(spec.name))
            body[spec.name] = *spec.default_value;
    std::vector<attachment_blob> uploads;
    accept_uploads(type, body, nullptr, uploads, errors);
    validate_record(type, body, errors);
    if (!errors.empty())
        return failure(errc::validation_failed, "the request does not fit type " + type.name,
                       {{"errors", std::move(errors)}});
    normalize_integers(type, body);
    if (auto missing = requirements_problem(type, string_member(body, "status"), body))
        return std::move(*missing);

    version_change change;
    change.id = std::move(id);
    change.type = &type;
    change.members = std::move(body);
    change.actor = std::move(actor);
    change.idempotency = &idempotency;
    change.uploads = std::move(uploads);
    return commit_change(std::move(change), locked);
}

result<record_service::staged_write> record_service::commit_change(version_change change, bool locked)
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
    request.expected_version = change.current ? change.current->version : 0;
    request.next = make_version(record, version, now, change.deleting, change.actor, std::move(changed));
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

    if (request.next.body.size() > options_.max_record_bytes)
        return failure(errc::record_too_large,
                       "the record would be " + std::to_string(request.next.body.size()) +
                           " bytes; the limit is " + std::to_string(options_.max_record_bytes));

    write_outcome outcome{change.id, request.next, !change.current, true};
    if (change.idempotency && *change.idempotency)
    {
        const idempotency_hook& hook = **change.idempotency;
        request.idempotency = idempotency_entry{hook.key, hook.fingerprint, now, hook.render(outcome)};
    }
    staged_write staged{outcome, nullptr, true, change.pipelined, request.timers_added};
    // The version held in memory is dropped before the store may write the new one (a flush on
    // another I/O thread, the commit thread), so that no reader is served the old one after a
    // reader of the store saw the new one.
    if (locked)
        newest_.drop(change.id);
    staged.durable = store_.start_commit(std::move(request));
    if (locked)
        newest_.queue(change.id, outcome.record, staged.durable);
    return staged;
}

net::awaitable<result<write_outcome>> record_service::finish(result<staged_write> staged,
                                                             std::shared_ptr<pending_commit> judged_against)
{
    if (!staged)
    {
        // A refusal judged against a version not yet durable (a 412 naming it, a 410 for a queued
        // deletion, …) is answered once that version is: had it been answered at once, a client
        // could act on a version that a crash then takes away, and a read right after the answer
        // could still show the version before it.
        if (judged_against)
            if (const auto earlier = co_await judged_against->wait(); !earlier)
                co_return failure(errc::unavailable, "an earlier write to this request failed, so this one "
                                                     "was judged against a version that was never stored");
        co_return staged.error();
    }
    if (!staged->durable)
        co_return std::move(staged->outcome);
    auto durable = co_await staged->durable->wait();
    if (staged->owns)
        newest_.settle(staged->outcome.id, staged->durable, durable.has_value());
    if (!durable)
    {
        // Judged against a queued version whose own commit failed: the store refused this one's
        // compare-and-swap. Not the client's precondition: the server could not write.
        if (staged->pipelined && durable.error().code == errc::precondition_failed)
            co_return failure(errc::unavailable, "an earlier write to request " + staged->outcome.id +
                                                     " failed, so this one was not written");
        co_return durable.error();
    }
    if (staged->owns && timer_added_)
        for (const auto& timer : staged->timers_added)
            timer_added_(timer.due);
    co_return std::move(staged->outcome);
}

result<std::optional<stored_version>> record_service::load_for_write(const std::string& id,
                                                                     std::shared_ptr<pending_commit>& pending)
{
    if (auto held = newest_.find(id))
    {
        pending = std::move(held->queued);
        return std::optional<stored_version>(std::move(held->version));
    }
    pending.reset();
    // Under the record's lock with nothing queued: the store has its newest version.
    auto loaded = store_.load(id);
    if (loaded && *loaded)
        newest_.remember(id, **loaded);
    return loaded;
}

net::awaitable<result<write_outcome>> record_service::put(std::string id, write_input input)
{
    std::shared_ptr<pending_commit> judged_against;
    auto staged = co_await locks_.run_exclusive(
        id, mutate_locked(id, std::move(input), operation::put, judged_against));
    co_return co_await finish(std::move(staged), std::move(judged_against));
}

net::awaitable<result<write_outcome>> record_service::patch(std::string id, write_input input)
{
    const operation op =
        input.media == body_media::json_patch ? operation::json_patch : operation::merge_patch;
    std::shared_ptr<pending_commit> judged_against;
    auto staged = co_await locks_.run_exclusive(id, mutate_locked(id, std::move(input), op, judged_against));
    co_return co_await finish(std::move(staged), std::move(judged_against));
}

net::awaitable<result<write_outcome>> record_service::remove(std::string id, write_input input)
{
    std::shared_ptr<pending_commit> judged_against;
    auto staged = co_await locks_.run_exclusive(
        id, mutate_locked(id, std::move(input), operation::remove, judged_against));
    co_return co_await finish(std::move(staged), std::move(judged_against));
}

net::awaitable<result<record_service::staged_write>>
record_service::mutate_locked(std::string id, write_input input, operation op,
                              std::shared_ptr<pending_commit>& judged_against)
{
    // Step 2: the record exists (410 once deleted), or PUT with If-None-Match: * creates it.
    std::shared_ptr<pending_commit> queued; // set when the newest version is not yet durable
    auto loaded = load_for_write(id, queued);
    judged_against = queued;
    if (!loaded)
        co_return loaded.error();
    if (!*loaded)
    {
        const auto none_match = input.conditions.if_none_match
                                    ? parse_entity_tag_list(*input.conditions.if_none_match)
                                    : std::nullopt;
        if (op != operation::put || !none_match || !none_match->any)
            co_return not_found(id);
        const auto outcome = evaluate_preconditions(input.conditions, {}, request_kind::write, false);
        if (outcome != precondition_outcome::proceed)
            co_return precondition_problem(outcome, nullptr);
        if (input.media != body_media::json)
            co_return failure(errc::unsupported_media_type, "PUT takes application/json");
        auto body = parse_object_body(input.body, options_.max_json_depth);
        if (!body)
            co_return body.error();
        auto named = type_named_in(*body, types_);
        if (!named)
            co_return named.error();
        const request_type* type = *named;
        if (!id_fits(type->format, type->id_prefix, id))
            co_return failure(errc::invalid_id, "\"" + id + "\" is not a valid id for type " + type->name);
        co_return commit_create(id, *type, std::move(*body), std::move(input.actor), input.idempotency, true);
    }
    stored_version& current = **loaded;
    // Parsed before the preconditions only when a surface must look at it first: a 412 on the
    // native API stays a cheap answer.
    std::optional<json::object> current_record;
    if (input.admit)
    {
        auto parsed = parse_stored(current);
        if (!parsed)
            co_return parsed.error();
        if (auto refused = input.admit(*parsed))
            co_return std::move(*refused);
        current_record = std::move(*parsed);
    }
    if (current.deleted)
        co_return gone(id);

    // Step 3: preconditions.
    const auto outcome = evaluate_preconditions(input.conditions, state_of(current), request_kind::write,
                                                require_if_match_for(current.type));
    if (outcome != precondition_outcome::proceed)
        co_return precondition_problem(outcome, &current);

    // Step 4: the body.
    if (!current_record)
    {
        auto parsed = parse_stored(current);
        if (!parsed)
            co_return parsed.error();
        current_record = std::move(*parsed);
    }
    const request_type* type = types_.find(current.type);
    if (!type)
        co_return failure(errc::internal,
                          "record " + id + " has type " + current.type + ", which is not declared");

    json::object candidate;
    std::vector<attachment_blob> uploads;
    if (op == operation::remove)
    {
        candidate = *current_record;
    }
    else
    {
        if (input.media == body_media::unsupported)
            co_return failure(errc::unsupported_media_type,
                              op == operation::put
                                  ? "PUT takes application/json"
                                  : "PATCH takes application/merge-patch+json, application/json "
                                    "or application/json-patch+json");
        auto parsed = parse_json_body(input.body, options_.max_json_depth);
        if (!parsed)
            co_return parsed.error();
        if (op == operation::json_patch)
        {
            auto patched = apply_json_patch(json::value(*current_record), *parsed,
                                            {options_.max_json_depth, options_.max_record_bytes});
            if (!patched)
                co_return patched.error();
            if (!patched->is_object())
                co_return failure(errc::validation_failed, "a record must stay a JSON object",
                                  {{"errors", json::object{{"", "must be an object"}}}});
            candidate = std::move(patched->get_object());
        }
        else
        {
            if (!parsed->is_object())
                co_return failure(errc::malformed_json, "the body must be a JSON object");
            if (op == operation::put)
            {
                candidate = *current_record;
                for (const auto& member : parsed->get_object())
                    candidate[member.key()] = member.value();
            }
            else
            {
                json::value merged = apply_merge_patch(json::value(*current_record), *parsed);
                candidate = std::move(merged.get_object());
            }
        }

        // Step 5: validation. Removing callback_url or metadata means their empty values, as a
        // record always shows them; normalized so, such a write compares equal to an unchanged one.
        if (!candidate.contains("callback_url"))
            candidate["callback_url"] = nullptr;
        if (!candidate.contains("metadata"))
            candidate["metadata"] = json::object();
        json::object errors;
        check_read_only(*current_record, candidate, *type, errors);
        if (!errors.empty())
            co_return failure(errc::read_only_field, "read-only members cannot be changed",
                              {{"errors", std::move(errors)}});
        accept_uploads(*type, candidate, &*current_record, uploads, errors);
        validate_record(*type, candidate, errors);
        if (!errors.empty())
        {
            if (input.every_problem_at_once)
                add_state_problems(*type, current.status, *current_record, candidate, errors);
            co_return failure(errc::validation_failed, "the request does not fit type " + type->name,
                              {{"errors", std::move(errors)}});
        }
        normalize_integers(*type, candidate);

        // A write that changes nothing commits nothing. It answers with the newest version, so
        // it waits until that version is durable, as its writer does.
        if (candidate == *current_record)
            co_return staged_write{write_outcome{std::move(id), std::move(current), false, false}, queued};

        // Step 6: state rules.
        if (auto problem = state_rule_problem(*type, current.status, *current_record, candidate))
            co_return std::move(*problem);
        const std::string to = string_member(candidate, "status");
        if (to != current.status)
            if (auto missing = requirements_problem(*type, to, candidate))
                co_return std::move(*missing);
    }

    version_change change;
    change.id = std::move(id);
    change.type = type;
    change.current = &current;
    change.current_record = &*current_record;
    change.members = std::move(candidate);
    change.deleting = op == operation::remove;
    change.actor = std::move(input.actor);
    change.idempotency = &input.idempotency;
    change.uploads = std::move(uploads);
    change.pipelined = queued != nullptr;
    co_return commit_change(std::move(change), true);
}

net::awaitable<result<bool>> record_service::fire_expiry(timer_key timer)
{
    std::string id = timer.id;
    auto staged = co_await locks_.run_exclusive(std::move(id), fire_expiry_locked(std::move(timer)));
    if (!staged)
        co_return staged.error();
    if (!*staged)
        co_return false;
    auto committed = co_await finish(std::move(**staged));
    if (!committed)
        co_return committed.error();
    co_return true;
}

net::awaitable<result<std::optional<record_service::staged_write>>>
record_service::fire_expiry_locked(timer_key timer)
{
    using fired = std::optional<staged_write>;
    // The timer no longer applies: remove it without a version.
    const auto drop = [&]() -> result<fired>
    {
        auto removed = store_.remove_timer(timer);
        if (!removed)
            return removed.error();
        return fired();
    };
    // Judged on durable state only: dropping a timer is not part of any batch, so it must not
    // follow a queued version that could still fail.
    std::shared_ptr<pending_commit> queued;
    if (auto newest = load_for_write(timer.id, queued); newest && queued)
        (void)co_await queued->wait();
    auto loaded = store_.load(timer.id);
    if (!loaded)
        co_return loaded.error();
    if (!*loaded || (*loaded)->deleted)
        co_return drop(); // the record is gone
    stored_version& current = **loaded;
    const request_type* type = types_.find(current.type);
    auto record = parse_stored(current);
    if (!record)
        co_return record.error();
    if (!type || !type->expires || expiry_timer(*type, *record) != timer.due)
        co_return drop(); // the record no longer expires at this time
    const std::string& target = type->expires->state;
    if (!type->may_move(current.status, target) || requirements_problem(*type, target, *record))
        co_return drop(); // the type does not allow this move from the current state

    version_change change;
    change.id = timer.id;
    change.type = type;
    change.current = &current;
    change.current_record = &*record;
    change.members = *record;
    change.members["status"] = target;
    change.actor = "system";
    change.fired_timer = timer;
    auto staged = commit_change(std::move(change), true);
    if (!staged)
        co_return staged.error();
    co_return fired(std::move(*staged));
}

} // namespace reqstore::core
