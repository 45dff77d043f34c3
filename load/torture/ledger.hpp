// What reqstore-torture knows about every key while it runs, shared by the load (which records)
// and the audit (which checks after each restart). Used from one thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "history.hpp"

namespace reqstore::torture
{

// One broken promise, as the audit found it.
struct violation
{
    std::string
        kind; // lost-write, lost-update, regression, gap, torn, phantom, duplicate, stale-read, event, …
    std::string key;
    std::string detail;
};

struct key_state
{
    std::uint64_t max_seen = 0;        // the highest version any client saw: acknowledged, read, or in a 412
    std::vector<std::string> versions; // audited: versions[v-1] is the write id of version v
    std::vector<std::size_t> unaudited_ops; // ok writes and reads since the last audit (history indexes)
    std::uint64_t events = 0;               // versions whose one event the audit has seen
    // Merge-patch mode (workload_options): the writers' marks of the last audited version, unless
    // that version could not be read whole.
    std::map<std::string, std::string> marks;
    bool marks_known = true;
};

class ledger
{
public:
    explicit ledger(history& h) : history_(h) {}

    history& ops() noexcept { return history_; }
    const history& ops() const noexcept { return history_; }
    // Registers a key (created or hot) so that every audit reads it.
    key_state& key(const std::string& name) { return keys_[name]; }
    std::map<std::string, key_state>& keys() noexcept { return keys_; }
    const std::map<std::string, key_state>& keys() const noexcept { return keys_; }

    // Records an operation; ok writes and reads are remembered for the next audit.
    void record(op_record op);

    // The history index of the write that carries `write_id`, or nullptr.
    const op_record* write_of(const std::string& write_id) const;

    void report(violation v);
    const std::vector<violation>& violations() const noexcept { return violations_; }
    std::size_t violation_count() const noexcept { return violation_count_; }
    const std::map<std::string, std::size_t>& violations_by_kind() const noexcept { return by_kind_; }

private:
    history& history_;
    std::map<std::string, key_state> keys_;
    std::unordered_map<std::string, std::size_t> writes_; // write id → history index
    std::vector<violation> violations_;                   // the first max_kept
    std::size_t violation_count_ = 0;
    std::map<std::string, std::size_t> by_kind_;
    static constexpr std::size_t max_kept = 200;
};

} // namespace reqstore::torture
