// Serializes the mutations of each record: a fixed array of strands indexed by the id's hash
// (RocksDB's Striped<T>), and on each strand a FIFO queue per id, so that the writes to one record
// run one at a time in arrival order while writes to other records run in parallel. When one thread
// runs every caller, the stripes need no strand: a write then runs in its caller's coroutine instead
// of a coroutine spawned onto the stripe's strand (a spawn, two strand hops and a frame per write).
#pragma once

#include <reqstore/core/write_serialization.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace reqstore::core
{

class record_locks
{
public:
    // `one_thread`: every coroutine that calls run_exclusive runs on one and the same thread.
    explicit record_locks(boost::asio::any_io_executor executor, bool one_thread = false,
                          std::size_t stripe_count = 256);

    // Runs `op` on the strand of `id` once every earlier op for `id` has finished, and
    // returns its result (exceptions propagate). The lock is held for the whole of `op`,
    // across its awaits: the next writer must see the version this one commits.
    template <class T>
    boost::asio::awaitable<T> run_exclusive(std::string id, boost::asio::awaitable<T> op)
    {
        // Off only in the crash test's negative control, through a link seam (write_serialization.hpp).
        if (!serialize_record_writes())
            co_return co_await std::move(op);
        stripe& s = stripe_for(id);
        if (one_thread_)
            co_return co_await locked(s, std::move(id), std::move(op));
        co_return co_await boost::asio::co_spawn(s.strand, locked(s, std::move(id), std::move(op)),
                                                 boost::asio::use_awaitable);
    }

private:
    struct stripe
    {
        explicit stripe(boost::asio::any_io_executor ex) : strand(boost::asio::make_strand(ex)) {}

        boost::asio::strand<boost::asio::any_io_executor> strand;
        // Only on `strand` (or on the one thread): an entry exists while its id is locked; the
        // deque holds the timers of the coroutines waiting for it, woken one by one (cancel) in
        // FIFO order.
        std::unordered_map<std::string, std::deque<boost::asio::steady_timer*>> held;

        boost::asio::awaitable<void> acquire(const std::string& id);
        void release(const std::string& id);
    };

    struct release_on_exit
    {
        stripe& s;
        const std::string& id;
        ~release_on_exit() { s.release(id); }
    };

    template <class T>
    static boost::asio::awaitable<T> locked(stripe& s, std::string id, boost::asio::awaitable<T> op)
    {
        co_await s.acquire(id);
        release_on_exit guard{s, id};
        co_return co_await std::move(op);
    }

    stripe& stripe_for(std::string_view id);

    // Constant after construction.
    bool one_thread_;
    std::vector<std::unique_ptr<stripe>> stripes_;
};

} // namespace reqstore::core
