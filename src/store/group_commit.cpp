// The commit thread: one synced write per batch of everything queued since the last one.
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

group_commit::group_commit(net::any_io_executor fallback, flush_function flush)
    : fallback_(std::move(fallback)), flush_(std::move(flush)), thread_([this] { run(); })
{
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
            // A busy commit thread takes the queue when its write is done: waking it would only
            // cost a futex call per commit.
            if (idle_)
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

void group_commit::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        wake_.notify_one();
    }
    if (thread_.joinable())
        thread_.join();
}

void group_commit::run()
{
    std::vector<waiting> taken;
    std::vector<queued_commit> batch;
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
        batch.clear();
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
                entry.outcome =
                    core::failure(core::errc::internal, std::string("commit failed: ") + e.what());
        }
        for (std::size_t i = 0; i < taken.size(); ++i)
        {
            // The commit thread runs no I/O context, so execute() queues the resumption on the
            // handler's executor (the waiting coroutine's strand) instead of running it here.
            taken[i].work.execute([h = std::move(taken[i].handler), r = std::move(batch[i].outcome)]() mutable
                                  { std::move(h)(std::move(r)); });
        }
        taken.clear();
    }
}

} // namespace reqstore::store
