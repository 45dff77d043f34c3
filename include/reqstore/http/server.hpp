// The HTTP/1.1 server: a coroutine accept loop per listening address, plain or over TLS, one
// coroutine per connection on its own strand, the limits and deadlines of the contract (section 9),
// a reloadable TLS identity (section 14), and a graceful drain.
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
#include <vector>

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

// The server's TLS identity (section 14 of the contract). The files are PEM.
struct tls_settings
{
    std::string cert_file;           // the certificate, followed by its chain
    std::string key_file;            // the certificate's private key
    std::string client_ca_file;      // "": no client certificate; else one that chains to these is required
    std::string min_version = "1.2"; // "1.2" or "1.3"
};

// What a listening address speaks.
enum class transport
{
    plain, // HTTP
    tls,   // HTTPS, with the identity given to use_tls()
};

// Raises the process's soft limit on open files (RLIMIT_NOFILE) to its hard limit, so that the
// connection cap, not the kernel, decides how many clients are served. Returns the soft limit in
// force afterwards. Call once at startup, before serving.
std::uint64_t raise_open_files_limit() noexcept;

class connection_caps;
class listener;
class session_drain;
class tls_identity;

class server
{
public:
    // `routes`, `keys`, `limiter` and `stats` must outlive the server. `one_io_thread`: only one
    // thread runs `io`, so a connection needs no strand of its own (one thread cannot run two of its
    // handlers at once), and its handlers are spared the strand's queue and lock.
    server(boost::asio::io_context& io, server_limits limits, const router& routes,
           const auth::key_registry& keys, auth::rate_limiter& limiter, ops::metrics& stats, bool access_log,
           bool one_io_thread = false);
    ~server();

    // Loads the TLS identity that listeners with transport::tls use. Returns a failure naming the
    // file and the reason when it cannot. Call before listen() with transport::tls.
    [[nodiscard]] core::result<void> use_tls(tls_settings settings);

    // Reads the TLS identity's files again: connections accepted afterwards use the new one, open
    // connections keep theirs. On failure the old identity stays and the failure says why (also
    // when no identity was loaded). Thread-safe.
    [[nodiscard]] core::result<void> reload_tls();

    // Whether use_tls() loaded an identity.
    bool has_tls() const noexcept { return tls_ != nullptr; }

    // Binds and listens on one more address. Returns the bound endpoint (the real port when `port`
    // is 0), or a message saying why it could not. Every listener shares the connection caps.
    [[nodiscard]] core::result<boost::asio::ip::tcp::endpoint>
    listen(const std::string& host, std::uint16_t port, transport how = transport::plain);

    // Starts accepting connections on every address (after listen()).
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
    // Constant after construction. The sessions refer to limits_, the drain, the caps and the TLS
    // identity, which are therefore destroyed after the listeners.
    boost::asio::io_context& io_;
    const server_limits limits_;
    const router& routes_;
    const auth::key_registry& keys_;
    auth::rate_limiter& limiter_;
    ops::metrics& stats_;
    const bool access_log_;
    const bool one_io_thread_;
    std::unique_ptr<session_drain> sessions_;
    std::unique_ptr<connection_caps> caps_;
    // Set before start(), then constant (the identity itself reloads under its own lock).
    std::unique_ptr<tls_identity> tls_;
    std::vector<std::unique_ptr<listener>> listeners_;
};

} // namespace reqstore::http
