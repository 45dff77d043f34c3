// Internal to hooks: one outbound connection to a webhook target, and the pool that keeps idle
// keep-alive connections per target for reuse.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace reqstore::hooks::outbound
{

// One connection to one target, used by one coroutine at a time and only on `executor` (its strand:
// Beast's stream timers need one when the io_context has several threads). Exactly one of `plain`
// and `tls` is set once it is opened.
struct connection
{
    explicit connection(boost::asio::any_io_executor strand) : executor(std::move(strand)) {}

    boost::beast::tcp_stream& tcp() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }

    boost::asio::any_io_executor executor;
    std::optional<boost::beast::tcp_stream> plain;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
    boost::beast::flat_buffer buffer{64 * 1024};
};

// Idle keep-alive connections per target, closed after idle_timeout by a sweeper timer. Thread-safe.
// Shared with the sweeper's timer handler (by weak_ptr) so that the client can be destroyed while a
// sweep is scheduled: create it with std::make_shared.
class idle_pool : public std::enable_shared_from_this<idle_pool>
{
public:
    idle_pool(boost::asio::any_io_executor executor, std::size_t max_per_target,
              std::chrono::milliseconds idle_timeout);

    // The most recently used live connection to `key`, or null. Expired and dead ones met on the way
    // are closed.
    std::unique_ptr<connection> take(const std::string& key);

    // Keeps `c` for later reuse, dropping the oldest idle connection to `key` if there are too many.
    // Closes `c` at once after close_all(true), or if the pool keeps none.
    void put(const std::string& key, std::unique_ptr<connection> c);

    // Closes every idle connection; with `for_good`, later put()s close theirs at once too.
    void close_all(bool for_good);

private:
    using clock_type = std::chrono::steady_clock;

    struct entry
    {
        std::unique_ptr<connection> conn;
        clock_type::time_point expires;
    };

    void schedule_sweep_locked(clock_type::time_point when);
    // Closes expired and dead idle connections, then waits for the next expiry, if any. Runs after a
    // cancellation too: a put() may have come after it and relied on this sweep.
    void sweep();

    // Constant after construction.
    const std::size_t max_per_target_;
    const std::chrono::milliseconds idle_timeout_;

    // Guarded by mutex_ (the timer too: it is only touched with the mutex held).
    std::mutex mutex_;
    std::unordered_map<std::string, std::vector<entry>> idle_;
    boost::asio::steady_timer sweeper_;
    bool sweep_scheduled_ = false;
    bool closed_ = false;
};

} // namespace reqstore::hooks::outbound
