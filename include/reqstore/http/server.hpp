// The HTTP/1.1 server: a coroutine accept loop, one coroutine per connection on its own strand,
// the limits and deadlines of the contract (section 9), and a graceful drain.
#pragma once

#include <reqstore/auth/keys.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/core/errc.hpp>
#include <reqstore/http/router.hpp>
#include <reqstore/ops/metrics.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace reqstore::http
{

struct server_limits
{
    std::size_t max_body_bytes = 1 << 20;
    std::size_t max_header_bytes = 16 << 10;
    std::chrono::milliseconds idle_timeout{60'000};   // between requests on a keep-alive connection
    std::chrono::milliseconds header_timeout{10'000}; // from a request's first byte to its last header
    std::chrono::milliseconds body_timeout{30'000};   // for the whole body
    std::chrono::milliseconds write_timeout{30'000};  // for the whole answer
};

class server
{
public:
    // `routes`, `keys`, `limiter` and `stats` must outlive the server.
    server(boost::asio::io_context& io, server_limits limits, const router& routes,
           const auth::key_registry& keys, auth::rate_limiter& limiter, ops::metrics& stats, bool access_log);
    ~server();

    // Binds and listens. Returns the bound endpoint (the real port when `port` is 0), or a
    // message saying why it could not.
    core::result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, std::uint16_t port);

    // Starts accepting connections (after listen()).
    void start();

    // Stops accepting, lets requests in flight finish and answer with `Connection: close`,
    // closes idle connections at once, and completes when every connection is closed or when
    // `deadline` has passed (the rest are then closed).
    boost::asio::awaitable<void> drain(std::chrono::milliseconds deadline);
    // The same, calling `wake_streams` once draining is set, so that streamed answers waiting for
    // news notice it and end.
    boost::asio::awaitable<void> drain_with(std::function<void()> wake_streams,
                                            std::chrono::milliseconds deadline);

    bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }
    std::chrono::milliseconds write_timeout() const noexcept { return limits_.write_timeout; }

    struct connection; // one open connection, as the drain sees it (defined in session.cpp)

private:
    friend struct session_access;

    boost::asio::awaitable<void> accept_loop();

    boost::asio::io_context& io_;
    const server_limits limits_;
    const router& routes_;
    const auth::key_registry& keys_;
    auth::rate_limiter& limiter_;
    ops::metrics& stats_;
    const bool access_log_;

    boost::asio::strand<boost::asio::io_context::executor_type> acceptor_strand_;
    boost::asio::ip::tcp::acceptor acceptor_; // only on acceptor_strand_
    std::atomic<bool> draining_{false};

    std::mutex connections_mutex_; // guards connections_ and next_connection_id_
    std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections_;
    std::uint64_t next_connection_id_ = 0;
};

} // namespace reqstore::http
