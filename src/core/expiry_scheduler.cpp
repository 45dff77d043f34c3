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
} // namespace

expiry_scheduler::expiry_scheduler(net::any_io_executor executor, record_service& service,
                                   record_store& store)
    : service_(service), store_(store), strand_(net::make_strand(executor)), wake_(strand_)
{
    service_.on_timer_added([this](unix_millis due) { timer_added(due); });
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
        unix_millis sleep_ms = longest_sleep_ms;
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
        planned_.store(now_millis() + sleep_ms, std::memory_order_release);
        wake_.expires_after(std::chrono::milliseconds(sleep_ms));
        co_await wake_.async_wait(net::as_tuple(net::use_awaitable));
        planned_.store(INT64_MAX, std::memory_order_release);
    }
}

} // namespace reqstore::core
