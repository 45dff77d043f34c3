// Group commit: one write per batch of everything queued since the last one, written by the commit
// thread or by a handler posted to the I/O executor.
#include <reqstore/store/group_commit.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace reqstore::store
{
namespace net = boost::asio;

group_commit::group_commit(net::any_io_executor fallback, flush_function flush, flush_on where)
    : fallback_(std::move(fallback)), flush_(std::move(flush)), on_executor_(where == flush_on::io_executor)
{
    if (!on_executor_)
        thread_ = std::thread([this] { run(); });
}

group_commit::~group_commit()
{
    stop();
}

net::awaitable<core::result<core::commit_receipt>> group_commit::submit(queued_commit entry)
{
    return net::async_initiate<const net::use_awaitable_t<>&, void(core::result<core::commit_receipt>)>(
        [this](auto handler, queued_commit e) { enqueue(std::move(e), handler_type(std::move(handler))); },
        net::use_awaitable, std::move(entry));
}

void group_commit::submit_then(queued_commit entry,
                               std::function<void(core::result<core::commit_receipt>)> done)
{
    enqueue(std::move(entry),
            handler_type([done = std::move(done)](core::result<core::commit_receipt> outcome)
                         { done(std::move(outcome)); }));
}

void group_commit::enqueue(queued_commit entry, handler_type handler)
{
    auto ex = net::get_associated_executor(handler, fallback_);
    waiting w{std::move(entry), std::move(handler),
              net::prefer(ex, net::execution::outstanding_work.tracked)};
    {
        std::lock_guard lock(mutex_);
        if (!stopping_)
        {
            queue_.push_back(std::move(w));
            if (on_executor_)
                post_flush();
            // A busy commit thread takes the queue when its write is done: waking it would only
            // cost a futex call per commit.
            else if (idle_)
                wake_.notify_one();
            return;
        }
    }
    auto refused =
        core::result<core::commit_receipt>(core::failure(core::errc::unavailable, "the store is closed"));
    // Not on an I/O thread of the handler's context, so execute() queues the call rather than
    // running it here.
    w.work.execute([h = std::move(w.handler), r = std::move(refused)]() mutable
                   { std::move(h)(std::move(r)); });
}

void group_commit::post_flush()
{
    // One flush handler queued at a time, none while a batch is written: the flush that ends
    // posts the next one if commits arrived meanwhile. Everything queued until the handler runs
    // (the I/O thread first runs the handlers already ready) joins its batch.
    if (flush_is_posted_ || flushing_ || stopping_)
        return;
    flush_is_posted_ = true;
    net::post(fallback_, [this] { flush_posted(); });
}

void group_commit::flush_posted()
{
    std::vector<waiting> taken;
    {
        std::lock_guard lock(mutex_);
        flush_is_posted_ = false;
        if (flushing_ || queue_.empty())
            return;
        flushing_ = true;
        taken.swap(queue_);
    }
    // However the batch ends (a coroutine resumed inline may throw), the next one can start.
    struct end_of_flush
    {
        group_commit& self;
        ~end_of_flush()
        {
            std::lock_guard lock(self.mutex_);
            self.flushing_ = false;
            self.flushed_.notify_all();
            if (!self.queue_.empty())
                self.post_flush();
        }
    } ending{*this};
    write_batch(taken);
}

void group_commit::stop()
{
    std::vector<waiting> taken;
    {
        std::unique_lock lock(mutex_);
        stopping_ = true;
        wake_.notify_one();
        if (on_executor_)
        {
            // The executor may no longer run (its context stopped): what is queued is written here.
            flushed_.wait(lock, [this] { return !flushing_; });
            taken.swap(queue_);
        }
    }
    if (!taken.empty())
        write_batch(taken);
    if (thread_.joinable())
        thread_.join();
}

void group_commit::write_batch(std::vector<waiting>& taken)
{
    std::vector<queued_commit> batch;
    batch.reserve(taken.size());
    for (auto& w : taken)
        batch.push_back(std::move(w.entry));
    try
    {
        flush_(batch);
    }
    catch (const std::exception& e)
    {
        // Out of memory while encoding, most likely. The batch was not written.
        for (auto& entry : batch)
            entry.outcome = core::failure(core::errc::internal, std::string("commit failed: ") + e.what());
    }
    for (std::size_t i = 0; i < taken.size(); ++i)
    {
        // execute() runs the resumption on the handler's executor (the waiting coroutine's strand):
        // from the commit thread, which runs no I/O context, it queues it there; from a flush
        // handler it may run it at once when already on that executor.
        taken[i].work.execute([h = std::move(taken[i].handler), r = std::move(batch[i].outcome)]() mutable
                              { std::move(h)(std::move(r)); });
    }
    taken.clear();
}

void group_commit::run()
{
    std::vector<waiting> taken;
    for (;;)
    {
        {
            std::unique_lock lock(mutex_);
            idle_ = true;
            wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
            idle_ = false;
            if (queue_.empty())
                return; // stopping, and everything queued has been written
            taken.swap(queue_);
        }
        write_batch(taken);
    }
}

} // namespace reqstore::store
