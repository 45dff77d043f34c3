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

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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

class listener;
class session_drain;

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

    bool draining() const noexcept;
    // The cap on connections open at once, as enforced: limits.max_connections lowered to what the
    // open-file limit allows (0 before start()).
    std::size_t connection_cap() const noexcept;
    std::chrono::milliseconds write_timeout() const noexcept { return limits_.write_timeout; }

private:
    // Constant after construction. The sessions refer to limits_ and to the drain, which is
    // therefore destroyed after the listener.
    const server_limits limits_;
    std::unique_ptr<session_drain> sessions_;
    std::unique_ptr<listener> listener_;
};

} // namespace reqstore::http
