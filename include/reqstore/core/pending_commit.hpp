// A commit handed to the store and not yet known to be durable. Its outcome arrives once, from any
// thread; any number of coroutines may wait for it, each resumed on its own executor. It lets a
// record's next writer go ahead as soon as a commit is queued, while this one waits for the fsync.
#pragma once

#include <reqstore/core/record_store.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>

#include <mutex>
#include <optional>
#include <vector>

namespace reqstore::core
{

class pending_commit
{
public:
    // Sets the outcome and resumes every waiter on its executor. Call once. Thread-safe.
    void complete(result<commit_receipt> outcome);

    // The outcome, at once when known, else once complete() is called. Thread-safe.
    [[nodiscard]] boost::asio::awaitable<result<commit_receipt>> wait();

    // Whether complete() was called. Thread-safe.
    [[nodiscard]] bool completed();

private:
    using handler_type = boost::asio::any_completion_handler<void(result<commit_receipt>)>;
    struct waiter
    {
        handler_type handler;
        boost::asio::any_completion_executor work; // keeps the waiter's context running
    };

    void add_waiter(handler_type handler);

    std::mutex mutex_; // guards everything below
    std::optional<result<commit_receipt>> outcome_;
    std::vector<waiter> waiters_;
};

} // namespace reqstore::core
