// The storage interface the core needs, in the core's own terms: the records, their versions and
// everything committed with a version (events, timers, idempotency answers, attachments). Each
// engine implements it in its own folder under store/ (store/rocks, store/memory); nothing outside
// store/ and the wiring in app/ knows which engine is behind it.
//
// Every call returns an awaitable. An embedded engine may complete it without suspending; a remote
// one completes it after one or more round trips, or a failover. A caller co_awaits each call at
// once, so arguments passed by reference or view need only live until the call completes.
//
// Failures every call may return, besides those it names:
// - errc::unavailable: the engine is closed. Nothing was done.
// - errc::store_unavailable: a remote engine cannot be reached now, or the connection to it was
//   lost during the call. A read did nothing; a write (a commit, an outbox change) may or may not
//   have been applied. The same call may succeed later.
// - errc::internal: the engine failed, or holds data it cannot read. The detail names the cause
//   for the log, never for a client.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/time.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reqstore::core
{

// One version of a record as stored: what every read needs without parsing the body.
struct stored_version
{
    std::uint64_t version = 0;
    // Chosen at random by the writer of each version. With `version` it names one exact commit, so
    // that a write judged against a version that some other write replaced (or that was never
    // stored) cannot pass the engine's compare-and-swap. Versions stored before tags existed read
    // as 0.
    std::uint64_t tag = 0;
    unix_millis updated_at = 0;
    bool deleted = false; // a tombstone: the record was deleted at this version
    std::string type;
    std::string status;
    std::string updated_by;
    std::vector<std::string> changed; // top-level members this version changed
    std::string body;                 // the record's JSON text, exactly as served
};

// An event of a committed version. The store gives it the next global sequence number when
// it commits, in the same atomic batch as the version.
struct event_draft
{
    std::string name; // request.created, request.updated, request.status_changed, request.deleted
    std::string id;
    std::string type;
    std::uint64_t version = 0;
    std::string status;
    std::optional<std::string> from_status; // set for request.status_changed
    unix_millis at = 0;
};

// A scheduled transition: record `id` is due to expire at `due`.
struct timer_key
{
    unix_millis due = 0;
    std::string id;

    friend bool operator==(const timer_key&, const timer_key&) = default;
};

// The stored answer to a write sent with an Idempotency-Key, replayed for repeats of it.
struct idempotency_entry
{
    std::string key;         // the caller's key id and the Idempotency-Key value
    std::string fingerprint; // of method, path and body: a repeat must match it
    unix_millis created_at = 0;
    std::string answer; // opaque to the store: the bytes the core was given to keep
};

// The bytes of one attachment file, kept beside the record under its SHA-256.
struct attachment_blob
{
    std::string sha256; // lower-case hex of the bytes' SHA-256
    std::string bytes;
};

// The version a write was judged against: the record's exact predecessor. The engine commits the
// write only if the record is still at exactly this version (number and tag).
struct predecessor
{
    std::uint64_t version = 0; // 0: the record must not exist (a creation)
    std::uint64_t tag = 0;
};

// One atomic change: record `id` moves from `expected` to `next` (whose version is
// expected.version + 1), with its events, the scheduled transitions it adds or removes, the
// idempotent answer it produced, and the attachment files it uploads.
struct commit_request
{
    std::string id;
    predecessor expected;
    stored_version next;
    std::vector<event_draft> events;
    std::vector<timer_key> timers_added;
    std::vector<timer_key> timers_removed;
    std::optional<idempotency_entry> idempotency;
    // With `idempotency`: an answer the store holds for the same key, created at or after this
    // time, refuses the commit (another node committed a duplicate of this request first).
    unix_millis idempotency_answered_since = 0;
    std::vector<attachment_blob> attachments; // files uploaded by this change
};

// The refusal of `request` (errc::idempotency_in_flight) when it keeps an answer for a key that
// already has one created at or after request.idempotency_answered_since (`stored_created_at`: the
// stored answer's creation time, if the key has one); nullopt when the commit may be applied. No
// check when request.idempotency_answered_since is 0. Engines that check in process call this; one
// that checks in SQL implements the same rule there.
[[nodiscard]] std::optional<failure> idempotency_refusal(const commit_request& request,
                                                         std::optional<unix_millis> stored_created_at);

struct commit_receipt
{
    std::uint64_t first_sequence = 0; // of the first event; the others follow without gaps
};

struct list_filter
{
    std::optional<std::string> type;
    std::optional<std::string> status;
    std::optional<unix_millis> updated_since;
};

struct list_page
{
    std::vector<stored_version> records;
    std::optional<std::string> last_examined_id; // set when more records may follow
};

// Told by an engine about what it commits, from whichever thread commits. Every member may be
// empty; each must be cheap and thread-safe.
struct commit_observer
{
    // A batch of `batch_size` commits was written in `write_time` (with its fsync, if any).
    std::function<void(std::size_t batch_size, std::chrono::nanoseconds write_time)> on_batch_written;
    // The newest sequence number after a batch that committed events.
    std::function<void(std::uint64_t last_sequence)> on_sequence;
};

class pending_commit;

class record_store
{
public:
    template <class T>
    using awaitable_result = boost::asio::awaitable<result<T>>;

    virtual ~record_store() = default;

    // The current version of `id`, tombstones included; nullopt when it never existed.
    [[nodiscard]] virtual awaitable_result<std::optional<stored_version>> load(std::string_view id) = 0;

    // Version `version` of `id` (tombstones included), or nullopt when there is no such version.
    [[nodiscard]] virtual awaitable_result<std::optional<stored_version>>
    load_version(std::string_view id, std::uint64_t version) = 0;

    // The versions `wanted` names (id, version), in its order, each nullopt when there is no such
    // version: load_version for many at once. The default calls load_version for each; a remote
    // engine reads them in one round trip (the webhook fan-out loads one per event it fans out).
    [[nodiscard]] virtual awaitable_result<std::vector<std::optional<stored_version>>>
    load_versions(std::vector<std::pair<std::string, std::uint64_t>> wanted);

    // Up to `limit` versions of `id` below `below_version`, newest first, bodies left empty. Empty
    // when there are none (or `limit` is 0).
    [[nodiscard]] virtual awaitable_result<std::vector<stored_version>>
    history(std::string_view id, std::uint64_t below_version, std::size_t limit) = 0;

    // Current, not deleted records with ids after `after_id` (empty: from the first), in id order,
    // that pass the filter: at most `limit` of them, examining at most `max_examined` records. The
    // page may stop earlier when its bodies grow large; `last_examined_id` is set whenever records
    // may follow, and the next page starts after it.
    [[nodiscard]] virtual awaitable_result<list_page> list(const list_filter& filter,
                                                           std::string_view after_id, std::size_t limit,
                                                           std::size_t max_examined) = 0;

    // Queues the commit and returns at once; the pending_commit completes once its outcome is
    // known. Commits are applied in the order they are started, each atomically: the version, its
    // history entry, its events (numbered after every event committed before, with no gaps), its
    // timers, its idempotency answer and its attachments, all or nothing. The outcome:
    // - a receipt: committed, and durable as the engine is configured to make it;
    // - errc::precondition_failed: the record is not at exactly `expected` (or `next.version` is
    //   not expected.version + 1). Nothing was written;
    // - errc::idempotency_in_flight: the store holds an answer for request.idempotency's key created
    //   at or after request.idempotency_answered_since (a duplicate of this request committed
    //   first, on another node). Nothing was written;
    // - errc::unavailable or errc::writes_stopped: the engine refused to write now. Nothing was
    //   written;
    // - errc::internal: the write failed and its outcome is unknown: the batch may still appear
    //   after a restart, whole or not at all. Never answered as a success.
    // - errc::store_unavailable: the engine could not be reached (nothing was written), or was lost
    //   while it committed: the outcome is unknown, as with errc::internal.
    // So a record's next version may be started before this one completes: if this one fails, that
    // one fails its compare-and-swap. Thread-safe.
    [[nodiscard]] virtual std::shared_ptr<pending_commit> start_commit(commit_request request) = 0;

    // Up to `limit` scheduled transitions due at or before `up_to`, earliest first.
    [[nodiscard]] virtual awaitable_result<std::vector<timer_key>> timers_due(unix_millis up_to,
                                                                              std::size_t limit) = 0;

    // The earliest scheduled transition, if any.
    [[nodiscard]] virtual awaitable_result<std::optional<timer_key>> earliest_timer() = 0;

    // Removes a scheduled transition that no longer applies (its record changed or is gone).
    // Removing one that is not there succeeds.
    [[nodiscard]] virtual awaitable_result<void> remove_timer(const timer_key& timer) = 0;

    // The stored answer for an idempotency key (expired or not: the caller judges its age), or
    // nullopt.
    [[nodiscard]] virtual awaitable_result<std::optional<idempotency_entry>>
    load_idempotency(std::string_view key) = 0;

    // Removes the stored answers created before `cutoff`; returns how many.
    [[nodiscard]] virtual awaitable_result<std::size_t> remove_idempotency_before(unix_millis cutoff) = 0;

    // The bytes of an attachment file committed for record `id`, or nullopt.
    [[nodiscard]] virtual awaitable_result<std::optional<std::string>>
    load_attachment(std::string_view id, std::string_view sha256) = 0;
};

} // namespace reqstore::core
