// The loop that fires scheduled transitions when they fall due.
#include <reqstore/core/expiry_scheduler.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>

namespace reqstore::core
{
namespace net = boost::asio;

namespace
{
// How long the loop sleeps at most: a bound on how late a timer fires after the wall clock jumps
// forward, since the wait itself runs on the steady clock.
constexpr unix_millis longest_sleep_ms = 30'000;
// After a failed look at the store, try again after this long.
constexpr unix_millis retry_after_failure_ms = 1'000;
constexpr std::size_t timers_per_round = 256;
// Shared with other nodes: how long the scan's lease lasts, how often its holder renews it (and the
// others try it), and so how long a node sleeps at most. A dead holder is replaced within the lease
// and one try.
constexpr auto scan_lease = std::chrono::milliseconds(5'000);
constexpr unix_millis shared_longest_sleep_ms = 1'000;
} // namespace

expiry_scheduler::expiry_scheduler(net::any_io_executor executor, record_service& service,
                                   record_store& store)
    : service_(service), store_(store), strand_(net::make_strand(executor)), wake_(strand_)
{
    service_.on_timer_added([this](unix_millis due) { timer_added(due); });
}

void expiry_scheduler::share_with_nodes(outbox_coordination& coordination, std::string node_id,
                                        std::function<void(bool held)> on_lease)
{
    coordination_ = &coordination;
    node_id_ = std::move(node_id);
    on_lease_ = std::move(on_lease);
}

net::awaitable<bool> expiry_scheduler::may_scan()
{
    if (!coordination_)
        co_return true;
    // Tried at most once a second, held or not: a node that does not hold it is woken by every
    // timer its own commits add.
    const auto now = std::chrono::steady_clock::now();
    if (now - lease_tried_at_ < std::chrono::milliseconds(shared_longest_sleep_ms))
        co_return lease_epoch_.has_value();
    auto held = co_await coordination_->acquire_lease("expiry", node_id_, scan_lease);
    if (!held)
        ops::log().error("renewing the expiry scan's lease failed", {{"error", held.error().detail}});
    const std::optional<std::uint64_t> epoch = held ? *held : std::nullopt;
    if (epoch && epoch != lease_epoch_)
        ops::log().info("this node scans the expiry timers", {{"node", node_id_}, {"epoch", *epoch}});
    lease_epoch_ = epoch;
    lease_tried_at_ = now;
    if (on_lease_)
        on_lease_(epoch.has_value());
    co_return epoch.has_value();
}

void expiry_scheduler::start()
{
    net::co_spawn(strand_, run(),
                  [](std::exception_ptr e)
                  {
                      if (e)
                          std::rethrow_exception(
                              e); // the loop catches what it expects; anything else is a bug
                  });
}

void expiry_scheduler::stop()
{
    stopping_.store(true);
    net::post(strand_, [this] { wake_.cancel(); });
}

void expiry_scheduler::timer_added(unix_millis due)
{
    if (due < planned_.load(std::memory_order_acquire))
        net::post(strand_,
                  [this, due]
                  {
                      if (due < planned_.load(std::memory_order_relaxed))
                          wake_.cancel();
                  });
}

net::awaitable<void> expiry_scheduler::run()
{
    while (!stopping_.load())
    {
        // Shared, another node's timers are not announced here: look at least every second. A
        // transition fires once either way (its commit is a compare-and-swap that also removes the
        // timer); the lease keeps the nodes from all scanning.
        unix_millis sleep_ms = coordination_ ? shared_longest_sleep_ms : longest_sleep_ms;
        if (co_await may_scan())
        {
            const unix_millis now = now_millis();
            auto due = co_await store_.timers_due(now, timers_per_round);
            if (!due)
                sleep_ms = retry_after_failure_ms;
            else
            {
                for (const auto& timer : *due)
                {
                    if (stopping_.load())
                        co_return;
                    auto fired = co_await service_.fire_expiry(timer);
                    if (!fired)
                    {
                        ops::log().error("a scheduled transition failed; it is tried again",
                                         {{"id", timer.id}, {"error", fired.error().detail}});
                        sleep_ms = retry_after_failure_ms; // the timer stays
                    }
                }
                if (due->size() == timers_per_round && sleep_ms != retry_after_failure_ms)
                    continue; // more may be due already (after a failure, pause before the next round)
                auto next = co_await store_.earliest_timer();
                if (!next)
                    sleep_ms = retry_after_failure_ms;
                else if (*next)
                    sleep_ms = std::clamp<unix_millis>((*next)->due - now_millis(), 0, sleep_ms);
            }
        }
        planned_.store(now_millis() + sleep_ms, std::memory_order_release);
        wake_.expires_after(std::chrono::milliseconds(sleep_ms));
        co_await wake_.async_wait(net::as_tuple(net::use_awaitable));
        planned_.store(INT64_MAX, std::memory_order_release);
    }
}

} // namespace reqstore::core
