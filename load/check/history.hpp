// A recorded operation history (JSON Lines, written by a crash or load driver) as reqstore-check
// reads it, and the violations its checkers report.
//
// The model: each key is one record, a register whose state is (version, write id); absent is
// (0, ""). create(W) succeeds iff the version is 0 and makes (1, W); cas(E, W) (a PUT with
// If-Match: "E") succeeds iff the version is E and makes (E+1, W); read() returns the state. Every
// write carries a unique write id, so a version can be traced to the one write that made it.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace reqstore::check
{

// Interns strings (keys, write ids) as dense 32-bit ids, so that the checkers compare and index
// integers instead of strings: a history of millions of operations stays small. The text lives in
// chunks that never move, so the views handed out stay valid for the table's lifetime, moves
// included.
class string_table
{
public:
    static constexpr std::uint32_t none = UINT32_MAX;

    // The id of `text`, added when new. Ids are 0, 1, 2, ... in order of first appearance.
    std::uint32_t intern(std::string_view text);
    // The id of `text`, or `none` when it was never interned.
    std::uint32_t find(std::string_view text) const;
    std::string_view text(std::uint32_t id) const { return views_[id]; }
    std::size_t size() const { return views_.size(); }

private:
    std::size_t slot_of(std::string_view text) const;
    std::string_view copy_in(std::string_view text);
    void rehash(std::size_t slot_count);

    std::vector<std::string_view> views_;         // by id
    std::vector<std::uint32_t> slots_;            // open addressing, linear probing: id or none
    std::vector<std::unique_ptr<char[]>> chunks_; // the interned text
    char* chunk_next_ = nullptr;                  // the free bytes at the end of chunks_.back()
    std::size_t chunk_left_ = 0;
};

enum class op_function : std::uint8_t
{
    create, // create(W): a write whose precondition is "version 0"
    cas,    // cas(E, W): a PUT with If-Match: "E"
    read
};

enum class op_outcome : std::uint8_t
{
    ok,     // definite success
    fail,   // definitely did not take effect (412, 409, another 4xx)
    unknown // may or may not have taken effect (connection error, timeout, 5xx, in flight at a crash)
};

std::string_view name_of(op_function f);
std::string_view name_of(op_outcome o);

// One "op" line. Times are nanoseconds on the driver's monotonic clock.
struct operation
{
    std::uint32_t line = 0;                           // 1-based line in the history
    std::uint32_t key = 0;                            // id in history::keys
    std::uint32_t write_id = string_table::none;      // create, cas: id in history::write_ids
    std::uint32_t read_write_id = string_table::none; // read ok of a version > 0: the write id read
    std::int64_t process = 0;
    std::int64_t invoke = 0;
    std::int64_t complete = 0; // only when has_complete
    // The version the write requires: If-Match for cas, 0 for create.
    std::uint64_t expected = 0;
    // ok: the version the write made, or the version read (0: the record does not exist).
    std::uint64_t version = 0;
    // A failed write: the version the 412's ETag named (of If-Match, or of If-None-Match: * for a
    // create), when has_observed.
    std::uint64_t observed = 0;
    op_function f = op_function::read;
    op_outcome outcome = op_outcome::ok;
    bool has_complete = false;
    bool has_observed = false;
    // A failed write says something about the state only when the precondition is why it failed
    // (a 412, or a create's 409). The optional "status" field can name another 4xx (a 400, a 429),
    // which carries no information; without "status" a failure is taken as the precondition's.
    bool precondition_failed = true;

    bool is_write() const { return f != op_function::read; }
};

struct crash_event
{
    std::uint32_t line = 0;
    std::int64_t at = 0;
    bool power_loss = false;
};

struct final_version
{
    std::uint64_t version = 0;
    std::uint32_t write_id = string_table::none; // id in history::write_ids
};

// A key's "final" line: its complete version list as the server returned it after the run, the
// ground truth of what is durable. Versions are in ascending order (equal neighbours allowed: the
// checkers report them as duplicates).
struct final_list
{
    bool present = false;
    std::uint32_t line = 0;
    std::vector<final_version> versions;
};

struct history
{
    string_table keys;
    string_table write_ids;           // every write id the history names: writes', reads' and finals'
    std::vector<operation> ops;       // in file order
    std::vector<crash_event> crashes; // ascending by `at`
    std::vector<std::int64_t> restarts;
    std::vector<final_list> finals; // by key id; every key with an op has one
    std::size_t lines = 0;          // lines read, blank ones included
    std::size_t ignored_lines = 0;  // lines of a "type" this reader does not know (forward compatible)

    std::string_view key_name(std::uint32_t key) const { return keys.text(key); }
};

// A malformed history: which line, and what is wrong with it.
struct history_error
{
    std::size_t line = 0; // 0 when the problem is the history as a whole
    std::string message;
};

// Reads a history. Unknown fields and lines of an unknown "type" are ignored; a malformed line, a
// key with operations but no "final" line, two "final" lines for one key and one write id on two
// writes are errors. Returns the history, or the first error found.
std::variant<history, history_error> read_history(std::istream& in);
std::variant<history, history_error> read_history(std::string_view text);

// "crash bound": the time of the first crash at or after `invoke`, or INT64_MAX when none. An
// operation invoked before a crash that had not completed took effect before that crash or never.
std::int64_t first_crash_at_or_after(const history& h, std::int64_t invoke);

// The operations of each key, in file order (a counting sort by key id), for the checkers that walk
// the history key by key.
class operations_by_key
{
public:
    explicit operations_by_key(const history& h);
    // The indexes into h.ops of `key`'s operations, in file order.
    std::span<const std::uint32_t> of(std::uint32_t key) const
    {
        return {by_key_.data() + first_[key], first_[key + 1] - first_[key]};
    }

private:
    std::vector<std::uint32_t> first_; // where each key's operations start in by_key_
    std::vector<std::uint32_t> by_key_;
};

enum class violation_kind : std::uint8_t
{
    lost_write,      // an acknowledged write (or a version a client saw) missing from the final list
    lost_update,     // a write applied although its precondition could not hold: it overwrote a version
    stale_read,      // a read older than a write acknowledged before the read began
    regression,      // a read older than a version another client saw before the read began
    gap,             // a version number skipped
    duplicate,       // one write applied twice, or two writes acknowledged with one version
    phantom,         // a version from no write, or from a write reported as failed
    torn_read,       // a read whose write id is not the write of the version it names
    future_read,     // a read of a version whose write was invoked after the read completed
    not_linearizable // no linearization exists (the WGL search's verdict)
};

std::string_view name_of(violation_kind kind);

struct violation
{
    violation_kind kind = violation_kind::not_linearizable;
    std::string key;
    std::vector<std::uint32_t> lines; // the operations (and final lines) involved
    std::string message;
};

// Orders violations by their first line, for a report that reads top to bottom.
void sort_by_line(std::vector<violation>& violations);

// A short description of an operation for messages: "cas 4->5 ok (w-1-2)".
std::string describe(const history& h, const operation& op);

} // namespace reqstore::check
