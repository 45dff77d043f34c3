// The newest versions of recently written records, in memory (newest_versions.hpp).
#include <reqstore/core/newest_versions.hpp>

namespace reqstore::core
{

namespace
{

// What a durable entry costs, roughly: its body, its other strings, and the nodes of the map and
// the list that hold it.
std::size_t cost_of(const std::string& id, const stored_version& v)
{
    std::size_t bytes =
        2 * id.size() + v.body.size() + v.type.size() + v.status.size() + v.updated_by.size() + 256;
    for (const auto& name : v.changed)
        bytes += name.size() + 32;
    return bytes;
}

} // namespace

std::optional<newest_versions::found> newest_versions::find(const std::string& id)
{
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(id);
    if (it == entries_.end())
        return std::nullopt;
    entry& e = it->second;
    if (!e.queued)
        lru_.splice(lru_.begin(), lru_, e.in_lru);
    return found{e.version, e.queued};
}

std::optional<stored_version> newest_versions::find_durable(std::string_view id)
{
    if (durable_entries_are_hints_)
        return std::nullopt;
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(id);
    if (it == entries_.end() || it->second.queued)
        return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second.in_lru);
    return it->second.version;
}

void newest_versions::queue(const std::string& id, stored_version version,
                            std::shared_ptr<pending_commit> durable)
{
    std::lock_guard lock(mutex_);
    auto [it, inserted] = entries_.try_emplace(id);
    entry& e = it->second;
    if (!inserted && !e.queued)
        leave_lru(e);
    e.version = std::move(version);
    e.queued = std::move(durable);
    ++changes_;
}

void newest_versions::drop(const std::string& id)
{
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(id);
    if (it != entries_.end())
    {
        if (!it->second.queued)
            leave_lru(it->second);
        entries_.erase(it);
    }
    ++changes_;
}

void newest_versions::settle(const std::string& id, const std::shared_ptr<pending_commit>& durable, bool ok)
{
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(id);
    if (it == entries_.end() || !durable || it->second.queued != durable)
        return;
    ++changes_;
    if (!ok)
    {
        entries_.erase(it);
        return;
    }
    make_durable(it);
    evict_over_budget();
}

void newest_versions::remember(const std::string& id, const stored_version& version)
{
    if (budget_bytes_ == 0)
        return;
    std::lock_guard lock(mutex_);
    if (const auto it = entries_.find(id); it != entries_.end())
    {
        if (it->second.queued)
            return;
        leave_lru(it->second);
        entries_.erase(it);
    }
    hold_durable(id, version);
}

std::uint64_t newest_versions::changes() const
{
    std::lock_guard lock(mutex_);
    return changes_;
}

void newest_versions::remember_read(const std::string& id, const stored_version& version,
                                    std::uint64_t changes_before)
{
    if (budget_bytes_ == 0 || durable_entries_are_hints_)
        return;
    std::lock_guard lock(mutex_);
    if (changes_ == changes_before)
        hold_durable(id, version);
}

void newest_versions::hold_durable(const std::string& id, const stored_version& version)
{
    auto [it, inserted] = entries_.try_emplace(id);
    if (!inserted)
        return;
    it->second.version = version;
    make_durable(it);
    evict_over_budget();
}

std::size_t newest_versions::durable_bytes() const
{
    std::lock_guard lock(mutex_);
    return durable_bytes_;
}

std::size_t newest_versions::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void newest_versions::make_durable(map_type::iterator it)
{
    entry& e = it->second;
    e.queued.reset();
    e.bytes = cost_of(it->first, e.version);
    durable_bytes_ += e.bytes;
    lru_.push_front(it->first);
    e.in_lru = lru_.begin();
}

void newest_versions::leave_lru(entry& e)
{
    lru_.erase(e.in_lru);
    durable_bytes_ -= e.bytes;
    e.bytes = 0;
}

void newest_versions::evict_over_budget()
{
    while (durable_bytes_ > budget_bytes_ && !lru_.empty())
    {
        const auto it = entries_.find(lru_.back());
        leave_lru(it->second);
        entries_.erase(it);
        ++changes_;
    }
}

} // namespace reqstore::core
