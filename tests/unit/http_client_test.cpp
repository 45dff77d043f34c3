// Unit tests for the webhook client (http_client.hpp) against a receiver owned by the test, on real
// sockets on 127.0.0.1: the network policy, status codes, the body cap, the deadline, keep-alive reuse,
// and HTTPS with certificates made by the `openssl` command at test time. Every run is bounded.
#include <reqstore/hooks/http_client.hpp>
#include <reqstore/hooks/network_policy.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

namespace
{

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using net::as_tuple;
using net::use_awaitable;
using reqstore::hooks::cidr;
using reqstore::hooks::client_options;
using reqstore::hooks::http_client;
using reqstore::hooks::network_policy;
using reqstore::hooks::post_request;
using reqstore::hooks::post_result;
using namespace std::chrono_literals;

// --- the receiver -----------------------------------------------------------------------------------------

struct behaviour
{
    std::string body = "ok";          // the answer's body, unless huge_body
    std::size_t huge_body = 0;        // answer with this many 'x' instead
    bool chunked = false;             // send the body chunked
    bool close_after_answer = false;  // "Connection: close", then close
    bool never_answer = false;        // read the request, then say nothing
    bool drop_second_request = false; // on every connection: answer one request, then close on the next
};

struct seen_request
{
    std::string method;
    std::string target;
    std::string host;
    std::string content_type;
    std::string user_agent;
    std::string custom;
    std::string body;
};

// An HTTP(S) receiver on 127.0.0.1 with an ephemeral port. Answers `/status/<code>` with that code and
// anything else with 200. Counts what it sees; safe to read while it runs (mutex).
class receiver
{
public:
    receiver(net::io_context& ioc, behaviour b, ssl::context* tls = nullptr)
        : ioc_(ioc), acceptor_(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
          behaviour_(std::move(b)), tls_(tls)
    {
        port_ = acceptor_.local_endpoint().port();
        net::co_spawn(acceptor_.get_executor(), accept_loop(), net::detached);
    }

    unsigned short port() const { return port_; }

    // Stops accepting; sessions end when their clients close.
    void stop() { acceptor_.close(); }
    std::string url(const std::string& path, const std::string& host = "127.0.0.1") const
    {
        return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port()) + path;
    }

    int connections() const
    {
        std::lock_guard lock(mutex_);
        return connections_;
    }
    int closed_by_client() const
    {
        std::lock_guard lock(mutex_);
        return closed_by_client_;
    }
    std::vector<seen_request> requests() const
    {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    net::awaitable<void> accept_loop()
    {
        for (;;)
        {
            auto [ec, socket] =
                co_await acceptor_.async_accept(net::make_strand(ioc_), as_tuple(use_awaitable));
            if (ec)
                co_return;
            {
                std::lock_guard lock(mutex_);
                ++connections_;
            }
            const auto ex = socket.get_executor();
            net::co_spawn(ex, session(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> session(tcp::socket socket)
    {
        if (!tls_)
        {
            beast::tcp_stream stream(std::move(socket));
            co_await serve(stream);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
        beast::get_lowest_layer(stream).expires_after(10s);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, as_tuple(use_awaitable));
        if (!ec) // a client that refuses our certificate ends here
            co_await serve(stream);
    }

    template <class Stream>
    net::awaitable<void> serve(Stream& stream)
    {
        beast::flat_buffer buffer;
        for (int on_this_connection = 1;; ++on_this_connection)
        {
            bhttp::request<bhttp::string_body> req;
            beast::get_lowest_layer(stream).expires_after(10s);
            auto [ec, n] = co_await bhttp::async_read(stream, buffer, req, as_tuple(use_awaitable));
            if (ec)
            {
                if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
                    ec == net::ssl::error::stream_truncated || ec == net::error::connection_reset)
                {
                    std::lock_guard lock(mutex_);
                    ++closed_by_client_;
                }
                co_return;
            }
            record(req);
            if (behaviour_.drop_second_request && on_this_connection == 2)
                co_return; // closes without a word, as a server whose idle timeout just struck
            if (behaviour_.never_answer)
            {
                net::steady_timer forever(stream.get_executor(), 60s);
                co_await forever.async_wait(as_tuple(use_awaitable));
                co_return;
            }

            bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
            const std::string_view target = req.target();
            if (target.starts_with("/status/"))
                res.result(std::stoi(std::string(target.substr(8))));
            if (res.result_int() / 100 == 3)
                res.set(bhttp::field::location, "/elsewhere");
            if (res.result() != bhttp::status::no_content) // which must not have a body
                res.body() = behaviour_.huge_body ? std::string(behaviour_.huge_body, 'x') : behaviour_.body;
            res.keep_alive(!behaviour_.close_after_answer);
            if (behaviour_.chunked)
                res.chunked(true);
            else
                res.prepare_payload();
            beast::get_lowest_layer(stream).expires_after(10s);
            auto [write_ec, written] = co_await bhttp::async_write(stream, res, as_tuple(use_awaitable));
            if (write_ec || behaviour_.close_after_answer)
                co_return;
        }
    }

    void record(const bhttp::request<bhttp::string_body>& req)
    {
        const auto field = [&](auto name)
        {
            return std::string(req[name]);
        };
        std::lock_guard lock(mutex_);
        requests_.push_back({std::string(req.method_string()), std::string(req.target()),
                             field(bhttp::field::host), field(bhttp::field::content_type),
                             field(bhttp::field::user_agent), field("x-custom"), req.body()});
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    const behaviour behaviour_;
    ssl::context* tls_;
    unsigned short port_ = 0;

    mutable std::mutex mutex_;
    int connections_ = 0;                // guarded by mutex_
    int closed_by_client_ = 0;           // guarded by mutex_
    std::vector<seen_request> requests_; // guarded by mutex_
};

// --- running a test body ----------------------------------------------------------------------------------

// Runs `body` on `ioc` and stops when it ends; fails the test if it has not ended within `limit`.
void run_bounded(net::io_context& ioc, net::awaitable<void> body, std::chrono::seconds limit = 20s)
{
    bool done = false;
    std::exception_ptr failure;
    net::co_spawn(ioc, std::move(body),
                  [&](std::exception_ptr e)
                  {
                      done = true;
                      failure = e;
                      ioc.stop();
                  });
    ioc.run_for(limit);
    ASSERT_TRUE(done) << "the test body did not finish within " << limit.count() << " s";
    if (failure)
        std::rethrow_exception(failure);
}

post_request request_to(std::string url, std::chrono::milliseconds timeout = 5s)
{
    post_request r;
    r.url = std::move(url);
    r.body = R"({"type":"request.created"})";
    r.timeout = timeout;
    return r;
}

// Posts `request` `times` times, one after the other, pausing `pause` between posts.
net::awaitable<void> post_times(http_client& client, post_request request, int times,
                                std::vector<post_result>& out, std::chrono::milliseconds pause = 0ms)
{
    for (int i = 0; i < times; ++i)
    {
        if (i > 0 && pause > 0ms)
        {
            net::steady_timer t(co_await net::this_coro::executor, pause);
            co_await t.async_wait(use_awaitable);
        }
        out.push_back(co_await client.post(request));
    }
}

net::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    net::steady_timer t(co_await net::this_coro::executor, d);
    co_await t.async_wait(use_awaitable);
}

// Posts once, then waits until the receiver has seen the client close a connection (or `limit` passes).
net::awaitable<void> post_then_wait_for_close(http_client& client, post_request request, const receiver& rx,
                                              post_result& out, bool close_idle,
                                              std::chrono::milliseconds limit)
{
    out = co_await client.post(std::move(request));
    if (close_idle)
        client.close_idle();
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (rx.closed_by_client() == 0 && std::chrono::steady_clock::now() < give_up)
        co_await sleep_for(10ms);
}

network_policy allowing_loopback()
{
    return network_policy({*cidr::parse("127.0.0.0/8"), *cidr::parse("::1/128")});
}

// --- the network policy -----------------------------------------------------------------------------------

TEST(HttpClient, PostReachesAnAllowedLoopbackReceiver)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    post_request request = request_to(rx.url("/hooks/in?tenant=7"));
    request.headers = {{"x-custom", "abc"}, {"webhook-id", "evt_1"}};
    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request, 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::responded) << results[0].error;
    EXPECT_EQ(results[0].status, 200u);
    EXPECT_EQ(results[0].body, "ok");
    EXPECT_GT(results[0].latency.count(), 0);
    const auto seen = rx.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].target, "/hooks/in?tenant=7");
    EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(rx.port()));
    EXPECT_EQ(seen[0].content_type, "application/json");
    EXPECT_EQ(seen[0].user_agent, "reqstore-webhooks");
    EXPECT_EQ(seen[0].custom, "abc");
    EXPECT_EQ(seen[0].body, R"({"type":"request.created"})");
}

TEST(HttpClient, LoopbackIsRefusedByAnEmptyPolicyAndNothingConnects)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy;
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::refused);
    EXPECT_EQ(results[0].error, "the network policy refuses 127.0.0.1 (loopback)");
    EXPECT_EQ(rx.connections(), 0);
}

TEST(HttpClient, HostNameResolvingToLoopbackIsRefused)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy;
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/", "localhost")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::refused) << results[0].error;
    EXPECT_EQ(results[0].error,
              "the network policy refuses every address of localhost: 127.0.0.1 (loopback)");
    EXPECT_EQ(rx.connections(), 0);
}

TEST(HttpClient, HostNameResolvingToAnAllowedAddressIsReached)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/", "localhost")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::responded) << results[0].error;
    ASSERT_EQ(rx.requests().size(), 1u);
    EXPECT_EQ(rx.requests()[0].host, "localhost:" + std::to_string(rx.port()));
}

TEST(HttpClient, BadUrlsFailWithoutConnecting)
{
    net::io_context ioc;
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    const std::vector<std::pair<const char*, const char*>> cases = {
        {"ftp://127.0.0.1/x", "unsupported URL scheme (only http and https)"},
        {"not a url", "not an absolute URL"},
        {"/relative/path", "not an absolute URL"},
        {"http://user:pw@127.0.0.1/", "URLs with user information are not supported"},
        {"http://127.0.0.1:99999/", "invalid port in URL"},
        {"http://127.0.0.1:0/", "invalid port in URL"},
        {"http://exa%0d%0ample.com/", "invalid host name in URL"},
        {"https:///path", "URL without a usable host"},
    };
    for (const auto& [url, expected] : cases)
    {
        std::vector<post_result> results;
        run_bounded(ioc, post_times(client, request_to(url), 1, results));
        ioc.restart();
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].what, post_result::outcome::failed) << url;
        EXPECT_EQ(results[0].error, expected) << url;
    }
}

TEST(HttpClient, ConnectionRefusedIsAFailure)
{
    net::io_context ioc;
    unsigned short closed_port = 0;
    {
        tcp::acceptor probe(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        closed_port = probe.local_endpoint().port();
    }
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to("http://127.0.0.1:" + std::to_string(closed_port) + "/"),
                                1, results));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::failed);
    EXPECT_EQ(results[0].error, "cannot connect to 127.0.0.1: Connection refused");
}

TEST(HttpClient, SpecialAddressLiteralsAreRefused)
{
    net::io_context ioc;
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    const std::vector<std::pair<const char*, const char*>> cases = {
        {"http://169.254.169.254/latest/meta-data",
         "the network policy refuses 169.254.169.254 (link-local)"},
        {"http://10.0.0.1:8080/", "the network policy refuses 10.0.0.1 (private)"},
        {"https://[fe80::1]/", "the network policy refuses fe80::1 (link-local)"},
        {"http://[::ffff:192.168.0.1]/", "the network policy refuses ::ffff:192.168.0.1 (private)"},
        {"http://0.0.0.0:9/", "the network policy refuses 0.0.0.0 (unspecified)"},
    };
    for (const auto& [url, expected] : cases)
    {
        std::vector<post_result> results;
        run_bounded(ioc, post_times(client, request_to(url), 1, results));
        ioc.restart();
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].what, post_result::outcome::refused) << url;
        EXPECT_EQ(results[0].error, expected) << url;
    }
}

// --- answers ----------------------------------------------------------------------------------------------

TEST(HttpClient, StatusCodesPassThroughAndRedirectsAreNotFollowed)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    for (const unsigned status : {200u, 204u, 302u, 410u, 500u})
    {
        std::vector<post_result> results;
        run_bounded(ioc,
                    post_times(client, request_to(rx.url("/status/" + std::to_string(status))), 1, results));
        ioc.restart();
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].what, post_result::outcome::responded) << results[0].error;
        EXPECT_EQ(results[0].status, status);
    }
    // The 302 pointed at /elsewhere, which nobody asked for.
    for (const auto& seen : rx.requests())
        EXPECT_NE(seen.target, "/elsewhere");
    EXPECT_EQ(rx.requests().size(), 5u);
}

TEST(HttpClient, HugeAnswerBodyIsCappedAndTheConnectionNotReused)
{
    net::io_context ioc;
    behaviour b;
    b.huge_body = 4 * 1024 * 1024;
    receiver rx(ioc, b);
    const network_policy policy = allowing_loopback();
    client_options options;
    options.max_response_bytes = 1000;
    http_client client(ioc.get_executor(), policy, options);

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/status/200")), 2, results));

    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results)
    {
        EXPECT_EQ(r.what, post_result::outcome::responded) << r.error;
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.body, std::string(1000, 'x'));
    }
    EXPECT_EQ(rx.connections(), 2);
}

TEST(HttpClient, HugeChunkedAnswerBodyIsCapped)
{
    net::io_context ioc;
    behaviour b;
    b.huge_body = 1024 * 1024;
    b.chunked = true;
    receiver rx(ioc, b);
    const network_policy policy = allowing_loopback();
    client_options options;
    options.max_response_bytes = 64 * 1024;
    http_client client(ioc.get_executor(), policy, options);

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/status/500")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::responded) << results[0].error;
    EXPECT_EQ(results[0].status, 500u);
    EXPECT_EQ(results[0].body.size(), 64u * 1024);
}

TEST(HttpClient, BodyAtExactlyTheLimitIsKeptWhole)
{
    net::io_context ioc;
    behaviour b;
    b.huge_body = 1000;
    receiver rx(ioc, b);
    const network_policy policy = allowing_loopback();
    client_options options;
    options.max_response_bytes = 1000;
    http_client client(ioc.get_executor(), policy, options);

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/")), 2, results));

    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[1].body, std::string(1000, 'x'));
    EXPECT_EQ(rx.connections(), 1); // complete, so the connection was kept
}

TEST(HttpClient, SilentReceiverTimesOutWithinTheTimeout)
{
    net::io_context ioc;
    behaviour b;
    b.never_answer = true;
    receiver rx(ioc, b);
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    const auto start = std::chrono::steady_clock::now();
    run_bounded(ioc, post_times(client, request_to(rx.url("/"), 300ms), 1, results));
    const auto elapsed = std::chrono::steady_clock::now() - start;

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::failed);
    EXPECT_EQ(results[0].error, "timed out after 300 ms waiting for the answer");
    EXPECT_GE(elapsed, 300ms);
    EXPECT_LT(elapsed, 1300ms);
    EXPECT_EQ(rx.requests().size(), 1u);
}

// --- keep-alive -------------------------------------------------------------------------------------------

TEST(HttpClient, KeepAliveReusesOneConnection)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/")), 5, results));

    ASSERT_EQ(results.size(), 5u);
    for (const auto& r : results)
        EXPECT_EQ(r.status, 200u) << r.error;
    EXPECT_EQ(rx.connections(), 1);
    EXPECT_EQ(rx.requests().size(), 5u);
}

TEST(HttpClient, ReceiverClosingAfterEachAnswerStillWorks)
{
    net::io_context ioc;
    behaviour b;
    b.close_after_answer = true;
    receiver rx(ioc, b);
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/")), 5, results));

    ASSERT_EQ(results.size(), 5u);
    for (const auto& r : results)
        EXPECT_EQ(r.status, 200u) << r.error;
    EXPECT_EQ(rx.connections(), 5);
}

TEST(HttpClient, PooledConnectionFoundDeadIsRetriedOnceOnAFreshOne)
{
    net::io_context ioc;
    behaviour b;
    b.drop_second_request = true;
    receiver rx(ioc, b);
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/")), 3, results));

    ASSERT_EQ(results.size(), 3u);
    for (const auto& r : results)
    {
        EXPECT_EQ(r.what, post_result::outcome::responded) << r.error;
        EXPECT_EQ(r.status, 200u);
    }
    // Posts 2 and 3 each met a dropped connection first: 1 + 2 + 2 requests on 3 connections.
    EXPECT_EQ(rx.connections(), 3);
    EXPECT_EQ(rx.requests().size(), 5u);
}

TEST(HttpClient, IdleConnectionIsClosedAfterTheIdleTimeout)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    client_options options;
    options.idle_timeout = 150ms;
    http_client client(ioc.get_executor(), policy, options);

    post_result result;
    run_bounded(ioc, post_then_wait_for_close(client, request_to(rx.url("/")), rx, result, false, 3s));

    EXPECT_EQ(result.status, 200u) << result.error;
    EXPECT_EQ(rx.closed_by_client(), 1);
}

TEST(HttpClient, CloseIdleClosesPooledConnections)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    post_result result;
    run_bounded(ioc, post_then_wait_for_close(client, request_to(rx.url("/")), rx, result, true, 3s));

    EXPECT_EQ(result.status, 200u) << result.error;
    EXPECT_EQ(rx.closed_by_client(), 1);
}

// After close_idle() the client leaves nothing behind that would keep an io_context running (a sweep
// timer, a stream timer, a lookup): run() returns as soon as the receiver has stopped too.
net::awaitable<void> post_close_and_stop(http_client& client, post_request request, receiver& rx,
                                         post_result& out)
{
    out = co_await client.post(std::move(request));
    client.close_idle();
    rx.stop();
}

TEST(HttpClient, NothingLingersAfterCloseIdle)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    post_result result;
    net::co_spawn(ioc, post_close_and_stop(client, request_to(rx.url("/", "localhost")), rx, result),
                  net::detached);
    const auto start = std::chrono::steady_clock::now();
    ioc.run_for(20s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(result.status, 200u) << result.error;
    EXPECT_EQ(rx.closed_by_client(), 1);
}

TEST(HttpClient, NoIdleConnectionsKeptWhenTheLimitIsZero)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    client_options options;
    options.max_idle_per_target = 0;
    http_client client(ioc.get_executor(), policy, options);

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/")), 3, results));

    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(rx.connections(), 3);
}

TEST(HttpClient, ConcurrentPostsFromSeveralThreadsAllArrive)
{
    net::io_context ioc;
    receiver rx(ioc, {});
    const network_policy policy = allowing_loopback();
    client_options options;
    options.max_idle_per_target = 4;
    http_client client(ioc.get_executor(), policy, options);

    constexpr int posters = 8;
    constexpr int posts_each = 5;
    std::vector<std::vector<post_result>> results(posters);
    std::atomic<int> running = posters;
    for (auto& out : results)
        net::co_spawn(net::make_strand(ioc), post_times(client, request_to(rx.url("/")), posts_each, out),
                      [&](std::exception_ptr)
                      {
                          if (--running == 0)
                              ioc.stop();
                      });
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] { ioc.run_for(20s); });
    for (auto& t : threads)
        t.join();

    ASSERT_EQ(running.load(), 0) << "the posts did not finish in time";
    for (const auto& out : results)
    {
        ASSERT_EQ(out.size(), static_cast<std::size_t>(posts_each));
        for (const auto& r : out)
            EXPECT_EQ(r.status, 200u) << r.error;
    }
    EXPECT_EQ(rx.requests().size(), static_cast<std::size_t>(posters * posts_each));
    EXPECT_LE(rx.connections(), posters * posts_each);
}

// --- HTTPS ------------------------------------------------------------------------------------------------

// A CA and two server certificates signed by it, made once with the `openssl` command: one for
// localhost and 127.0.0.1, one for another name only.
class HttpClientTls : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        dir_ = new reqstore::test::temp_dir();
        const std::string d = dir_->path();
        dir_->write("local.cnf", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                 "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
        dir_->write("other.cnf", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                 "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:other.example\n");
        const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        const std::string quiet = " >" + d + "/openssl.log 2>&1";
        const std::vector<std::string> commands = {
            "openssl req -x509 " + ec_key + " -keyout " + d + "/ca.key -out " + d +
                "/ca.pem -days 2 -subj '/CN=reqstore test CA' -addext basicConstraints=critical,CA:TRUE"
                " -addext keyUsage=critical,keyCertSign,cRLSign",
            "openssl req -new " + ec_key + " -keyout " + d + "/local.key -out " + d +
                "/local.csr -subj /CN=localhost",
            "openssl x509 -req -in " + d + "/local.csr -CA " + d + "/ca.pem -CAkey " + d +
                "/ca.key -set_serial 2 -days 2 -extfile " + d + "/local.cnf -out " + d + "/local.pem",
            "openssl req -new " + ec_key + " -keyout " + d + "/other.key -out " + d +
                "/other.csr -subj /CN=other.example",
            "openssl x509 -req -in " + d + "/other.csr -CA " + d + "/ca.pem -CAkey " + d +
                "/ca.key -set_serial 3 -days 2 -extfile " + d + "/other.cnf -out " + d + "/other.pem",
        };
        for (const auto& command : commands)
            if (std::system((command + quiet).c_str()) != 0)
            {
                setup_error_ = "failed: " + command;
                return;
            }
    }

    static void TearDownTestSuite()
    {
        delete dir_;
        dir_ = nullptr;
    }

    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

    static std::string file(const std::string& name) { return dir_->path() + "/" + name; }

    // A server context presenting `name`.pem.
    static std::unique_ptr<ssl::context> server_context(const std::string& name)
    {
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
        ctx->use_certificate_chain_file(file(name + ".pem"));
        ctx->use_private_key_file(file(name + ".key"), ssl::context::pem);
        return ctx;
    }

    static client_options with_test_ca()
    {
        client_options options;
        options.ca_file = file("ca.pem");
        return options;
    }

    static inline reqstore::test::temp_dir* dir_ = nullptr;
    static inline std::string setup_error_;
};

TEST_F(HttpClientTls, TrustedCertificateForTheHostNameIsAccepted)
{
    const auto tls = server_context("local");
    net::io_context ioc;
    receiver rx(ioc, {}, tls.get());
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, with_test_ca());

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/status/200", "localhost")), 3, results));

    ASSERT_EQ(results.size(), 3u);
    for (const auto& r : results)
    {
        EXPECT_EQ(r.what, post_result::outcome::responded) << r.error;
        EXPECT_EQ(r.status, 200u);
    }
    EXPECT_EQ(rx.connections(), 1); // kept alive over TLS too
}

TEST_F(HttpClientTls, TrustedCertificateForTheIpAddressIsAccepted)
{
    const auto tls = server_context("local");
    net::io_context ioc;
    receiver rx(ioc, {}, tls.get());
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, with_test_ca());

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/status/410")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::responded) << results[0].error;
    EXPECT_EQ(results[0].status, 410u);
}

TEST_F(HttpClientTls, UnknownCertificateAuthorityFails)
{
    const auto tls = server_context("local");
    net::io_context ioc;
    receiver rx(ioc, {}, tls.get());
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, {});

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/", "localhost")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::failed);
    EXPECT_EQ(results[0].error, "TLS handshake with localhost failed: certificate not accepted (unable to "
                                "get local issuer certificate)");
    EXPECT_TRUE(rx.requests().empty());
}

TEST_F(HttpClientTls, CertificateForAnotherHostNameFails)
{
    const auto tls = server_context("other");
    net::io_context ioc;
    receiver rx(ioc, {}, tls.get());
    const network_policy policy = allowing_loopback();
    http_client client(ioc.get_executor(), policy, with_test_ca());

    std::vector<post_result> results;
    run_bounded(ioc, post_times(client, request_to(rx.url("/", "localhost")), 1, results));

    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].what, post_result::outcome::failed);
    EXPECT_EQ(results[0].error,
              "TLS handshake with localhost failed: certificate not accepted (hostname mismatch)");
    EXPECT_TRUE(rx.requests().empty());
}

TEST_F(HttpClientTls, UnreadableCaFileThrowsAtConstruction)
{
    net::io_context ioc;
    const network_policy policy;
    client_options options;
    options.ca_file = file("no-such-ca.pem");
    EXPECT_THROW(http_client(ioc.get_executor(), policy, options), std::runtime_error);
}

} // namespace
