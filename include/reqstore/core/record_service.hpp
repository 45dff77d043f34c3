// The core's operations on records: create, read, update (partial PUT, merge patch, JSON Patch),
// delete, history and listing. It judges every write in the order of the contract (section 5)
// and hands the result to the store as one atomic commit. It knows nothing of HTTP or RocksDB.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/kept_answer.hpp>
#include <reqstore/core/newest_versions.hpp>
#include <reqstore/core/pending_commit.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/core/record_locks.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/core/request_type.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace reqstore::core
{

// How the body of a write is to be read, decided by the transport from its media type.
enum class body_media
{
    json,        // a JSON object (POST, PUT)
    merge_patch, // RFC 7396
    json_patch,  // RFC 6902
    unsupported, // a media type this write does not take: 415, after the preconditions
    none,        // no body expected (DELETE)
};

struct version_change;            // record_rules.hpp, private to the core
enum class write_operation : int; // likewise

// Asks the core to keep the answer to this write with the write itself (Idempotency-Key): the
// outcome, and the transport's note of how it answers, as a kept_answer (kept_answer.hpp).
struct idempotency_hook
{
    std::string key;         // caller's key id + the Idempotency-Key value
    std::string fingerprint; // of method, path and body
    std::string answer_form; // kept_answer::answer_form
    // An answer to the same key stored at or after this time makes the write's commit fail with
    // errc::idempotency_in_flight: a duplicate sent to another node committed first.
    unix_millis answered_since = 0;
};

struct write_input
{
    conditional_headers conditions;
    // The body, decoded once by the surface: the raw bytes, which the core parses only once the
    // preconditions hold (so that a 412 costs no parse); a JSON value the surface built; or the
    // surface's refusal of the body, answered in the body's place in the order of section 5 (after
    // existence and preconditions). Never serialized by one side to be parsed by the other.
    std::variant<std::string, boost::json::value, failure> body;
    body_media media = body_media::none;
    std::string actor; // the key id that writes, recorded as created_by / updated_by
    std::optional<idempotency_hook> idempotency;
    // Whether this caller may reach the record at all, asked on the record's strand once it is
    // loaded (deleted or not), before anything else is judged; a failure returned is the answer.
    // A seed surface uses it to keep records of other types, accounts or subjects out of reach.
    std::function<std::optional<failure>(const boost::json::object& record)> admit;
    // When validation fails, also report in its `errors` what the state rules would refuse (a move
    // not allowed, a member that may not change now, the requirements of the state entered), for a
    // surface whose clients expect every problem of an update at once. The answer stays one
    // validation_failed; the order of section 5 is otherwise unchanged.
    bool every_problem_at_once = false;
};

struct read_outcome
{
    stored_version record;
    bool not_modified = false; // the client's If-None-Match / If-Modified-Since held: 304
};

struct service_options
{
    bool require_if_match = false; // global default; a type may override it
    unsigned max_json_depth = 64;
    std::size_t max_record_bytes = 2u << 20; // the serialized record a write may produce
    // The newest versions of recently written records kept in memory (newest_versions.hpp), so
    // that a write or a read need not look them up in the store.
    std::size_t newest_versions_bytes = 16u << 20;
    // Whether other writers (other nodes) commit to the same store: a version this service queued
    // may then be replaced by another's commit as soon as it is durable.
    bool shared_store = false;
    // Whether one thread runs every coroutine that calls the service (a server with one I/O
    // thread): the per-record locks then need no strands (record_locks.hpp).
    bool one_io_thread = false;
};

// The failure a write answers for a precondition outcome other than proceed and not_modified:
// 412 (with `current_etag` when `current` is given), 428, or 400 for a malformed If-Match or
// If-None-Match.
failure precondition_problem(precondition_outcome outcome, const stored_version* current);

class record_service
{
public:
    // `store` and `types` must outlive the service. The executor runs the per-record strands.
    record_service(boost::asio::any_io_executor executor, record_store& store, const type_registry& types,
                   service_options options);

    const service_options& options() const noexcept { return options_; }
    const type_registry& types() const noexcept { return types_; }

    // Whether a write to a record of this type needs If-Match (the type's setting, else the global).
    bool require_if_match_for(std::string_view type_name) const;

    // Whether a path id fits some declared type's id format (else the answer is 400 invalid-id).
    bool id_is_valid(std::string_view id) const { return types_.any_type_fits(id); }

    // POST: creates a record from a JSON object naming its `type`.
    [[nodiscard]] boost::asio::awaitable<result<write_outcome>> create(write_input input);

    // PUT: partial update; with `If-None-Match: *` creates the record under `id` if absent.
    [[nodiscard]] boost::asio::awaitable<result<write_outcome>> put(std::string id, write_input input);

    // PATCH: merge patch or JSON Patch, by input.media.
    [[nodiscard]] boost::asio::awaitable<result<write_outcome>> patch(std::string id, write_input input);

    // DELETE: writes a tombstone version.
    [[nodiscard]] boost::asio::awaitable<result<write_outcome>> remove(std::string id, write_input input);

    // The reads below are awaited at once by the caller: arguments passed by reference or view
    // need only live until they complete. Each may also fail as the store does (record_store.hpp).

    // GET/HEAD of the current version, with read preconditions evaluated: errc::not_found,
    // errc::gone for a deleted record, or a precondition failure (precondition_problem).
    [[nodiscard]] boost::asio::awaitable<result<read_outcome>> read(std::string_view id,
                                                                    const conditional_headers& conditions);

    // Version `version` of a record (deleted records included); errc::not_found when either is
    // missing.
    [[nodiscard]] boost::asio::awaitable<result<stored_version>> read_version(std::string_view id,
                                                                              std::uint64_t version);

    // History newest first, starting below `below_version` (0: from the newest); errc::not_found
    // when the record never existed.
    [[nodiscard]] boost::asio::awaitable<result<std::vector<stored_version>>>
    history(std::string_view id, std::uint64_t below_version, std::size_t limit);

    [[nodiscard]] boost::asio::awaitable<result<list_page>>
    list(const list_filter& filter, std::string_view after_id, std::size_t limit);

    // The stored answer of an earlier write with this idempotency key, if any (expired or not:
    // the caller judges the age).
    [[nodiscard]] boost::asio::awaitable<result<std::optional<idempotency_entry>>>
    find_idempotent(std::string_view key);

    // Forgets stored answers created before `cutoff`; returns how many.
    [[nodiscard]] boost::asio::awaitable<result<std::size_t>> forget_idempotent_before(unix_millis cutoff);

    // Fires a scheduled transition that has fallen due: on the record's strand, if the record
    // still expires at `timer.due` and its type allows the move, commits the move to the expiry
    // state as `system` (with its event) and drops the timer in the same batch; otherwise just
    // drops the timer. Returns whether a version was committed.
    [[nodiscard]] boost::asio::awaitable<result<bool>> fire_expiry(timer_key timer);

    // Called (from the committing coroutine) with the due time of every timer a commit adds.
    // Set once, before serving.
    void on_timer_added(std::function<void(unix_millis due)> callback) { timer_added_ = std::move(callback); }

private:
    // A write judged and handed to the store under the record's lock, whose durability is awaited
    // after the lock is released (finish), so that the record's next writer need not wait for this
    // one's fsync.
    struct staged_write
    {
        write_outcome outcome;
        std::shared_ptr<pending_commit> durable; // null: nothing to wait for
        bool owns = false;      // this write's own commit (else: the queued one a no-op reported)
        bool pipelined = false; // judged against a version not yet durable
        std::vector<timer_key> timers_added;
    };

    // What a write was judged against, when not a version just read from the store.
    struct judged_version
    {
        std::shared_ptr<pending_commit> queued; // a version this node queued, not yet durable
        bool hint = false; // (shared_store) a durable version held in memory, perhaps replaced since
    };

    // PUT, PATCH and DELETE: judges the write under the record's lock, then answers once it is
    // durable; judges it again when the version it was judged against proves stale.
    [[nodiscard]] boost::asio::awaitable<result<write_outcome>> write(std::string id, write_input input,
                                                                      write_operation op);
    // `judged_against` says what the write was judged against, if not the store's version read
    // then. `input` must outlive the call (it is awaited at once). `durable_only`: see
    // load_for_write.
    [[nodiscard]] boost::asio::awaitable<result<staged_write>>
    mutate_locked(std::string id, const write_input& input, write_operation op,
                  judged_version& judged_against, bool durable_only = false);
    // Waits for a staged write's durability and answers for it; a refusal judged against a queued
    // version waits for that version's durability first. Sets *judged_on_stale_version (if given)
    // so that the caller judges the write again when the version it was judged against proves a
    // stale hint: the engine refused the commit, or the queued version lost to another writer's
    // commit, or (shared_store) an answer other than a commit (a refusal, a write that changes
    // nothing) was judged against a version another writer may have replaced. Without it, that is
    // answered errc::unavailable.
    [[nodiscard]] boost::asio::awaitable<result<write_outcome>>
    finish(result<staged_write> staged, judged_version judged_against,
           bool* judged_on_stale_version = nullptr);
    // The record's newest version for a writer holding its lock: a queued one whose commit has not
    // ended, if any, else a durable one held in memory, else the store's; `basis` says which.
    // `durable_only`: a queued version's commit is waited for, and (shared_store) the store's
    // version is read rather than a hint.
    [[nodiscard]] boost::asio::awaitable<result<std::optional<stored_version>>>
    load_for_write(const std::string& id, judged_version& basis, bool durable_only = false);
    // PUT with If-None-Match: * of a record that does not exist: creates it under `id`.
    [[nodiscard]] result<staged_write> create_by_put(std::string id, const write_input& input);
    // Judge a creation / build a version and start its commit. `locked`: under the record's lock,
    // so the queued version is shown to the record's next writer.
    [[nodiscard]] result<staged_write> commit_create(std::string id, const request_type& type,
                                                     boost::json::object body, std::string actor,
                                                     const std::optional<idempotency_hook>& idempotency,
                                                     bool locked);
    // Builds the change's commit (record_rules.hpp), adds the idempotency answer, and starts it.
    // `pipelined`: judged against a version not yet durable.
    [[nodiscard]] result<staged_write> commit_change(version_change change,
                                                     const std::optional<idempotency_hook>* idempotency,
                                                     bool pipelined, bool locked);
    // nullopt: the timer no longer applies and was dropped.
    [[nodiscard]] boost::asio::awaitable<result<std::optional<staged_write>>>
    fire_expiry_locked(timer_key timer);

    record_store& store_;
    const type_registry& types_;
    const service_options options_;
    record_locks locks_;
    std::function<void(unix_millis)> timer_added_; // set before serving, then constant

    // The newest version of each record being written (queued, not yet durable) and of those
    // written lately (durable). Queued by the record's lock holder, settled by the write that
    // queued it once it is durable (if no newer one replaced it).
    newest_versions newest_;
};

} // namespace reqstore::core
