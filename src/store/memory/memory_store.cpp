// The memory engine: the storage interface's semantics in maps, each call under one mutex.
#include <reqstore/core/pending_commit.hpp>
#include <reqstore/core/write_serialization.hpp>
#include <reqstore/store/memory/memory_store.hpp>

namespace reqstore::store
{
using core::errc;
using core::failure;

namespace
{

// A listing page stops once the bodies it holds reach this size, as the embedded engine's does.
constexpr std::size_t max_page_bytes = 8u << 20;

bool is_open(core::delivery_status s)
{
    return s == core::delivery_status::pending || s == core::delivery_status::failed;
}

core::stored_version without_body(core::stored_version v)
{
    v.body.clear();
    return v;
}

} // namespace

memory_store::memory_store(core::commit_observer observer) : observer_(std::move(observer)) {}

std::uint64_t memory_store::last_sequence() const
{
    std::lock_guard lock(mutex_);
    return last_sequence_;
}

void memory_store::refuse_writes(std::optional<core::failure> refusal)
{
    std::lock_guard lock(mutex_);
    refusal_ = std::move(refusal);
}

std::optional<core::failure> memory_store::refused_now() const
{
    return refusal_;
}

// ---- records ------------------------------------------------------------------------------------

memory_store::awaitable_result<std::optional<core::stored_version>> memory_store::load(std::string_view id)
{
    std::lock_guard lock(mutex_);
    const auto it = records_.find(std::string(id));
    if (it == records_.end())
        co_return std::optional<core::stored_version>();
    co_return std::optional<core::stored_version>(it->second.back());
}

memory_store::awaitable_result<std::optional<core::stored_version>>
memory_store::load_version(std::string_view id, std::uint64_t version)
{
    std::lock_guard lock(mutex_);
    const auto it = records_.find(std::string(id));
    if (it == records_.end() || version == 0 || version > it->second.size())
        co_return std::optional<core::stored_version>();
    co_return std::optional<core::stored_version>(it->second[version - 1]);
}

memory_store::awaitable_result<std::vector<core::stored_version>>
memory_store::history(std::string_view id, std::uint64_t below_version, std::size_t limit)
{
    std::lock_guard lock(mutex_);
    std::vector<core::stored_version> out;
    const auto it = records_.find(std::string(id));
    if (it == records_.end() || below_version <= 1 || limit == 0)
        co_return out;
    for (std::uint64_t v = std::min<std::uint64_t>(below_version - 1, it->second.size());
         v >= 1 && out.size() < limit; --v)
        out.push_back(without_body(it->second[v - 1]));
    co_return out;
}

memory_store::awaitable_result<core::list_page> memory_store::list(const core::list_filter& filter,
                                                                   std::string_view after_id,
                                                                   std::size_t limit,
                                                                   std::size_t max_examined)
{
    std::lock_guard lock(mutex_);
    core::list_page page;
    auto it = after_id.empty() ? records_.begin() : records_.upper_bound(std::string(after_id));
    std::size_t examined = 0;
    std::size_t page_bytes = 0;
    std::string last_examined;
    for (; it != records_.end() && page.records.size() < limit && examined < max_examined; ++it)
    {
        ++examined;
        last_examined = it->first;
        const core::stored_version& current = it->second.back();
        if (current.deleted || (filter.type && current.type != *filter.type) ||
            (filter.status && current.status != *filter.status) ||
            (filter.updated_since && current.updated_at < *filter.updated_since))
            continue;
        page_bytes += current.body.size();
        page.records.push_back(current);
        if (page_bytes >= max_page_bytes)
        {
            ++it;
            break;
        }
    }
    if (it != records_.end())
        page.last_examined_id = std::move(last_examined);
    co_return page;
}

core::result<core::commit_receipt> memory_store::apply(core::commit_request& request)
{
    if (auto refused = refused_now())
        return *refused;
    auto& versions = records_[request.id];
    const core::predecessor stored = versions.empty()
                                         ? core::predecessor{}
                                         : core::predecessor{versions.back().version, versions.back().tag};
    auto refused = core::compare_and_swap_refusal(request, stored);
    if (!refused && request.idempotency)
    {
        const auto answered = idempotency_.find(request.idempotency->key);
        refused = core::idempotency_refusal(
            request, answered == idempotency_.end()
                         ? std::nullopt
                         : std::optional<core::unix_millis>(answered->second.created_at));
    }
    if (refused)
    {
        if (versions.empty())
            records_.erase(request.id);
        return *refused;
    }
    // With the compare-and-swap switched off (the crash test's control), a version number may
    // repeat: the newest write of it replaces the others, as a put under the same key would.
    versions.resize(std::min<std::size_t>(versions.size(), request.next.version - 1));
    versions.push_back(std::move(request.next));
    const core::commit_receipt receipt{last_sequence_ + 1};
    for (const auto& event : request.events)
    {
        ++last_sequence_;
        events_[last_sequence_] = {event.at, core::feed_entry_json(event, last_sequence_)};
    }
    for (const auto& timer : request.timers_removed)
        timers_.erase({timer.due, timer.id});
    for (const auto& timer : request.timers_added)
        timers_.insert({timer.due, timer.id});
    if (request.idempotency)
        idempotency_[request.idempotency->key] = std::move(*request.idempotency);
    for (auto& blob : request.attachments)
        attachments_[{request.id, blob.sha256}] = std::move(blob.bytes);
    return receipt;
}

std::shared_ptr<core::pending_commit> memory_store::start_commit(core::commit_request request)
{
    auto pending = std::make_shared<core::pending_commit>();
    const bool has_events = !request.events.empty();
    core::result<core::commit_receipt> outcome = core::commit_receipt{};
    std::uint64_t sequence = 0;
    {
        std::lock_guard lock(mutex_);
        outcome = apply(request);
        sequence = last_sequence_;
    }
    if (outcome && observer_.on_batch_written)
        observer_.on_batch_written(1, std::chrono::nanoseconds(0));
    if (outcome && has_events && observer_.on_sequence)
        observer_.on_sequence(sequence);
    pending->complete(std::move(outcome));
    return pending;
}

memory_store::awaitable_result<std::vector<core::timer_key>> memory_store::timers_due(core::unix_millis up_to,
                                                                                      std::size_t limit)
{
    std::lock_guard lock(mutex_);
    std::vector<core::timer_key> out;
    for (auto it = timers_.begin(); it != timers_.end() && it->first <= up_to && out.size() < limit; ++it)
        out.push_back({it->first, it->second});
    co_return out;
}

memory_store::awaitable_result<std::optional<core::timer_key>> memory_store::earliest_timer()
{
    std::lock_guard lock(mutex_);
    if (timers_.empty())
        co_return std::optional<core::timer_key>();
    co_return std::optional<core::timer_key>(
        core::timer_key{timers_.begin()->first, timers_.begin()->second});
}

memory_store::awaitable_result<void> memory_store::remove_timer(const core::timer_key& timer)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    timers_.erase({timer.due, timer.id});
    co_return core::result<void>();
}

memory_store::awaitable_result<std::optional<core::idempotency_entry>>
memory_store::load_idempotency(std::string_view key)
{
    std::lock_guard lock(mutex_);
    const auto it = idempotency_.find(std::string(key));
    if (it == idempotency_.end())
        co_return std::optional<core::idempotency_entry>();
    co_return std::optional<core::idempotency_entry>(it->second);
}

memory_store::awaitable_result<std::size_t> memory_store::remove_idempotency_before(core::unix_millis cutoff)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    co_return std::erase_if(idempotency_,
                            [cutoff](const auto& entry) { return entry.second.created_at < cutoff; });
}

memory_store::awaitable_result<std::optional<std::string>>
memory_store::load_attachment(std::string_view id, std::string_view sha256)
{
    std::lock_guard lock(mutex_);
    const auto it = attachments_.find({std::string(id), std::string(sha256)});
    if (it == attachments_.end())
        co_return std::optional<std::string>();
    co_return std::optional<std::string>(it->second);
}

// ---- the outbox ---------------------------------------------------------------------------------

memory_store::awaitable_result<std::vector<core::feed_entry>> memory_store::events_after(std::uint64_t after,
                                                                                         std::size_t limit)
{
    std::lock_guard lock(mutex_);
    std::vector<core::feed_entry> out;
    for (auto it = events_.upper_bound(after); it != events_.end() && out.size() < limit; ++it)
        out.push_back({it->first, it->second.json});
    co_return out;
}

memory_store::awaitable_result<std::uint64_t> memory_store::oldest_sequence()
{
    std::lock_guard lock(mutex_);
    co_return events_.empty() ? std::uint64_t{0} : events_.begin()->first;
}

memory_store::awaitable_result<std::size_t> memory_store::trim_events(core::unix_millis cutoff,
                                                                      std::uint64_t below)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    std::size_t removed = 0;
    for (auto it = events_.begin(); it != events_.end() && it->first < below && it->second.at < cutoff;)
    {
        it = events_.erase(it);
        ++removed;
    }
    co_return removed;
}

memory_store::awaitable_result<std::vector<core::subscription>> memory_store::load_subscriptions()
{
    std::lock_guard lock(mutex_);
    std::vector<core::subscription> out;
    for (const auto& [id, s] : subscriptions_)
        out.push_back(s);
    co_return out;
}

memory_store::awaitable_result<void> memory_store::save_subscription(const core::subscription& s)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    subscriptions_[s.id] = s;
    co_return core::result<void>();
}

memory_store::awaitable_result<void> memory_store::delete_subscription(std::string_view id)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    subscriptions_.erase(std::string(id));
    co_return core::result<void>();
}

memory_store::awaitable_result<std::uint64_t> memory_store::fan_out_cursor()
{
    std::lock_guard lock(mutex_);
    co_return fan_out_cursor_;
}

memory_store::awaitable_result<void> memory_store::fan_out(std::uint64_t cursor,
                                                           std::vector<core::delivery>& deliveries)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    for (auto& d : deliveries)
    {
        d.id = ++last_delivery_id_;
        deliveries_[d.id] = d;
    }
    fan_out_cursor_ = cursor;
    co_return core::result<void>();
}

memory_store::awaitable_result<void> memory_store::save_delivery(const core::delivery& d)
{
    std::lock_guard lock(mutex_);
    if (auto refused = refused_now())
        co_return *refused;
    deliveries_[d.id] = d;
    co_return core::result<void>();
}

memory_store::awaitable_result<std::optional<core::delivery>> memory_store::load_delivery(std::uint64_t id)
{
    std::lock_guard lock(mutex_);
    const auto it = deliveries_.find(id);
    if (it == deliveries_.end())
        co_return std::optional<core::delivery>();
    co_return std::optional<core::delivery>(it->second);
}

memory_store::awaitable_result<std::vector<core::delivery>> memory_store::open_deliveries()
{
    std::lock_guard lock(mutex_);
    std::vector<core::delivery> out;
    for (const auto& [id, d] : deliveries_)
        if (is_open(d.status))
            out.push_back(d);
    co_return out;
}

memory_store::awaitable_result<std::vector<core::delivery>>
memory_store::deliveries_to(std::string_view target, const core::delivery_filter& filter)
{
    std::lock_guard lock(mutex_);
    std::vector<core::delivery> out;
    for (auto it = deliveries_.upper_bound(filter.after_id);
         it != deliveries_.end() && out.size() < filter.limit; ++it)
        if (it->second.target == target && (!filter.status || it->second.status == *filter.status))
            out.push_back(it->second);
    co_return out;
}

} // namespace reqstore::store
