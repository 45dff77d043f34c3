// Wakes the readers of the change feed (long-poll, SSE, the webhook fan-out) when new sequence
// numbers are committed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace reqstore::core
{

class feed_notifier
{
public:
    explicit feed_notifier(std::uint64_t last_sequence) : last_(last_sequence) {}

    // Records that everything up to `sequence` is committed and wakes every waiter. Thread-safe.
    void notify(std::uint64_t sequence);

    // Wakes every waiter without a new sequence. Thread-safe.
    void wake_all();

    // Shutdown: wakes every waiter, and every later wait_beyond() returns at once. Thread-safe.
    void close();

    std::uint64_t last_sequence() const noexcept { return last_.load(std::memory_order_acquire); }

    // Completes once the feed holds a sequence number above `after`, or when `timeout` passes, or
    // when wake_all() is called. Returns the last sequence number known then.
    boost::asio::awaitable<std::uint64_t> wait_beyond(std::uint64_t after, std::chrono::milliseconds timeout);

private:
    std::atomic<std::uint64_t> last_;
    std::mutex mutex_; // guards waiters_ and closed_
    std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters_;
    bool closed_ = false;
};

} // namespace reqstore::core
