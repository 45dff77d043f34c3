// A small pool of PostgreSQL connections (connection.hpp) that reconnects by itself: a caller asks
// for a connection until a deadline and gets one that is connected, set up (`on_connect`) and
// usable, or a failure it can answer as "store unavailable" at once. After a failed connection
// attempt the pool waits (exponential backoff, `min_backoff` doubling up to `max_backoff`) before
// the next one, so that a database that is down is not flooded.
#pragma once

#include <reqstore/store/pg/connection.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace reqstore::store::pg
{

struct pool_options
{
    std::string conninfo;
    std::size_t size = 4; // connections at most
    // Run on every new connection before it is handed out (a search_path, LISTEN); a failure
    // drops the connection.
    std::function<boost::asio::awaitable<query_result<void>>(connection&)> on_connect;
    std::chrono::milliseconds min_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    std::string name = "pool"; // in logs
};

class pool
{
    struct state; // pool.cpp

public:
    pool(boost::asio::any_io_executor executor, pool_options options);
    ~pool();

    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // A connection lent to one caller; back to the pool when destroyed (dropped instead if it is
    // no longer usable). It keeps the pool's state alive: a lease may outlive the pool object (a
    // coroutine frame destroyed after it), and then its connection is dropped.
    class lease
    {
    public:
        lease() = default;
        lease(lease&&) noexcept;
        lease& operator=(lease&&) noexcept;
        ~lease();
        connection& operator*() const noexcept { return *connection_; }
        connection* operator->() const noexcept { return connection_.get(); }

    private:
        friend class pool;
        lease(std::shared_ptr<state> owner, std::unique_ptr<connection> c);
        std::shared_ptr<state> owner_;
        std::unique_ptr<connection> connection_;
    };

    // A usable connection: an idle one, or a new one when fewer than `size` exist, or the next one
    // given back. Fails with not_connected when none is available by `deadline`, when the backoff
    // after a failed attempt runs past it, or once the pool is closed. Thread-safe.
    [[nodiscard]] boost::asio::awaitable<query_result<lease>> acquire(clock::time_point deadline);

    // Fails every waiting and later acquire(); drops idle connections. Leases still out are
    // dropped when they come back. Thread-safe.
    void close();

    // For /metrics. Thread-safe.
    std::size_t in_use() const noexcept;
    std::uint64_t reconnects() const noexcept; // connections made after the first `size`
    bool connected() const noexcept;           // the last connection attempt succeeded

private:
    std::shared_ptr<state> state_;
};

} // namespace reqstore::store::pg
