// The torture run's ledger: operations by key and write id, and the violations found.
#include "ledger.hpp"

#include <algorithm>

namespace reqstore::torture
{

void ledger::record(op_record op)
{
    const std::size_t index = history_.ops().size();
    auto& state = keys_[op.key];
    if (op.kind != op_kind::read)
        writes_.emplace(op.write_id, index);
    if (op.outcome == op_outcome::ok)
    {
        state.max_seen = std::max(state.max_seen, op.version);
        state.unaudited_ops.push_back(index);
    }
    // A 412 names the version it found: a client saw that version too.
    if (op.outcome == op_outcome::fail && op.observed)
        state.max_seen = std::max(state.max_seen, *op.observed);
    history_.add(std::move(op));
}

const op_record* ledger::write_of(const std::string& write_id) const
{
    const auto it = writes_.find(write_id);
    return it == writes_.end() ? nullptr : &history_.ops()[it->second];
}

void ledger::report(violation v)
{
    ++violation_count_;
    ++by_kind_[v.kind];
    if (violations_.size() < max_kept)
        violations_.push_back(std::move(v));
}

} // namespace reqstore::torture
