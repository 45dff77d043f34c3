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
    // Connections open at once, over all clients and from one remote address; 0 means no cap of
    // its own. A connection over either cap is answered 503 (when that can be written at once)
    // and closed as soon as it is accepted. The total never exceeds what the open-file limit
    // allows, with a reserve kept for the store and the webhook client.
    std::size_t max_connections = 16384;
    std::size_t max_connections_per_address = 1024;
};

// Raises the process's soft limit on open files (RLIMIT_NOFILE) to its hard limit, so that the
// connection cap, not the kernel, decides how many clients are served. Returns the soft limit in
// force afterwards. Call once at startup, before serving.
std::uint64_t raise_open_files_limit() noexcept;

class server
{
public:
    // `routes`, `keys`, `limiter` and `stats` must outlive the server.
    server(boost::asio::io_context& io, server_limits limits, const router& routes,
           const auth::key_registry& keys, auth::rate_limiter& limiter, ops::metrics& stats, bool access_log);
    ~server();

    // Binds and listens. Returns the bound endpoint (the real port when `port` is 0), or a
    // message saying why it could not.
    [[nodiscard]] core::result<boost::asio::ip::tcp::endpoint> listen(const std::string& host,
                                                                      std::uint16_t port);

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
    // The cap on connections open at once, as enforced: limits.max_connections lowered to what the
    // open-file limit allows (0 before start()).
    std::size_t connection_cap() const noexcept { return connection_cap_.load(std::memory_order_relaxed); }
    std::chrono::milliseconds write_timeout() const noexcept { return limits_.write_timeout; }

    struct connection; // one open connection, as the drain sees it (defined in session.cpp)

private:
    friend struct session_access;

    boost::asio::awaitable<void> accept_loop();

    enum class admission
    {
        admitted,
        over_total_cap,
        over_address_cap,
    };
    // Counts a new connection from `remote` against the caps, or says which cap refuses it.
    admission admit(const boost::asio::ip::address& remote);
    // Gives back what admit() counted, once the connection is closed.
    void release(const boost::asio::ip::address& remote);
    // Counts a refused connection and logs it, at most once a second. Only on acceptor_strand_.
    void note_refusal(const boost::asio::ip::address& remote, admission why);

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

    std::atomic<std::size_t> connection_cap_{0}; // set by start(), then constant

    std::mutex admission_mutex_; // guards admitted_ and admitted_by_address_
    std::size_t admitted_ = 0;
    std::unordered_map<boost::asio::ip::address, std::size_t> admitted_by_address_;

    // Only on acceptor_strand_: the pacing of the refusal and accept-failure logs (one line a
    // second at most, however hard the flood).
    std::chrono::steady_clock::time_point next_refusal_log_{};
    std::uint64_t refusals_unlogged_ = 0;
    std::chrono::steady_clock::time_point next_accept_failure_log_{};
    std::uint64_t accept_failures_unlogged_ = 0;

    std::mutex connections_mutex_; // guards connections_ and next_connection_id_
    std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections_;
    std::uint64_t next_connection_id_ = 0;
};

} // namespace reqstore::http
