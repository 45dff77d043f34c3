// The write path of one record, in the contract's order: existence, preconditions, body,
// validation, state rules, then one atomic commit of the version and its events.
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/record_service.hpp>

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

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

std::string pointer_to(std::string_view member)
{
    return "/" + escape_pointer_token(member);
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

// Maps a precondition outcome other than proceed/not_modified to its failure.
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

current_state state_of(const stored_version& v)
{
    return {v.version, v.updated_at};
}

bool is_absolute_http_url(std::string_view text)
{
    const auto url = boost::urls::parse_absolute_uri(text);
    if (!url)
        return false;
    const auto scheme = url->scheme();
    return (scheme == "http" || scheme == "https") && url->has_authority() && !url->host().empty();
}

// The checks of section 5 step 5 that need no attribute schema: the common members' shapes and
// members the type does not declare. Adds one entry per offending member to `errors`.
void validate_members(const request_type& type, const json::object& record, json::object& errors)
{
    const json::value* status = record.if_contains("status");
    if (!status || !status->is_string())
        errors[pointer_to("status")] = "must be a string naming a state of type " + type.name;
    else if (!type.has_state(status->get_string()))
        errors[pointer_to("status")] =
            "\"" + std::string(status->get_string()) + "\" is not a state of type " + type.name;

    const json::value* metadata = record.if_contains("metadata");
    if (metadata && !metadata->is_object())
        errors[pointer_to("metadata")] = "must be an object";

    const json::value* callback = record.if_contains("callback_url");
    if (callback && !callback->is_null() &&
        !(callback->is_string() && is_absolute_http_url(callback->get_string())))
        errors[pointer_to("callback_url")] = "must be an absolute http or https URL, or null";

    if (!type.additional_attributes)
        for (const auto& member : record)
            if (!is_system_field(member.key()) && !is_common_field(member.key()))
                errors[pointer_to(member.key())] = "is not an attribute of type " + type.name;
}

// Every system field of `candidate` must equal the one in `current` (absent counts as a change).
void check_read_only(const json::object& current, const json::object& candidate, json::object& errors)
{
    for (std::string_view name : system_fields)
    {
        const json::value* before = current.if_contains(name);
        const json::value* after = candidate.if_contains(name);
        if (!after || !before || *after != *before)
            errors[pointer_to(name)] = "is read-only";
    }
    if (candidate.contains("deleted_at"))
        errors[pointer_to("deleted_at")] = "is read-only";
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

} // namespace

record_service::record_service(net::any_io_executor executor, record_store& store, const type_registry& types,
                               service_options options)
    : store_(store), types_(types), options_(options), locks_(std::move(executor))
{
}

bool record_service::require_if_match_for(std::string_view type_name) const
{
    const request_type* type = types_.find(type_name);
    return type && type->require_if_match ? *type->require_if_match : options_.require_if_match;
}

result<read_outcome> record_service::read(std::string_view id, const conditional_headers& conditions)
{
    auto current = store_.load(id);
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
        auto created = co_await commit_create(generate_id((*type)->format, (*type)->id_prefix), **type, *body,
                                              input.actor);
        if (created || created.error().code != errc::precondition_failed || attempt == 3)
            co_return created;
    }
}

net::awaitable<result<write_outcome>> record_service::commit_create(std::string id, const request_type& type,
                                                                    json::object body, std::string actor)
{
    json::object errors;
    for (const auto& member : body)
        if (member.key() != "type" && is_system_field(member.key()))
            errors[pointer_to(member.key())] = "is read-only";
    if (!errors.empty())
        co_return failure(errc::read_only_field, "system fields are set by the server",
                          {{"errors", std::move(errors)}});
    if (!body.contains("status"))
        body["status"] = type.initial;
    validate_members(type, body, errors);
    if (!errors.empty())
        co_return failure(errc::validation_failed, "the request does not fit type " + type.name,
                          {{"errors", std::move(errors)}});

    const unix_millis now = now_millis();
    const system_values sys{id, type.name, 1, format_rfc3339(now), now, actor, actor};
    const json::object record = canonical_record(sys, body);
    std::vector<std::string> all_members;
    for (const auto& member : record)
        if (!is_system_field(member.key()))
            all_members.emplace_back(member.key());

    commit_request request;
    request.id = id;
    request.expected_version = 0;
    request.next = make_version(record, 1, now, false, std::move(actor), std::move(all_members));
    request.events.push_back(make_event("request.created", id, request.next));
    auto receipt = co_await store_.commit(request);
    if (!receipt)
        co_return receipt.error();
    co_return write_outcome{std::move(id), std::move(request.next), true, true};
}

net::awaitable<result<write_outcome>> record_service::put(std::string id, write_input input)
{
    co_return co_await locks_.run_exclusive(id, mutate_locked(id, std::move(input), operation::put));
}

net::awaitable<result<write_outcome>> record_service::patch(std::string id, write_input input)
{
    const operation op =
        input.media == body_media::json_patch ? operation::json_patch : operation::merge_patch;
    co_return co_await locks_.run_exclusive(id, mutate_locked(id, std::move(input), op));
}

net::awaitable<result<write_outcome>> record_service::remove(std::string id, write_input input)
{
    co_return co_await locks_.run_exclusive(id, mutate_locked(id, std::move(input), operation::remove));
}

net::awaitable<result<write_outcome>> record_service::mutate_locked(std::string id, write_input input,
                                                                    operation op)
{
    // Step 2: the record exists (410 once deleted), or PUT with If-None-Match: * creates it.
    auto loaded = store_.load(id);
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
        co_return co_await commit_create(id, *type, std::move(*body), std::move(input.actor));
    }
    stored_version& current = **loaded;
    if (current.deleted)
        co_return gone(id);

    // Step 3: preconditions.
    const auto outcome = evaluate_preconditions(input.conditions, state_of(current), request_kind::write,
                                                require_if_match_for(current.type));
    if (outcome != precondition_outcome::proceed)
        co_return precondition_problem(outcome, &current);

    // Step 4: the body.
    auto current_record = parse_stored(current);
    if (!current_record)
        co_return current_record.error();
    const request_type* type = types_.find(current.type);
    if (!type)
        co_return failure(errc::internal,
                          "record " + id + " has type " + current.type + ", which is not declared");

    json::object candidate;
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
            auto patched = apply_json_patch(json::value(*current_record), *parsed);
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
    }

    // Step 5: validation.
    json::object errors;
    check_read_only(*current_record, candidate, errors);
    if (!errors.empty())
        co_return failure(errc::read_only_field, "system fields are set by the server",
                          {{"errors", std::move(errors)}});
    validate_members(*type, candidate, errors);
    if (!errors.empty())
        co_return failure(errc::validation_failed, "the request does not fit type " + type->name,
                          {{"errors", std::move(errors)}});

    // A write that changes nothing commits nothing.
    if (op != operation::remove && candidate == *current_record)
        co_return write_outcome{std::move(id), std::move(current), false, false};

    // Step 6: state rules.
    const std::string new_status = string_member(candidate, "status");
    if (op != operation::remove)
    {
        if (new_status != current.status && !type->may_move(current.status, new_status))
        {
            json::array allowed;
            for (const auto& state : type->allowed_from(current.status))
                allowed.emplace_back(state);
            co_return failure(
                errc::invalid_transition,
                "type " + type->name + " does not allow moving from " + current.status + " to " + new_status,
                {{"from", current.status}, {"to", new_status}, {"allowed", std::move(allowed)}});
        }
        if (new_status == current.status && type->is_final(current.status))
            co_return failure(errc::not_updatable_in_state,
                              "a request in the final state " + current.status + " cannot be changed");
    }

    // Build version N+1; updated_at never goes back, even if the wall clock does.
    const unix_millis now = std::max(now_millis(), current.updated_at);
    const system_values sys{id,
                            current.type,
                            current.version + 1,
                            string_member(*current_record, "created_at"),
                            now,
                            string_member(*current_record, "created_by"),
                            input.actor};
    if (op == operation::remove)
        candidate["deleted_at"] = format_rfc3339(now);
    const json::object record = canonical_record(sys, candidate);

    commit_request request;
    request.id = id;
    request.expected_version = current.version;
    request.next = make_version(record, current.version + 1, now, op == operation::remove, input.actor,
                                op == operation::remove ? std::vector<std::string>{"deleted_at"}
                                                        : changed_members(*current_record, candidate));
    if (op == operation::remove)
        request.events.push_back(make_event("request.deleted", id, request.next));
    else if (new_status != current.status)
        request.events.push_back(make_event("request.status_changed", id, request.next, current.status));
    else
        request.events.push_back(make_event("request.updated", id, request.next));

    auto receipt = co_await store_.commit(request);
    if (!receipt)
        co_return receipt.error();
    co_return write_outcome{std::move(id), std::move(request.next), false, true};
}

} // namespace reqstore::core
