// The storage interface the core needs, in the core's own terms. `store/` implements it on
// RocksDB; nothing outside `store/` knows which engine is behind it.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/time.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

// One version of a record as stored: what every read needs without parsing the body.
struct stored_version
{
    std::uint64_t version = 0;
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
    std::string answer; // opaque to the core: the transport's encoding of the answer
};

// The bytes of one attachment file, kept beside the record under its SHA-256.
struct attachment_blob
{
    std::string sha256; // lower-case hex of the bytes' SHA-256
    std::string bytes;
};

// One atomic change: record `id` moves from `expected_version` (0: it must not exist) to
// `next`, whose version is expected_version + 1, with its events, the scheduled transitions it
// adds or removes, the idempotent answer it produced, and the attachment files it uploads.
struct commit_request
{
    std::string id;
    std::uint64_t expected_version = 0;
    stored_version next;
    std::vector<event_draft> events;
    std::vector<timer_key> timers_added;
    std::vector<timer_key> timers_removed;
    std::optional<idempotency_entry> idempotency;
    std::vector<attachment_blob> attachments; // files uploaded by this change
};

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

class pending_commit;

class record_store
{
public:
    virtual ~record_store() = default;

    // The current version of `id`, tombstones included; nullopt when it never existed.
    // Synchronous: a point read. Failures are errc::internal with a detail for the log only.
    virtual result<std::optional<stored_version>> load(std::string_view id) = 0;

    // Version `version` of `id`, or nullopt.
    virtual result<std::optional<stored_version>> load_version(std::string_view id,
                                                               std::uint64_t version) = 0;

    // Up to `limit` versions of `id` below `below_version`, newest first, bodies left empty.
    virtual result<std::vector<stored_version>> history(std::string_view id, std::uint64_t below_version,
                                                        std::size_t limit) = 0;

    // Current, not deleted records with ids after `after_id`, in id order, that pass the
    // filter: at most `limit` of them, examining at most `max_examined` records.
    virtual result<list_page> list(const list_filter& filter, std::string_view after_id, std::size_t limit,
                                   std::size_t max_examined) = 0;

    // Commits the request durably (per the configured durability) and atomically: the current
    // version, the history entry and the events. Completes after the write (and fsync) is done.
    // Fails with errc::precondition_failed if the current version is not expected_version (nothing
    // is written then), errc::unavailable if the store is closed or cannot write now (nothing is
    // written), and errc::internal if the engine's write failed: then the outcome is unknown (the
    // batch may still appear after a restart, whole or not at all, since it is atomic).
    // May be called from any thread; the caller resumes on its own executor.
    virtual boost::asio::awaitable<result<commit_receipt>> commit(commit_request request) = 0;

    // Queues the commit and returns at once; the pending_commit completes with the outcome commit()
    // would have. Commits are written in the order they are started, so a record's next version
    // may be started before this one is durable: if this one fails, that one fails its
    // compare-and-swap. Thread-safe.
    virtual std::shared_ptr<pending_commit> start_commit(commit_request request) = 0;

    // Up to `limit` scheduled transitions due at or before `up_to`, earliest first.
    virtual result<std::vector<timer_key>> timers_due(unix_millis up_to, std::size_t limit) = 0;

    // The earliest scheduled transition, if any.
    virtual result<std::optional<timer_key>> earliest_timer() = 0;

    // Removes a scheduled transition that no longer applies (its record changed or is gone).
    virtual result<void> remove_timer(const timer_key& timer) = 0;

    // The stored answer for an idempotency key, or nullopt.
    virtual result<std::optional<idempotency_entry>> load_idempotency(std::string_view key) = 0;

    // Removes the stored answers created before `cutoff`; returns how many.
    virtual result<std::size_t> remove_idempotency_before(unix_millis cutoff) = 0;

    // The bytes of an attachment file committed for record `id`, or nullopt.
    virtual result<std::optional<std::string>> load_attachment(std::string_view id,
                                                               std::string_view sha256) = 0;
};

} // namespace reqstore::core
