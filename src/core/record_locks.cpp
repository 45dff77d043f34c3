// The per-record FIFO lock behind record_locks; everything here runs on a stripe's strand, or on
// the one thread that runs every caller.
#include <reqstore/core/record_locks.hpp>

#include <functional>

namespace reqstore::core
{
namespace net = boost::asio;

record_locks::record_locks(net::any_io_executor executor, bool one_thread, std::size_t stripe_count)
    : one_thread_(one_thread)
{
    stripes_.reserve(stripe_count);
    for (std::size_t i = 0; i < stripe_count; ++i)
        stripes_.push_back(std::make_unique<stripe>(executor));
}

record_locks::stripe& record_locks::stripe_for(std::string_view id)
{
    return *stripes_[std::hash<std::string_view>{}(id) % stripes_.size()];
}

net::awaitable<void> record_locks::stripe::acquire(const std::string& id)
{
    auto [it, inserted] = held.try_emplace(id);
    if (inserted)
        co_return;
    // A timer that never expires: release() cancels it to hand the lock over. Nothing runs
    // between the push and the wait (we are on the strand, or the only thread), so no wake-up can
    // be missed.
    net::steady_timer wake(co_await net::this_coro::executor, net::steady_timer::time_point::max());
    it->second.push_back(&wake);
    // If this frame is destroyed while it waits (its context is torn down), its timer must leave
    // the queue: release() would otherwise cancel a timer that no longer exists.
    struct leave_queue_on_destroy
    {
        stripe& s;
        const std::string& id;
        net::steady_timer* timer;
        bool woken = false;
        ~leave_queue_on_destroy()
        {
            if (woken)
                return;
            if (const auto entry = s.held.find(id); entry != s.held.end())
                std::erase(entry->second, timer);
        }
    } guard{*this, id, &wake};
    co_await wake.async_wait(net::as_tuple(net::use_awaitable));
    guard.woken = true;
}

void record_locks::stripe::release(const std::string& id)
{
    const auto it = held.find(id);
    if (it == held.end())
        return;
    if (it->second.empty())
    {
        held.erase(it);
        return;
    }
    net::steady_timer* next = it->second.front();
    it->second.pop_front();
    next->cancel(); // the lock passes to `next` without being released in between
}

} // namespace reqstore::core
