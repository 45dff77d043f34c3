// The outbound HTTP(S) client for webhook deliveries: resolve, check every address against the
// network policy, connect only to a checked address (no second lookup, so no DNS rebinding),
// verify TLS certificates and host names, never follow redirects, read at most 64 KiB of the
// answer, and bound every attempt by a timeout. Connections are kept alive and reused per target.
#pragma once

#include <reqstore/hooks/network_policy.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace reqstore::hooks
{

struct client_options
{
    std::string ca_file;                            // an extra CA (PEM) besides the system's; "" for none
    std::size_t max_response_bytes = 64 * 1024;     // what is read of an answer's body at most
    std::size_t max_idle_per_target = 8;            // idle keep-alive connections kept per target
    std::chrono::milliseconds idle_timeout{30'000}; // an idle connection is closed after this
};

struct post_request
{
    std::string url; // absolute http or https URL
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;                          // sent as application/json
    std::chrono::milliseconds timeout{10'000}; // the whole attempt: resolve, connect, TLS, send, answer
};

struct post_result
{
    enum class outcome
    {
        responded, // an HTTP answer arrived: see status
        refused,   // the network policy refused every address the target resolved to; nothing was sent
        failed,    // no answer: resolution, connection, TLS, timeout or protocol error (see error)
    };
    outcome what = outcome::failed;
    unsigned status = 0; // when responded
    std::string error;   // when refused or failed: a sentence for the delivery log
    std::chrono::microseconds latency{0};
    std::string body; // the first max_response_bytes of the answer's body
};

class http_client
{
public:
    // `policy` must outlive the client. Fails (throws std::runtime_error) only if the TLS context
    // cannot be set up, e.g. an unreadable ca_file.
    http_client(boost::asio::any_io_executor executor, const network_policy& policy, client_options options);
    ~http_client();

    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // POSTs the request. Never throws for network trouble: every outcome is a post_result.
    // Safe to call from any coroutine, concurrently.
    boost::asio::awaitable<post_result> post(post_request request);

    // Closes idle connections (shutdown). Thread-safe.
    void close_idle();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace reqstore::hooks
