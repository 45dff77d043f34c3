// What reqstore-sink has received: every delivery, counted per target path, with duplicates,
// out-of-order versions and gaps found per record and path, and the attempts that overlapped on one
// lane (one record at one path). Thread-safe.
#pragma once

#include <reqstore/core/time.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace reqstore::sink
{

// The counters of one target path, or of all of them together.
struct counters
{
    std::uint64_t received = 0;          // every POST that reached the sink
    std::uint64_t accepted = 0;          // verified, recorded and answered with a 2xx
    std::uint64_t bad_signature = 0;     // answered 401: missing or malformed headers, stale
                                         // timestamp, or no signature matching a secret
    std::uint64_t stale_timestamps = 0;  // of bad_signature: a valid signature outside --max-age
    std::uint64_t bad_body = 0;          // verified, but not a JSON object with a "type": 400
    std::uint64_t duplicates = 0;        // accepted with a webhook-id already accepted at this path
    std::uint64_t out_of_order = 0;      // a version lower than one already accepted for its record here
    std::uint64_t repeated_versions = 0; // the highest version again under another webhook-id
    std::uint64_t gaps = 0;              // a version more than one above the highest so far (from 0)
    std::uint64_t missing_versions = 0;  // how many versions those gaps skipped
    std::uint64_t failed_on_purpose = 0; // answered non-2xx by --fail-rate or --status, not recorded
    std::uint64_t hung_on_purpose = 0;   // recorded, then answered after the --hang-rate delay
    // Verified attempts that arrived while another attempt of their lane (the same record at the
    // same path) was still in flight, whatever they were answered: the server must attempt a lane
    // one delivery at a time.
    std::uint64_t overlapping_attempts = 0;
};

// One delivery as the sink recorded it.
struct delivery
{
    std::string webhook_id;
    std::string type;                  // the body's "type"
    std::optional<std::string> record; // data.id, when the event is about a record
    std::optional<std::int64_t> version;
    std::string path;
    core::unix_millis at = 0;
    bool duplicate = false;
};

// An attempt that arrived while another of its lane was in flight.
struct overlap
{
    std::string path;
    std::string record;
    std::string webhook_id_in_flight; // the oldest attempt of the lane still in flight
    std::string webhook_id_arriving;
    core::unix_millis at = 0;
};

class ledger;

// One delivery attempt in flight on its lane, from ledger::begin_attempt() until this object goes:
// its destructor ends the attempt, so that every way out of a handler (answered, failed on purpose,
// held, or its coroutine destroyed unfinished at shutdown) ends it exactly once. Movable, not
// copyable; an empty one (default-constructed or moved from) ends nothing. The ledger must outlive it.
class lane_attempt
{
public:
    lane_attempt() = default;
    lane_attempt(lane_attempt&& other) noexcept;
    lane_attempt& operator=(lane_attempt&& other) noexcept;
    lane_attempt(const lane_attempt&) = delete;
    lane_attempt& operator=(const lane_attempt&) = delete;
    ~lane_attempt();

private:
    friend class ledger;
    lane_attempt(ledger& book, std::string lane, std::string webhook_id) noexcept;
    void end() noexcept;

    ledger* book_ = nullptr; // nullptr: empty
    std::string lane_;
    std::string webhook_id_;
};

// What record() found about one accepted delivery.
struct verdict
{
    bool duplicate = false;
    bool out_of_order = false;
    bool gap = false;
};

class ledger
{
public:
    // Counts one POST to `path` that reached the sink, before anything is checked.
    void count_received(const std::string& path);
    // Counts a delivery answered 401; `stale` when only its timestamp was wrong.
    void count_bad_signature(const std::string& path, bool stale);
    // Counts a verified delivery whose body is not an event: answered 400, not recorded.
    void count_bad_body(const std::string& path);
    // Counts a verified delivery answered non-2xx on purpose: not recorded, so its retry is no
    // duplicate.
    void count_failed_on_purpose(const std::string& path);
    // Counts a recorded delivery whose answer is delayed on purpose.
    void count_hung_on_purpose(const std::string& path);

    // Records an accepted delivery (`at` is set here) and classifies it. A duplicate (same
    // webhook-id at the same path) is counted only as such; otherwise, when it names a record and a
    // version, the version is compared with the highest accepted so far for that record at that
    // path: lower is out of order, equal is a repeated version, more than one above is a gap (a
    // record's first delivery is compared with 0, so one that starts above version 1 is a gap too:
    // subscriptions that do not receive every event show gaps by design).
    verdict record(delivery d);

    // Starts an attempt of `webhook_id` on the lane of `record` at `path`; it ends when the result
    // goes. When another attempt of that lane is still in flight, counts an overlapping attempt
    // (in the totals and at `path`) and keeps it as an example while fewer than overlaps_kept are.
    [[nodiscard]] lane_attempt begin_attempt(const std::string& path, const std::string& record,
                                             std::string webhook_id);

    // The summary: every counter, "by_path" with each path's counters, "records" (distinct record
    // ids), "last" (the last 20 deliveries, oldest first) and "overlaps" (the first 20 overlapping
    // attempts: path, record, webhook_id_in_flight, webhook_id_arriving, at).
    boost::json::object summary() const;

    // The deliveries recorded for one record, in arrival order (at most the first
    // max_deliveries_per_record; "truncated" says whether more arrived).
    boost::json::object deliveries_of(std::string_view record) const;

    static constexpr std::size_t max_deliveries_per_record = 10'000;
    static constexpr std::size_t last_kept = 20;
    static constexpr std::size_t overlaps_kept = 20;
    static constexpr std::size_t max_paths = 1'000; // more distinct paths are counted as other_paths
    static constexpr std::string_view other_paths = "(other paths)";

private:
    friend class lane_attempt;

    struct stream_state // one record at one path
    {
        std::int64_t highest = 0;
    };
    struct record_state
    {
        std::vector<delivery> deliveries; // at most max_deliveries_per_record
        std::uint64_t dropped = 0;
        std::unordered_map<std::string, stream_state> by_path;
    };

    counters& path_counters(const std::string& path); // requires mutex_ held
    void end_attempt(const std::string& lane, const std::string& webhook_id) noexcept;

    mutable std::mutex mutex_; // guards everything below
    counters total_;
    std::map<std::string, counters> by_path_;
    std::unordered_set<std::string> accepted_ids_; // path + "\n" + webhook-id
    std::unordered_map<std::string, record_state> records_;
    std::deque<delivery> last_;
    // Lane (path + "\n" + record: paths hold no newline) -> the webhook-ids of its attempts in
    // flight, oldest first. A lane goes when its last attempt ends, so this holds only what is in
    // flight.
    std::unordered_map<std::string, std::vector<std::string>> in_flight_;
    std::vector<overlap> overlaps_; // the first overlaps_kept
};

} // namespace reqstore::sink
