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

#include "record_rules.hpp"

namespace reqstore::core
{
namespace net = boost::asio;
namespace json = boost::json;

namespace
{

// A write's body as JSON: the raw bytes parsed now, the value the surface decoded, or the surface's
// refusal of the body.
result<json::value> decoded_body(const write_input& input, unsigned max_depth)
{
    if (const auto* raw = std::get_if<std::string>(&input.body))
        return parse_json_body(*raw, max_depth);
    if (const auto* value = std::get_if<json::value>(&input.body))
        return *value;
    return std::get<failure>(input.body);
}

// A write's body, which must be a JSON object.
result<json::object> object_body(const write_input& input, unsigned max_depth)
{
    auto decoded = decoded_body(input, max_depth);
    if (!decoded)
        return decoded.error();
    if (!decoded->is_object())
        return failure(errc::malformed_json, "the body must be a JSON object");
    return std::move(decoded->get_object());
}

// Whether a queued commit failed because the engine refused its compare-and-swap: another writer
// of the store (another node) committed the record first. A write judged against that queued
// version may well hold against the store's own version, so it is judged again instead of failing.
bool lost_to_another_writer(const failure& commit_failure)
{
    return commit_failure.code == errc::precondition_failed;
}

// Asks the caller (record_service::write) to judge the write again, when it still may; when it may
// not, `last_word` is the answer.
failure judge_again(bool* judged_on_stale_version, failure last_word)
{
    if (judged_on_stale_version)
        *judged_on_stale_version = true;
    return last_word;
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

record_service::record_service(net::any_io_executor executor, record_store& store, const type_registry& types,
                               service_options options)
    : store_(store), types_(types), options_(options), locks_(std::move(executor), options.one_io_thread),
      newest_(options.newest_versions_bytes, options.shared_store)
{
}

bool record_service::require_if_match_for(std::string_view type_name) const
{
    const request_type* type = types_.find(type_name);
    return type && type->require_if_match ? *type->require_if_match : options_.require_if_match;
}

net::awaitable<result<read_outcome>> record_service::read(std::string_view id,
                                                          const conditional_headers& conditions)
{
    // Only a durable version is shown to a reader; the store has it when memory does not.
    std::optional<stored_version> current = newest_.find_durable(id);
    if (!current)
    {
        const std::uint64_t changes_before = newest_.changes();
        auto loaded = co_await store_.load(id);
        if (!loaded)
            co_return loaded.error();
        if (*loaded)
            newest_.remember_read(std::string(id), **loaded, changes_before);
        current = std::move(*loaded);
    }
    if (!current)
        co_return not_found(id);
    if (current->deleted)
        co_return gone(id);
    const auto outcome = evaluate_preconditions(conditions, state_of(*current), request_kind::read, false);
    if (outcome != precondition_outcome::proceed && outcome != precondition_outcome::not_modified)
        co_return precondition_problem(outcome, &*current);
    co_return read_outcome{std::move(*current), outcome == precondition_outcome::not_modified};
}

net::awaitable<result<stored_version>> record_service::read_version(std::string_view id,
                                                                    std::uint64_t version)
{
    auto found = co_await store_.load_version(id, version);
    if (!found)
        co_return found.error();
    if (!*found)
    {
        auto current = co_await store_.load(id);
        if (current && !*current)
            co_return not_found(id);
        co_return failure(errc::not_found,
                          "request " + std::string(id) + " has no version " + std::to_string(version));
    }
    co_return std::move(**found);
}

net::awaitable<result<std::vector<stored_version>>>
record_service::history(std::string_view id, std::uint64_t below_version, std::size_t limit)
{
    auto current = co_await store_.load(id);
    if (!current)
        co_return current.error();
    if (!*current)
        co_return not_found(id);
    co_return co_await store_.history(id, below_version == 0 ? (*current)->version + 1 : below_version,
                                      limit);
}

net::awaitable<result<list_page>> record_service::list(const list_filter& filter, std::string_view after_id,
                                                       std::size_t limit)
{
    constexpr std::size_t max_examined_per_page = 10'000;
    co_return co_await store_.list(filter, after_id, limit, max_examined_per_page);
}

net::awaitable<result<std::optional<idempotency_entry>>> record_service::find_idempotent(std::string_view key)
{
    co_return co_await store_.load_idempotency(key);
}

net::awaitable<result<std::size_t>> record_service::forget_idempotent_before(unix_millis cutoff)
{
    co_return co_await store_.remove_idempotency_before(cutoff);
}

net::awaitable<result<write_outcome>> record_service::create(write_input input)
{
    auto body = object_body(input, options_.max_json_depth);
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
        bool collided = false;
        auto created = co_await finish(std::move(staged), {}, attempt < 3 ? &collided : nullptr);
        if (!collided)
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
    change.uploads = std::move(uploads);
    return commit_change(std::move(change), &idempotency, false, locked);
}

result<record_service::staged_write>
record_service::commit_change(version_change change, const std::optional<idempotency_hook>* idempotency,
                              bool pipelined, bool locked)
{
    const bool created = change.current == nullptr;
    auto built = build_commit(std::move(change), options_.max_record_bytes);
    if (!built)
        return built.error();
    commit_request& request = *built;
    write_outcome outcome{request.id, request.next, created, true};
    if (idempotency && *idempotency)
    {
        const idempotency_hook& hook = **idempotency;
        request.idempotency = idempotency_entry{hook.key, hook.fingerprint, request.next.updated_at,
                                                encode_kept_answer({hook.answer_form, outcome})};
        request.idempotency_answered_since = hook.answered_since;
    }
    staged_write staged{outcome, nullptr, true, pipelined, request.timers_added};
    // The version held in memory is dropped before the store may write the new one (a flush on
    // another I/O thread, the commit thread), so that no reader is served the old one after a
    // reader of the store saw the new one.
    if (locked)
        newest_.drop(outcome.id);
    staged.durable = store_.start_commit(std::move(request));
    if (locked)
        newest_.queue(outcome.id, outcome.record, staged.durable);
    return staged;
}

net::awaitable<result<write_outcome>> record_service::finish(result<staged_write> staged,
                                                             judged_version judged_against,
                                                             bool* judged_on_stale_version)
{
    const auto kept_changing = []
    {
        return failure(errc::unavailable,
                       "this request kept changing while this write was judged: try again");
    };
    if (!staged)
    {
        // A refusal judged against a version not yet durable (a 412 naming it, a 410 for a queued
        // deletion, …) is answered once that version is: had it been answered at once, a client
        // could act on a version that a crash then takes away, and a read right after the answer
        // could still show the version before it.
        if (judged_against.queued)
        {
            const auto earlier = co_await judged_against.queued->wait();
            if (!earlier && !lost_to_another_writer(earlier.error()))
                co_return failure(errc::unavailable, "an earlier write to this request failed, so this one "
                                                     "was judged against a version that was never stored");
            // That version lost to another writer's commit, or, with other writers, may have been
            // replaced by one's as soon as it was durable: the refusal holds only if the store's
            // own version refuses the write too.
            if (!earlier || options_.shared_store)
                co_return judge_again(judged_on_stale_version, kept_changing());
        }
        // Likewise for a refusal judged against a hint: another writer may have replaced it.
        if (judged_against.hint)
            co_return judge_again(judged_on_stale_version, kept_changing());
        co_return staged.error();
    }
    if (!staged->durable)
    {
        // A write that changes nothing answers with the version it was judged against, which must
        // be the record's newest: a hint's word is not enough.
        if (judged_against.hint)
            co_return judge_again(judged_on_stale_version, kept_changing());
        co_return std::move(staged->outcome);
    }
    auto durable = co_await staged->durable->wait();
    if (staged->owns)
        newest_.settle(staged->outcome.id, staged->durable, durable.has_value());
    if (!durable)
    {
        if (durable.error().code != errc::precondition_failed)
            co_return durable.error();
        // The engine refused the compare-and-swap: the record is not at the version this write was
        // judged against. Judged against a queued version whose own commit failed for another
        // reason than a lost race: not the client's precondition, the server could not write.
        if (staged->pipelined && judged_against.queued)
            if (const auto earlier = co_await judged_against.queued->wait();
                !earlier && !lost_to_another_writer(earlier.error()))
                co_return failure(errc::unavailable, "an earlier write to request " + staged->outcome.id +
                                                         " failed, so this one was not written");
        // Otherwise the version held in memory was only a hint, and stale (another writer of the
        // store committed meanwhile; settle() dropped it), or the queued version it was judged
        // against lost to such a commit: the caller judges the write again against the store's own
        // version.
        co_return judge_again(
            judged_on_stale_version,
            failure(errc::unavailable, "request " + staged->outcome.id +
                                           " kept changing while this write was judged: try again"));
    }
    if (staged->owns && timer_added_)
        for (const auto& timer : staged->timers_added)
            timer_added_(timer.due);
    co_return std::move(staged->outcome);
}

net::awaitable<result<std::optional<stored_version>>>
record_service::load_for_write(const std::string& id, judged_version& basis, bool durable_only)
{
    basis = {};
    if (auto held = newest_.find(id))
    {
        // Under the record's lock nothing new is queued meanwhile: one wait settles the record.
        if (held->queued && durable_only)
            (void)co_await held->queued->wait();
        // A queued version whose commit has ended is not taken, even before its writer settles the
        // entry: once durable, it may already be replaced by another writer of the store. The store
        // has the record's newest version then.
        const bool usable =
            held->queued ? !held->queued->completed() : !(durable_only && options_.shared_store);
        if (usable)
        {
            basis.hint = !held->queued && options_.shared_store;
            basis.queued = std::move(held->queued);
            co_return std::optional<stored_version>(std::move(held->version));
        }
    }
    // Under the record's lock with nothing queued: the store has its newest version.
    auto loaded = co_await store_.load(id);
    if (loaded && *loaded)
        newest_.remember(id, **loaded);
    co_return loaded;
}

net::awaitable<result<write_outcome>> record_service::put(std::string id, write_input input)
{
    co_return co_await write(std::move(id), std::move(input), write_operation::put);
}

net::awaitable<result<write_outcome>> record_service::patch(std::string id, write_input input)
{
    const write_operation op =
        input.media == body_media::json_patch ? write_operation::json_patch : write_operation::merge_patch;
    co_return co_await write(std::move(id), std::move(input), op);
}

net::awaitable<result<write_outcome>> record_service::remove(std::string id, write_input input)
{
    co_return co_await write(std::move(id), std::move(input), write_operation::remove);
}

net::awaitable<result<write_outcome>> record_service::write(std::string id, write_input input,
                                                            write_operation op)
{
    // Judged under the record's lock against its newest version, which memory may hold: a hint the
    // engine's compare-and-swap checks. Should it prove stale, the write is judged again against
    // the store's own version, a bounded number of times. Judged again, it waits for a version this
    // node queued meanwhile instead of being judged against it: another node's commit may overtake
    // that one too, and a chain of such losses would use every judgement up; with other writers of
    // the store, it reads the store's version rather than a durable one memory holds. Against a
    // durable version, a second refusal means another writer committed, which the third judgement
    // sees.
    constexpr int max_judgements = 3;
    for (int judgement = 1;; ++judgement)
    {
        judged_version judged_against;
        auto staged =
            co_await locks_.run_exclusive(id, mutate_locked(id, input, op, judged_against, judgement > 1));
        bool stale = false;
        auto answer = co_await finish(std::move(staged), std::move(judged_against),
                                      judgement < max_judgements ? &stale : nullptr);
        if (!stale)
            co_return answer;
    }
}

result<record_service::staged_write> record_service::create_by_put(std::string id, const write_input& input)
{
    const auto outcome = evaluate_preconditions(input.conditions, {}, request_kind::write, false);
    if (outcome != precondition_outcome::proceed)
        return precondition_problem(outcome, nullptr);
    if (input.media != body_media::json)
        return failure(errc::unsupported_media_type, "PUT takes application/json");
    auto body = object_body(input, options_.max_json_depth);
    if (!body)
        return body.error();
    auto named = type_named_in(*body, types_);
    if (!named)
        return named.error();
    const request_type* type = *named;
    if (!id_fits(type->format, type->id_prefix, id))
        return failure(errc::invalid_id, "\"" + id + "\" is not a valid id for type " + type->name);
    return commit_create(std::move(id), *type, std::move(*body), input.actor, input.idempotency, true);
}

net::awaitable<result<record_service::staged_write>>
record_service::mutate_locked(std::string id, const write_input& input, write_operation op,
                              judged_version& judged_against, bool durable_only)
{
    // Step 2: the record exists (410 once deleted), or PUT with If-None-Match: * creates it.
    auto loaded = co_await load_for_write(id, judged_against, durable_only);
    const std::shared_ptr<pending_commit> queued = judged_against.queued; // the newest is not yet durable
    if (!loaded)
        co_return loaded.error();
    if (!*loaded)
    {
        const auto none_match = input.conditions.if_none_match
                                    ? parse_entity_tag_list(*input.conditions.if_none_match)
                                    : std::nullopt;
        if (op != write_operation::put || !none_match || !none_match->any)
            co_return not_found(id);
        co_return create_by_put(std::move(id), input);
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

    json::object candidate = *current_record;
    std::vector<attachment_blob> uploads;
    if (op != write_operation::remove)
    {
        // Step 4: the body, applied to the record.
        if (input.media == body_media::unsupported)
            co_return failure(errc::unsupported_media_type,
                              op == write_operation::put
                                  ? "PUT takes application/json"
                                  : "PATCH takes application/merge-patch+json, application/json "
                                    "or application/json-patch+json");
        auto body = decoded_body(input, options_.max_json_depth);
        if (!body)
            co_return body.error();
        auto applied =
            apply_write(op, *current_record, *body, {options_.max_json_depth, options_.max_record_bytes});
        if (!applied)
            co_return applied.error();
        candidate = std::move(*applied);

        // Step 5: validation.
        if (auto refused = validation_problem(*type, current.status, *current_record, candidate, uploads,
                                              input.every_problem_at_once))
            co_return std::move(*refused);

        // A write that changes nothing commits nothing. It answers with the newest version, so
        // it waits until that version is durable, as its writer does.
        if (candidate == *current_record)
            co_return staged_write{write_outcome{std::move(id), std::move(current), false, false}, queued};

        // Step 6: state rules.
        if (auto refused = change_problem(*type, current.status, *current_record, candidate))
            co_return std::move(*refused);
    }

    version_change change;
    change.id = std::move(id);
    change.type = type;
    change.current = &current;
    change.current_record = &*current_record;
    change.members = std::move(candidate);
    change.deleting = op == write_operation::remove;
    change.actor = input.actor;
    change.uploads = std::move(uploads);
    co_return commit_change(std::move(change), &input.idempotency, queued != nullptr, true);
}

net::awaitable<result<bool>> record_service::fire_expiry(timer_key timer)
{
    std::string id = timer.id;
    auto staged = co_await locks_.run_exclusive(std::move(id), fire_expiry_locked(std::move(timer)));
    if (!staged)
        co_return staged.error();
    if (!*staged)
        co_return false;
    auto committed = co_await finish(std::move(**staged), {});
    if (!committed)
        co_return committed.error();
    co_return true;
}

net::awaitable<result<std::optional<record_service::staged_write>>>
record_service::fire_expiry_locked(timer_key timer)
{
    using fired = std::optional<staged_write>;
    // Judged on durable state only: dropping a timer is not part of any batch, so it must not
    // follow a queued version that could still fail.
    judged_version newest_basis;
    if (auto newest = co_await load_for_write(timer.id, newest_basis); newest && newest_basis.queued)
        (void)co_await newest_basis.queued->wait(); // its outcome is what the store holds, read next
    auto loaded = co_await store_.load(timer.id);
    if (!loaded)
        co_return loaded.error();
    bool applies = *loaded && !(*loaded)->deleted;
    const request_type* type = applies ? types_.find((*loaded)->type) : nullptr;
    std::optional<json::object> record;
    if (applies)
    {
        auto parsed = parse_stored(**loaded);
        if (!parsed)
            co_return parsed.error();
        record = std::move(*parsed);
        // The record no longer expires at this time, or its type does not allow the move now.
        applies = type && type->expires && expiry_timer(*type, *record) == timer.due &&
                  type->may_move((*loaded)->status, type->expires->state) &&
                  !requirements_problem(*type, type->expires->state, *record);
    }
    if (!applies)
    {
        // The timer no longer applies: remove it without a version.
        if (auto removed = co_await store_.remove_timer(timer); !removed)
            co_return removed.error();
        co_return fired();
    }
    stored_version& current = **loaded;
    const std::string& target = type->expires->state;

    version_change change;
    change.id = timer.id;
    change.type = type;
    change.current = &current;
    change.current_record = &*record;
    change.members = *record;
    change.members["status"] = target;
    change.actor = "system";
    change.fired_timer = timer;
    auto staged = commit_change(std::move(change), nullptr, false, true);
    if (!staged)
        co_return staged.error();
    co_return fired(std::move(*staged));
}

} // namespace reqstore::core
