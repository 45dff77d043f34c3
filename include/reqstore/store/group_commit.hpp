// Group commit: coroutines queue their commits; one writer takes everything queued since its last
// write, hands it to the flush function as one batch (one write), and resumes each waiting
// coroutine on its own executor with its own outcome.
//
// The writer is either a commit thread of its own, for synced writes (an fsync must not stop an
// I/O thread), or a handler posted to the I/O executor, for writes that are not synced: those take
// microseconds, and handing them to another thread cost more (a futex wake, two context switches
// and lock handoffs per batch on a busy core) than the write itself.
#pragma once

#include <reqstore/core/record_store.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace reqstore::store
{

struct queued_commit
{
    core::commit_request request;
    std::string encoded_version;                // made before queuing, off the commit thread
    core::result<core::commit_receipt> outcome; // set by the flush function
};

// Where batches are written.
enum class flush_on
{
    commit_thread, // a thread of the group commit's own
    io_executor,   // a handler posted to the fallback executor; one batch at a time
};

class group_commit
{
public:
    // Writes the whole batch atomically and sets every entry's outcome. Runs one batch at a time,
    // on the commit thread or on the executor (see flush_on).
    using flush_function = std::function<void(std::vector<queued_commit>& batch)>;

    // `fallback` executes completions whose handler has no executor of its own.
    group_commit(boost::asio::any_io_executor fallback, flush_function flush,
                 flush_on where = flush_on::commit_thread);
    // Stops (see stop()) if still running. With flush_on::io_executor, destroy it only once the
    // executor no longer runs the handlers it was given (its context stopped or its threads
    // joined): a flush handler posted and not yet run refers to this object.
    ~group_commit();

    group_commit(const group_commit&) = delete;
    group_commit& operator=(const group_commit&) = delete;

    // Queues `entry` for the next batch and completes once that batch is written (or failed).
    // Thread-safe. After stop(), completes at once with errc::unavailable.
    [[nodiscard]] boost::asio::awaitable<core::result<core::commit_receipt>> submit(queued_commit entry);

    // Queues `entry` at once and calls `done` with its outcome once its batch is written (or
    // failed), on an executor of `fallback`. Thread-safe.
    void submit_then(queued_commit entry, std::function<void(core::result<core::commit_receipt>)> done);

    // Writes what is queued, then ends the commit thread (with flush_on::io_executor: waits for a
    // batch being written, then writes what is queued on the calling thread). Idempotent. Must not
    // be called from the commit thread or from a flush.
    void stop();

private:
    using handler_type = boost::asio::any_completion_handler<void(core::result<core::commit_receipt>)>;
    struct waiting
    {
        queued_commit entry;
        handler_type handler;
        boost::asio::any_completion_executor work; // keeps the handler's context running until completion
    };

    void enqueue(queued_commit entry, handler_type handler);
    void run();                                    // the commit thread
    void flush_posted();                           // the handler posted with flush_on::io_executor
    void post_flush();                             // with mutex_ held
    void write_batch(std::vector<waiting>& taken); // flushes and completes every waiter

    // Constant after construction.
    boost::asio::any_io_executor fallback_;
    flush_function flush_;
    bool on_executor_;

    // Guarded by mutex_.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<waiting> queue_;
    bool stopping_ = false;
    bool idle_ = false;               // the commit thread waits for work
    bool flush_is_posted_ = false;    // flush_on::io_executor: a flush handler is queued
    bool flushing_ = false;           // flush_on::io_executor: a batch is being written
    std::condition_variable flushed_; // flushing_ became false

    std::thread thread_; // flush_on::commit_thread; started once everything above is constructed
};

} // namespace reqstore::store
