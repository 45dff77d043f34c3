// Waiting for the change feed to grow.
#include <reqstore/core/feed_notifier.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace reqstore::core
{
namespace net = boost::asio;

void feed_notifier::notify(std::uint64_t sequence)
{
    std::uint64_t known = last_.load(std::memory_order_relaxed);
    while (known < sequence && !last_.compare_exchange_weak(known, sequence, std::memory_order_release))
    {
    }
    wake_all();
}

void feed_notifier::wake_all()
{
    std::vector<std::shared_ptr<net::steady_timer>> woken;
    {
        std::lock_guard lock(mutex_);
        woken.swap(waiters_);
    }
    // A timer is cancelled on its own executor: its waiter may be running on another thread.
    for (auto& timer : woken)
        net::post(timer->get_executor(), [timer] { timer->cancel(); });
}

void feed_notifier::close()
{
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    wake_all();
}

net::awaitable<std::uint64_t> feed_notifier::wait_beyond(std::uint64_t after,
                                                         std::chrono::milliseconds timeout)
{
    auto timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor, timeout);
    {
        std::lock_guard lock(mutex_);
        // Checked under the lock that notify()'s wake-up takes: a sequence committed after this
        // check finds the timer registered.
        if (closed_ || last_.load(std::memory_order_acquire) > after)
            co_return last_.load(std::memory_order_acquire);
        waiters_.push_back(timer);
    }
    co_await timer->async_wait(net::as_tuple(net::use_awaitable));
    {
        std::lock_guard lock(mutex_);
        std::erase(waiters_, timer);
    }
    co_return last_.load(std::memory_order_acquire);
}

} // namespace reqstore::core
