// The WGL search: per key, the operations as steps of a register model bounded by the final list,
// cut into windows, each searched with Lowe's memoized backtracking.
#include "wgl.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <span>
#include <stdexcept>

namespace reqstore::check
{
namespace
{

constexpr std::uint32_t none = string_table::none;
constexpr std::uint32_t nil = std::numeric_limits<std::uint32_t>::max();

enum class step_kind : std::uint8_t
{
    read,  // the state must be `version`
    write, // the state must be `version` (the precondition); it becomes version + 1
    guard  // a failed write: the state must not be `version` (and must be `observed` if known)
};

// One operation as the search sees it.
struct model_op
{
    std::int64_t call = 0; // invocation
    std::int64_t ret = 0;  // the latest instant it can have taken effect
    std::uint64_t version = 0;
    std::uint64_t observed = 0;
    std::uint32_t source = 0; // index in history::ops
    step_kind kind = step_kind::read;
    // False when its result contradicts the final list (a read of a write id the final list does
    // not have at that version, a write the final list does not have where its precondition puts
    // it): no linearization can include it.
    bool possible = true;
    bool has_observed = false;
};

// The model's transition: whether `op` can take effect in state `state`, and the state after.
bool step(const model_op& op, std::uint64_t state, std::uint64_t& next)
{
    switch (op.kind)
    {
    case step_kind::read:
        next = state;
        return op.possible && state == op.version;
    case step_kind::write:
        next = state + 1;
        return op.possible && state == op.version;
    case step_kind::guard:
        next = state;
        return state != op.version && (!op.has_observed || state == op.observed);
    }
    return false;
}

std::uint64_t mix(std::uint64_t x)
{
    // splitmix64's finalizer: every input bit reaches every output bit.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Lowe's memo: the configurations (linearized set, state) already explored. A linearized set is
// stored as its first unlinearized operation and a mask of the `width` operations after it, which
// holds it whole: in a window of that width nothing further after the first unlinearized operation
// can be linearized before it. A configuration is `words` 64-bit words: (first open << 32 | state)
// and the mask; the table holds their offsets.
class config_set
{
public:
    void reset(std::size_t expected, std::size_t mask_words)
    {
        words_ = mask_words + 1;
        std::size_t size = 16;
        while (size < expected * 2)
            size *= 2;
        slots_.assign(size, nil);
        configs_.clear();
        count_ = 0;
    }

    // True when the configuration (`head`, `mask`) was not in the set (and now is).
    bool insert(std::uint64_t head, std::span<const std::uint64_t> mask)
    {
        if ((count_ + 1) * 2 > slots_.size())
            grow();
        const std::size_t table_mask = slots_.size() - 1;
        std::size_t slot = hash(head, mask) & table_mask;
        while (slots_[slot] != nil)
        {
            const std::uint64_t* stored = configs_.data() + std::size_t{slots_[slot]} * words_;
            if (stored[0] == head && std::equal(mask.begin(), mask.end(), stored + 1))
                return false;
            slot = (slot + 1) & table_mask;
        }
        if (count_ >= nil)
            throw std::length_error("too many configurations");
        slots_[slot] = static_cast<std::uint32_t>(count_++);
        configs_.push_back(head);
        configs_.insert(configs_.end(), mask.begin(), mask.end());
        return true;
    }

private:
    static std::size_t hash(std::uint64_t head, std::span<const std::uint64_t> mask)
    {
        std::uint64_t h = mix(head);
        for (const std::uint64_t word : mask)
            h = mix(h ^ word);
        return static_cast<std::size_t>(h);
    }

    void grow()
    {
        slots_.assign(slots_.size() * 2, nil);
        const std::size_t table_mask = slots_.size() - 1;
        for (std::size_t i = 0; i < count_; ++i)
        {
            const std::uint64_t* stored = configs_.data() + i * words_;
            std::size_t slot = hash(stored[0], {stored + 1, words_ - 1}) & table_mask;
            while (slots_[slot] != nil)
                slot = (slot + 1) & table_mask;
            slots_[slot] = static_cast<std::uint32_t>(i);
        }
    }

    std::size_t words_ = 2;
    std::vector<std::uint32_t> slots_;   // open addressing, linear probing: a configuration's index or nil
    std::vector<std::uint64_t> configs_; // `words_` per configuration
    std::size_t count_ = 0;
};

// The set of linearized operations of a window, with its first unlinearized one kept current.
class linearized_set
{
public:
    void reset(std::size_t ops, std::size_t mask_words)
    {
        // Room for the mask read past the last operation, and a zero bit to stop at.
        words_.assign(ops / 64 + mask_words + 3, 0);
        mask_.assign(mask_words, 0);
        first_open_ = 0;
    }

    void add(std::uint32_t op)
    {
        words_[op >> 6] |= std::uint64_t{1} << (op & 63);
        if (op == first_open_)
            advance();
    }

    void remove(std::uint32_t op)
    {
        words_[op >> 6] &= ~(std::uint64_t{1} << (op & 63));
        first_open_ = std::min(first_open_, op);
    }

    std::uint32_t first_open() const { return first_open_; }

    // Bit i: operation first_open() + 1 + i is linearized.
    std::span<const std::uint64_t> mask()
    {
        const std::uint32_t start = first_open_ + 1;
        const std::uint32_t word = start >> 6, offset = start & 63;
        for (std::size_t i = 0; i < mask_.size(); ++i)
        {
            const std::uint64_t low = words_[word + i] >> offset;
            const std::uint64_t high = offset == 0 ? 0 : words_[word + i + 1] << (64 - offset);
            mask_[i] = low | high;
        }
        return mask_;
    }

private:
    void advance()
    {
        for (;;)
        {
            const std::uint32_t word = first_open_ >> 6;
            const std::uint64_t open = ~words_[word] >> (first_open_ & 63);
            if (open != 0)
            {
                first_open_ += static_cast<std::uint32_t>(std::countr_zero(open));
                return;
            }
            first_open_ = (word + 1) << 6;
        }
    }

    std::vector<std::uint64_t> words_;
    std::vector<std::uint64_t> mask_;
    std::uint32_t first_open_ = 0;
};

struct search_result
{
    enum class verdict
    {
        linearizable,
        not_linearizable,
        over_budget
    };
    verdict outcome = verdict::linearizable;
    std::uint64_t explored = 0;
    // When not linearizable: the longest linearizable prefix found, its end state, and the
    // operation that then had to take effect and could not.
    std::size_t deepest = 0;
    std::uint64_t state_at_deepest = 0;
    std::uint32_t blocking = nil; // index in the window
};

// Lowe's algorithm over one window (as Porcupine's checkSingle): a doubly linked list of call and
// return events in time order; linearize a call whose operation can take effect and whose
// configuration is new, lifting its call and return out of the list; at a return whose operation
// is not linearized, backtrack. Buffers are kept from one window to the next.
//
// With `reduce`, one sound partial-order reduction: an operation that leaves the state as it is (a
// read, a failed write) and can take effect now is linearized at once, and if nothing follows from
// there the configuration has failed, without trying the others. Any linearization from here that
// places it later stays one when it is moved to the front: nothing that must precede it is left
// (its call is before every pending return) and it changes no state. In this model at most one
// write can take effect in a given state (the final list names the write of each version), so the
// reduced search hardly ever branches.
class window_search
{
public:
    // `width`: the window's width (see checker::width_of), which sizes the memo's masks.
    search_result run(std::span<const model_op> ops, std::size_t width, std::uint64_t start,
                      std::uint64_t budget, bool reduce)
    {
        const auto n = static_cast<std::uint32_t>(ops.size());
        const std::size_t mask_words = std::max<std::size_t>(1, (width + 63) / 64);
        ops_ = ops;
        start_ = start;
        budget_ = budget;
        build_list(ops);
        memo_.reset(std::min<std::uint64_t>(budget, std::uint64_t{n} * 4 + 16), mask_words);
        linearized_.reset(n, mask_words);
        stack_.clear();
        result_ = search_result{};
        reached_any_return_ = false;
        over_budget_ = false;

        state_ = start;
        std::uint32_t entry = nil;
        bool new_configuration = true;
        for (;;)
        {
            if (new_configuration)
            {
                new_configuration = false;
                if (entries_[head].next == nil)
                    return finish(search_result::verdict::linearizable);
                entry = entries_[head].next;
                const std::uint32_t forced = reduce ? applicable_state_preserving() : nil;
                if (forced != nil)
                {
                    if (push(forced, state_, true))
                    {
                        new_configuration = true;
                        continue;
                    }
                    if (over_budget_)
                        return finish(search_result::verdict::over_budget);
                    if (!backtrack(entry))
                        return finish(search_result::verdict::not_linearizable);
                    continue;
                }
            }
            const list_entry& e = entries_[entry];
            if (e.is_call)
            {
                std::uint64_t next = 0;
                if (step(ops[e.op], state_, next) && push(entry, next, false))
                {
                    new_configuration = true;
                    continue;
                }
                if (over_budget_)
                    return finish(search_result::verdict::over_budget);
                entry = e.next;
                continue;
            }
            // A return whose operation is not linearized: every way forward from here is explored.
            if (!reached_any_return_ || stack_.size() > result_.deepest)
            {
                reached_any_return_ = true;
                result_.deepest = stack_.size();
                result_.blocking = e.op;
                result_.state_at_deepest = state_;
            }
            if (!backtrack(entry))
                return finish(search_result::verdict::not_linearizable);
        }
    }

private:
    static constexpr std::uint32_t head = 0;

    struct frame
    {
        std::uint32_t call_entry; // the call linearized
        std::uint64_t state;      // the state before it
        bool forced;              // linearized by the reduction: no alternative to try in its place
    };

    search_result finish(search_result::verdict verdict)
    {
        result_.outcome = verdict;
        return result_;
    }

    // The call entry of a candidate that leaves the state as it is and can take effect now, or nil.
    std::uint32_t applicable_state_preserving() const
    {
        for (std::uint32_t e = entries_[head].next; e != nil && entries_[e].is_call; e = entries_[e].next)
        {
            const model_op& op = ops_[entries_[e].op];
            std::uint64_t next = 0;
            if (op.kind != step_kind::write && step(op, state_, next))
                return e;
        }
        return nil;
    }

    // Linearizes the operation of `call` (state after it: `next`) unless that configuration was
    // explored before or the budget is spent.
    bool push(std::uint32_t call, std::uint64_t next, bool forced)
    {
        const std::uint32_t op = entries_[call].op;
        linearized_.add(op);
        const std::uint64_t open_and_state =
            (std::uint64_t{linearized_.first_open()} << 32) | (next - start_);
        if (!memo_.insert(open_and_state, linearized_.mask()))
        {
            linearized_.remove(op);
            return false;
        }
        if (++result_.explored > budget_)
        {
            over_budget_ = true;
            return false;
        }
        stack_.push_back({call, state_, forced});
        state_ = next;
        lift(call);
        return true;
    }

    // Undoes linearizations back to the last one that has alternatives, and sets `entry` to the
    // next candidate after it. False when none is left: no linearization exists.
    bool backtrack(std::uint32_t& entry)
    {
        while (!stack_.empty())
        {
            const frame top = stack_.back();
            stack_.pop_back();
            state_ = top.state;
            linearized_.remove(entries_[top.call_entry].op);
            unlift(top.call_entry);
            if (!top.forced)
            {
                entry = entries_[top.call_entry].next;
                return true;
            }
        }
        return false;
    }

    struct list_entry
    {
        std::uint32_t op = nil;
        std::uint32_t match = nil; // a call's return entry
        std::uint32_t prev = nil;
        std::uint32_t next = nil;
        bool is_call = false;
    };

    struct event
    {
        std::int64_t at;
        std::uint32_t op;
        bool is_return;
    };

    void build_list(std::span<const model_op> ops)
    {
        events_.clear();
        for (std::uint32_t i = 0; i < ops.size(); ++i)
        {
            events_.push_back({ops[i].call, i, false});
            events_.push_back({ops[i].ret, i, true});
        }
        // At equal times calls come first: such operations overlap, which only widens the search.
        std::sort(events_.begin(), events_.end(),
                  [](const event& a, const event& b)
                  {
                      if (a.at != b.at)
                          return a.at < b.at;
                      if (a.is_return != b.is_return)
                          return !a.is_return;
                      return a.op < b.op;
                  });
        entries_.assign(events_.size() + 1, list_entry{});
        call_of_.assign(ops.size(), nil);
        return_of_.assign(ops.size(), nil);
        for (std::uint32_t i = 0; i < events_.size(); ++i)
        {
            list_entry& e = entries_[i + 1];
            e.op = events_[i].op;
            e.is_call = !events_[i].is_return;
            e.prev = i;
            e.next = i + 2 < entries_.size() ? i + 2 : nil;
            (e.is_call ? call_of_ : return_of_)[e.op] = i + 1;
        }
        entries_[head].next = entries_.size() > 1 ? 1 : nil;
        for (std::uint32_t op = 0; op < ops.size(); ++op)
            entries_[call_of_[op]].match = return_of_[op];
    }

    void lift(std::uint32_t call)
    {
        list_entry& c = entries_[call];
        entries_[c.prev].next = c.next;
        if (c.next != nil)
            entries_[c.next].prev = c.prev;
        list_entry& r = entries_[c.match];
        entries_[r.prev].next = r.next;
        if (r.next != nil)
            entries_[r.next].prev = r.prev;
    }

    void unlift(std::uint32_t call)
    {
        list_entry& c = entries_[call];
        list_entry& r = entries_[c.match];
        entries_[r.prev].next = c.match;
        if (r.next != nil)
            entries_[r.next].prev = c.match;
        entries_[c.prev].next = call;
        if (c.next != nil)
            entries_[c.next].prev = call;
    }

    std::vector<event> events_;
    std::vector<list_entry> entries_; // [0] is the head
    std::vector<std::uint32_t> call_of_, return_of_;
    std::vector<frame> stack_;
    config_set memo_;
    linearized_set linearized_;
    // The current run.
    std::span<const model_op> ops_;
    std::uint64_t start_ = 0;
    std::uint64_t budget_ = 0;
    std::uint64_t state_ = 0;
    search_result result_;
    bool reached_any_return_ = false;
    bool over_budget_ = false;
};

class checker
{
public:
    checker(const history& h, const wgl_options& options) : h_(h), options_(options)
    {
        final_key_.assign(h.write_ids.size(), none);
        final_version_.assign(h.write_ids.size(), 0);
        for (std::uint32_t key = 0; key < h.finals.size(); ++key)
            for (const final_version& v : h.finals[key].versions)
                if (final_key_[v.write_id] == none)
                    final_key_[v.write_id] = key, final_version_[v.write_id] = v.version;
    }

    wgl_report run()
    {
        const operations_by_key by_key(h_);
        for (std::uint32_t key = 0; key < h_.keys.size(); ++key)
            check_key(key, by_key.of(key));
        sort_by_line(report_.violations);
        return std::move(report_);
    }

private:
    std::uint32_t final_write_at(std::uint32_t key, std::uint64_t version) const
    {
        const auto& versions = h_.finals[key].versions;
        const auto it =
            std::lower_bound(versions.begin(), versions.end(), version,
                             [](const final_version& v, std::uint64_t x) { return v.version < x; });
        return it != versions.end() && it->version == version ? it->write_id : none;
    }

    std::uint64_t final_highest(std::uint32_t key) const
    {
        const auto& versions = h_.finals[key].versions;
        return versions.empty() ? 0 : versions.back().version;
    }

    // The key's operations as model steps; writes the final list shows never took effect, and
    // operations that say nothing about the state, are left out.
    void build_model(std::uint32_t key, std::span<const std::uint32_t> ops)
    {
        model_.clear();
        struct sighting
        {
            std::uint64_t version; // a definite operation saw this version or a later one...
            std::int64_t by;       // ...no later than this
        };
        std::vector<sighting> sightings;
        std::vector<std::pair<std::uint64_t, std::uint32_t>> unresolved; // (version, model index)
        for (const std::uint32_t i : ops)
        {
            const operation& op = h_.ops[i];
            model_op m;
            m.source = i;
            m.call = op.invoke;
            m.ret = op.complete;
            if (op.f == op_function::read)
            {
                if (op.outcome != op_outcome::ok)
                    continue;
                m.kind = step_kind::read;
                m.version = op.version;
                m.possible = op.version == 0 ? op.read_write_id == none
                                             : final_write_at(key, op.version) == op.read_write_id;
                if (op.version > 0)
                    sightings.push_back({op.version, op.complete});
            }
            else if (op.outcome == op_outcome::fail)
            {
                if (!op.precondition_failed)
                    continue;
                m.kind = step_kind::guard;
                m.version = op.expected;
                m.has_observed = op.has_observed;
                m.observed = op.observed;
                if (op.has_observed && op.observed > 0)
                    sightings.push_back({op.observed, op.complete});
            }
            else
            {
                m.kind = step_kind::write;
                m.version = op.expected;
                m.possible = final_write_at(key, op.expected + 1) == op.write_id;
                if (op.outcome == op_outcome::ok)
                {
                    m.possible = m.possible && op.version == op.expected + 1;
                    if (op.expected > 0)
                        sightings.push_back({op.expected, op.complete});
                }
                else
                {
                    if (final_key_[op.write_id] != key)
                        continue; // never took effect
                    unresolved.emplace_back(final_version_[op.write_id],
                                            static_cast<std::uint32_t>(model_.size()));
                }
            }
            model_.push_back(m);
        }

        // The latest instant a write of unknown outcome can have taken effect: the first crash
        // after its invocation, and before any definite operation that saw its version or a
        // later one completed, and before the write of the next version could take effect.
        std::sort(sightings.begin(), sightings.end(),
                  [](const sighting& a, const sighting& b) { return a.version < b.version; });
        for (std::size_t i = sightings.size(); i-- > 1;)
            sightings[i - 1].by = std::min(sightings[i - 1].by, sightings[i].by);
        std::sort(unresolved.begin(), unresolved.end(), std::greater<>());
        std::uint64_t next_version = 0;
        std::int64_t next_ret = std::numeric_limits<std::int64_t>::max();
        for (const auto& [version, index] : unresolved)
        {
            model_op& m = model_[index];
            std::int64_t ret = first_crash_at_or_after(h_, m.call);
            const auto seen =
                std::lower_bound(sightings.begin(), sightings.end(), version,
                                 [](const sighting& s, std::uint64_t v) { return s.version < v; });
            if (seen != sightings.end())
                ret = std::min(ret, seen->by);
            if (next_version == version + 1)
                ret = std::min(ret, next_ret);
            m.ret = std::max(ret, m.call);
            next_version = version;
            next_ret = m.ret;
        }

        std::sort(model_.begin(), model_.end(),
                  [](const model_op& a, const model_op& b)
                  {
                      if (a.call != b.call)
                          return a.call < b.call;
                      if (a.ret != b.ret)
                          return a.ret < b.ret;
                      return a.source < b.source;
                  });
    }

    // The window's width: the most operations invoked while one of them is pending (not counting it).
    static std::size_t width_of(std::span<const model_op> window)
    {
        std::size_t widest = 0;
        for (std::size_t i = 0; i < window.size(); ++i)
        {
            const auto end = std::upper_bound(window.begin() + i + 1, window.end(), window[i].ret,
                                              [](std::int64_t t, const model_op& m) { return t < m.call; });
            widest = std::max(widest, static_cast<std::size_t>(end - (window.begin() + i + 1)));
        }
        return widest;
    }

    std::string why_impossible(std::uint32_t key, const model_op& m) const
    {
        const operation& op = h_.ops[m.source];
        const auto at = [&](std::uint64_t version)
        {
            const std::uint32_t stored = final_write_at(key, version);
            return stored == none ? "the final list has no version " + std::to_string(version)
                                  : "version " + std::to_string(version) + " is write \"" +
                                        std::string(h_.write_ids.text(stored)) + "\" in the final list";
        };
        if (m.kind == step_kind::read)
            return op.version == 0 ? "it read no record but names a write" : at(op.version);
        if (op.outcome == op_outcome::ok && op.version != op.expected + 1)
            return "it reported version " + std::to_string(op.version) +
                   " where its precondition allows only " + std::to_string(op.expected + 1);
        if (op.outcome == op_outcome::unknown)
            return "the final list has it as version " + std::to_string(final_version_[op.write_id]) +
                   ", where its precondition allows only " + std::to_string(op.expected + 1);
        return at(op.expected + 1);
    }

    void check_key(std::uint32_t key, std::span<const std::uint32_t> ops)
    {
        build_model(key, ops);
        std::uint64_t state = 0; // the record is absent before its first operation
        std::size_t begin = 0;
        while (begin < model_.size())
        {
            // The window: until an operation is invoked after every earlier one has returned.
            std::size_t end = begin + 1;
            std::int64_t latest_return = model_[begin].ret;
            while (end < model_.size() && model_[end].call <= latest_return)
                latest_return = std::max(latest_return, model_[end++].ret);
            const std::span<const model_op> window(model_.data() + begin, end - begin);
            begin = end;

            std::uint64_t writes = 0;
            for (const model_op& m : window)
                writes += m.kind == step_kind::write;
            const std::size_t width = width_of(window);
            ++report_.windows;
            report_.largest_window = std::max(report_.largest_window, window.size());
            report_.widest_window = std::max(report_.widest_window, width);

            const auto lines = [&]
            {
                std::uint32_t first_line = nil, last_line = 0;
                for (const model_op& m : window)
                {
                    first_line = std::min(first_line, h_.ops[m.source].line);
                    last_line = std::max(last_line, h_.ops[m.source].line);
                }
                return std::pair{first_line, last_line};
            };
            if (width > options_.max_window)
            {
                const auto [first_line, last_line] = lines();
                report_.inconclusive.push_back({std::string(h_.key_name(key)), first_line, last_line,
                                                window.size(), width, 0,
                                                "the window is " + std::to_string(width) +
                                                    " operations wide; the search takes at most " +
                                                    std::to_string(options_.max_window)});
                state += writes; // the one state it can end in, if it is linearizable
                continue;
            }
            const std::uint64_t budget = options_.max_explored + options_.explored_per_op * window.size();
            const search_result result = search_.run(window, width, state, budget, options_.reduce);
            report_.explored += result.explored;
            if (result.outcome == search_result::verdict::over_budget)
            {
                const auto [first_line, last_line] = lines();
                report_.inconclusive.push_back(
                    {std::string(h_.key_name(key)), first_line, last_line, window.size(), width,
                     result.explored,
                     "the search explored " + std::to_string(budget) + " configurations without an answer"});
                state += writes;
                continue;
            }
            if (result.outcome == search_result::verdict::not_linearizable)
            {
                const model_op& blocked = window[result.blocking];
                const operation& op = h_.ops[blocked.source];
                const auto [first_line, last_line] = lines();
                std::string message = window.size() == 1
                                          ? "line " + std::to_string(first_line) + ", from version " +
                                                std::to_string(state) + ", has no linearization: "
                                          : "the " + std::to_string(window.size()) + " operations of lines " +
                                                std::to_string(first_line) + " to " +
                                                std::to_string(last_line) + ", from version " +
                                                std::to_string(state) + ", have no linearization: ";
                if (result.deepest > 0)
                    message += "after at most " + std::to_string(result.deepest) +
                               " of them (reaching version " + std::to_string(result.state_at_deepest) +
                               "), ";
                message +=
                    "line " + std::to_string(op.line) + " (" + describe(h_, op) + ") cannot take effect";
                std::vector<std::uint32_t> involved{op.line};
                if (!blocked.possible)
                {
                    message += ": " + why_impossible(key, blocked);
                    involved.push_back(h_.finals[key].line);
                }
                report_.violations.push_back(
                    {violation_kind::not_linearizable, std::string(h_.key_name(key)), involved, message});
                return; // later windows would start from a state no linearization reaches
            }
            state += writes;
        }
        const std::uint64_t highest = final_highest(key);
        if (state != highest)
            report_.violations.push_back({violation_kind::not_linearizable,
                                          std::string(h_.key_name(key)),
                                          {h_.finals[key].line},
                                          "the final list ends at version " + std::to_string(highest) +
                                              ", but the writes of the history " +
                                              "that took effect reach version " + std::to_string(state)});
    }

    const history& h_;
    wgl_options options_;
    std::vector<std::uint32_t> final_key_;     // by write id: the key whose final list has it first, or none
    std::vector<std::uint64_t> final_version_; // by write id: its version there
    std::vector<model_op> model_;              // the current key's operations
    window_search search_;
    wgl_report report_;
};

} // namespace

wgl_report check_wgl(const history& h, const wgl_options& options)
{
    return checker(h, options).run();
}

} // namespace reqstore::check
