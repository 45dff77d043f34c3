// The version-order checker: per key, the final version list against every write and observation,
// then one sweep in real time.
#include "version_order.hpp"

#include <algorithm>
#include <limits>
#include <span>
#include <string>

namespace reqstore::check
{
namespace
{

constexpr std::uint32_t none = string_table::none;

std::string quoted(std::string_view text)
{
    return "\"" + std::string(text) + "\"";
}

// What the history as a whole says about each write id, built once for all keys.
struct write_index
{
    std::vector<std::uint32_t> writer;        // by write id: index in h.ops of the write, or none
    std::vector<std::uint32_t> final_key;     // by write id: the key whose final list has it first, or none
    std::vector<std::uint64_t> final_version; // by write id: the version it has there
};

class checker
{
public:
    explicit checker(const history& h) : h_(h)
    {
        index_.writer.assign(h.write_ids.size(), none);
        index_.final_key.assign(h.write_ids.size(), none);
        index_.final_version.assign(h.write_ids.size(), 0);
        for (std::uint32_t i = 0; i < h.ops.size(); ++i)
            if (h.ops[i].is_write())
                index_.writer[h.ops[i].write_id] = i;
        lost_update_reported_.assign(h.ops.size(), false);
    }

    version_order_report run()
    {
        const operations_by_key by_key(h_);
        for (std::uint32_t key = 0; key < h_.keys.size(); ++key)
        {
            const std::span<const std::uint32_t> ops = by_key.of(key);
            check_final_list(key);
            check_writes(key, ops);
            check_observations(key, ops);
            check_real_time(key, ops);
        }
        sort_by_line(report_.violations);
        return std::move(report_);
    }

private:
    void report(violation_kind kind, std::uint32_t key, std::vector<std::uint32_t> lines, std::string message)
    {
        std::sort(lines.begin(), lines.end());
        lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
        report_.violations.push_back(
            violation{kind, std::string(h_.key_name(key)), std::move(lines), std::move(message)});
    }

    void report_lost_update(std::uint32_t op_index, std::vector<std::uint32_t> lines, std::string message)
    {
        if (lost_update_reported_[op_index])
            return;
        lost_update_reported_[op_index] = true;
        report(violation_kind::lost_update, h_.ops[op_index].key, std::move(lines), std::move(message));
    }

    const final_list& final_of(std::uint32_t key) const { return h_.finals[key]; }

    // The write id the final list of `key` gives `version` (the first, if listed twice), or none.
    std::uint32_t final_write_at(std::uint32_t key, std::uint64_t version) const
    {
        const auto& versions = final_of(key).versions;
        const auto it =
            std::lower_bound(versions.begin(), versions.end(), version,
                             [](const final_version& v, std::uint64_t x) { return v.version < x; });
        return it != versions.end() && it->version == version ? it->write_id : none;
    }

    std::uint64_t final_highest(std::uint32_t key) const
    {
        const auto& versions = final_of(key).versions;
        return versions.empty() ? 0 : versions.back().version;
    }

    std::string write_name(std::uint32_t write_id) const { return quoted(h_.write_ids.text(write_id)); }

    // The write of `write_id` if it is a write of `key`, else none.
    std::uint32_t writer_on(std::uint32_t key, std::uint32_t write_id) const
    {
        if (write_id == none)
            return none;
        const std::uint32_t writer = index_.writer[write_id];
        return writer != none && h_.ops[writer].key == key ? writer : none;
    }

    // Gap, duplicate, phantom, and the placement of writes of unknown outcome.
    void check_final_list(std::uint32_t key)
    {
        const final_list& list = final_of(key);
        std::uint64_t expected = 1;
        for (const final_version& entry : list.versions)
        {
            if (entry.version > expected)
                report(violation_kind::gap, key, {list.line},
                       expected + 1 == entry.version
                           ? "version " + std::to_string(expected) + " is missing from the final list"
                           : "versions " + std::to_string(expected) + " to " +
                                 std::to_string(entry.version - 1) + " are missing from the final list");
            else if (entry.version < expected)
                report(violation_kind::duplicate, key, {list.line},
                       "the final list has version " + std::to_string(entry.version) + " twice");
            expected = std::max(expected, entry.version + 1);

            const std::uint32_t id = entry.write_id;
            if (index_.final_key[id] != none)
            {
                report(violation_kind::duplicate, key, {list.line, h_.finals[index_.final_key[id]].line},
                       "write " + write_name(id) + " is stored twice: as version " +
                           std::to_string(index_.final_version[id]) + " of " +
                           quoted(h_.key_name(index_.final_key[id])) + " and as version " +
                           std::to_string(entry.version));
                continue;
            }
            index_.final_key[id] = key;
            index_.final_version[id] = entry.version;

            const std::uint32_t any_writer = index_.writer[id];
            const std::uint32_t writer = writer_on(key, id);
            if (writer == none)
            {
                std::vector<std::uint32_t> lines{list.line};
                std::string why = "no write of this key";
                if (any_writer != none)
                {
                    lines.push_back(h_.ops[any_writer].line);
                    why = "a write of " + quoted(h_.key_name(h_.ops[any_writer].key));
                }
                report(violation_kind::phantom, key, std::move(lines),
                       "version " + std::to_string(entry.version) + " is write " + write_name(id) + ", " +
                           why);
                continue;
            }
            const operation& op = h_.ops[writer];
            if (op.outcome == op_outcome::fail)
                report(violation_kind::phantom, key, {list.line, op.line},
                       "version " + std::to_string(entry.version) + " is write " + write_name(id) +
                           ", which was reported as failed");
            else if (op.outcome == op_outcome::unknown && entry.version != op.expected + 1)
                report_lost_update(writer, {op.line, list.line},
                                   "write " + write_name(id) + " (" + describe(h_, op) +
                                       ") is stored as version " + std::to_string(entry.version) +
                                       ", where its precondition allows only " +
                                       std::to_string(op.expected + 1));
        }
    }

    // Acknowledged writes: stored where they said, where their precondition allows, one per version.
    void check_writes(std::uint32_t key, std::span<const std::uint32_t> ops)
    {
        std::vector<std::pair<std::uint64_t, std::uint32_t>> acknowledged; // (version, op index)
        for (const std::uint32_t i : ops)
        {
            const operation& op = h_.ops[i];
            if (!op.is_write() || op.outcome != op_outcome::ok)
                continue;
            acknowledged.emplace_back(op.version, i);
            if (op.version != op.expected + 1)
                report_lost_update(i, {op.line},
                                   describe(h_, op) + " was acknowledged as version " +
                                       std::to_string(op.version) + ", where its precondition allows only " +
                                       std::to_string(op.expected + 1));
            const std::uint32_t stored = final_write_at(key, op.version);
            if (stored == op.write_id)
                continue;
            std::string where;
            if (index_.final_key[op.write_id] == key)
                where = "it is stored as version " + std::to_string(index_.final_version[op.write_id]);
            else if (stored != none)
                where = "version " + std::to_string(op.version) + " is write " + write_name(stored);
            else
                where = "the final list has no version " + std::to_string(op.version) + " (it ends at " +
                        std::to_string(final_highest(key)) + ")";
            report(violation_kind::lost_write, key, {op.line, final_of(key).line},
                   "acknowledged write " + describe(h_, op) + " is lost: " + where);
        }
        std::sort(acknowledged.begin(), acknowledged.end());
        for (std::size_t i = 1; i < acknowledged.size(); ++i)
            if (acknowledged[i].first == acknowledged[i - 1].first)
            {
                const operation& a = h_.ops[acknowledged[i - 1].second];
                const operation& b = h_.ops[acknowledged[i].second];
                report(violation_kind::duplicate, key, {a.line, b.line},
                       "two writes were acknowledged as version " + std::to_string(a.version) + ": " +
                           describe(h_, a) + " and " + describe(h_, b));
            }
    }

    // A version that `op` observed: present in the final list, written before `op` completed.
    // `named_write` is the write id the observer names (reads), or none (412s, If-Match).
    void check_observed_version(std::uint32_t key, const operation& op, std::uint64_t version,
                                std::uint32_t named_write)
    {
        const auto what = [&]
        {
            return "line " + std::to_string(op.line) + " (" + describe(h_, op) + ")";
        };
        const final_list& list = final_of(key);
        const std::uint32_t stored = final_write_at(key, version);
        std::uint32_t write_id = named_write;
        if (named_write != none)
        {
            const std::uint32_t writer = writer_on(key, named_write);
            const std::uint32_t any_writer = index_.writer[named_write];
            if (writer == none)
            {
                std::vector<std::uint32_t> lines{op.line};
                if (any_writer != none)
                    lines.push_back(h_.ops[any_writer].line);
                report(violation_kind::phantom, key, std::move(lines),
                       what() + " names write " + write_name(named_write) + ", which is " +
                           (any_writer != none ? "a write of " + quoted(h_.key_name(h_.ops[any_writer].key))
                                               : std::string("no write of the history")));
                return;
            }
            if (h_.ops[writer].outcome == op_outcome::fail)
            {
                report(violation_kind::phantom, key, {op.line, h_.ops[writer].line},
                       what() + " names write " + write_name(named_write) + ", which was reported as failed");
                return;
            }
            if (stored != none && stored != named_write)
            {
                report(violation_kind::torn_read, key, {op.line, list.line},
                       what() + " names write " + write_name(named_write) + ", but version " +
                           std::to_string(version) + " is write " + write_name(stored));
                return;
            }
        }
        if (stored == none)
        {
            report(violation_kind::lost_write, key, {op.line, list.line},
                   what() + " saw version " + std::to_string(version) +
                       ", which the final list does not have (it ends at " +
                       std::to_string(final_highest(key)) + ")");
            return;
        }
        write_id = stored;
        const std::uint32_t writer = writer_on(key, write_id);
        if (writer == none)
            return; // a phantom in the final list, reported there
        const operation& write = h_.ops[writer];
        if (write.invoke > op.complete)
            report(violation_kind::future_read, key, {op.line, write.line},
                   what() + " saw version " + std::to_string(version) + ", whose write " +
                       describe(h_, write) + " was invoked only after it completed");
    }

    void check_observations(std::uint32_t key, std::span<const std::uint32_t> ops)
    {
        for (const std::uint32_t i : ops)
        {
            const operation& op = h_.ops[i];
            if (op.outcome == op_outcome::unknown)
                continue;
            if (op.f == op_function::read && op.outcome == op_outcome::ok)
            {
                if (op.version == 0)
                {
                    if (op.read_write_id != none)
                        report(violation_kind::torn_read, key, {op.line},
                               describe(h_, op) + " found no record but names write " +
                                   write_name(op.read_write_id));
                    continue;
                }
                check_observed_version(key, op, op.version, op.read_write_id);
            }
            else if (op.f == op_function::cas && op.outcome == op_outcome::ok && op.expected > 0)
                check_observed_version(key, op, op.expected, none);
            else if (op.is_write() && op.outcome == op_outcome::fail && op.has_observed && op.observed > 0)
                check_observed_version(key, op, op.observed, none);
        }
    }

    // Stale reads, regressions, and writes acknowledged on a precondition already superseded.
    void check_real_time(std::uint32_t key, std::span<const std::uint32_t> ops)
    {
        struct seen
        {
            std::int64_t at;       // when the client learnt it (the operation's completion)
            std::uint64_t version; // the version it learnt exists
            std::uint32_t op;
            bool acknowledged_write;
        };
        std::vector<seen> learnt;
        std::vector<std::uint32_t> checked;
        for (const std::uint32_t i : ops)
        {
            const operation& op = h_.ops[i];
            if (op.outcome == op_outcome::ok)
            {
                learnt.push_back({op.complete, op.version, i, op.is_write()});
                checked.push_back(i);
            }
            else if (op.outcome == op_outcome::fail && op.has_observed)
            {
                learnt.push_back({op.complete, op.observed, i, false});
                checked.push_back(i);
            }
        }
        std::sort(learnt.begin(), learnt.end(), [](const seen& a, const seen& b) { return a.at < b.at; });
        std::sort(checked.begin(), checked.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return h_.ops[a].invoke < h_.ops[b].invoke; });

        constexpr std::uint32_t nobody = none;
        std::uint64_t newest_write = 0, newest_seen = 0; // the highest version acknowledged / observed
        std::uint32_t newest_write_op = nobody, newest_seen_op = nobody;
        std::size_t next = 0;
        for (const std::uint32_t i : checked)
        {
            const operation& op = h_.ops[i];
            // Only what completed strictly before this operation began: equal times are concurrent.
            for (; next < learnt.size() && learnt[next].at < op.invoke; ++next)
            {
                const seen& s = learnt[next];
                if (s.acknowledged_write && (newest_write_op == nobody || s.version > newest_write))
                    newest_write = s.version, newest_write_op = s.op;
                if (!s.acknowledged_write && (newest_seen_op == nobody || s.version > newest_seen))
                    newest_seen = s.version, newest_seen_op = s.op;
            }
            if (op.is_write() && op.outcome == op_outcome::ok)
            {
                // A write acknowledged on version E, begun after a version above E was known.
                const bool by_write = newest_write_op != nobody && newest_write > op.expected;
                const bool by_seen = newest_seen_op != nobody && newest_seen > op.expected;
                if (!by_write && !by_seen)
                    continue;
                const operation& known =
                    h_.ops[by_write && (!by_seen || newest_write >= newest_seen) ? newest_write_op
                                                                                 : newest_seen_op];
                const std::uint64_t known_version =
                    known.outcome == op_outcome::fail ? known.observed : known.version;
                report_lost_update(i, {op.line, known.line},
                                   describe(h_, op) + " succeeded on version " + std::to_string(op.expected) +
                                       " although version " + std::to_string(known_version) +
                                       " was known before it began (line " + std::to_string(known.line) +
                                       ")");
                continue;
            }
            const std::uint64_t version = op.outcome == op_outcome::fail ? op.observed : op.version;
            if (newest_write_op != nobody && newest_write > version)
                report(violation_kind::stale_read, key, {op.line, h_.ops[newest_write_op].line},
                       describe(h_, op) + " began after version " + std::to_string(newest_write) +
                           " was acknowledged (line " + std::to_string(h_.ops[newest_write_op].line) + ")");
            else if (newest_seen_op != nobody && newest_seen > version)
                report(violation_kind::regression, key, {op.line, h_.ops[newest_seen_op].line},
                       describe(h_, op) + " began after version " + std::to_string(newest_seen) +
                           " had been seen (line " + std::to_string(h_.ops[newest_seen_op].line) + ")");
        }
    }

    const history& h_;
    write_index index_;
    std::vector<bool> lost_update_reported_; // by op index
    version_order_report report_;
};

} // namespace

version_order_report check_version_order(const history& h)
{
    return checker(h).run();
}

} // namespace reqstore::check
