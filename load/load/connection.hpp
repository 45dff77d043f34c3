// One keep-alive HTTP/1.1 client connection of reqstore-load, reused for every exchange it makes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace reqstore::load
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

// Where and how to connect; shared by every connection, constant after construction.
struct endpoint_info
{
    net::ip::tcp::resolver::results_type endpoints;
    std::string authority;     // the Host header
    std::string authorization; // "" or the Authorization header's value
    std::chrono::steady_clock::duration timeout;
};

// The parts of an answer the tools read.
struct answer_parts
{
    unsigned status = 0;
    std::string etag; // "" when the answer has none
    std::string body;
};

class connection
{
public:
    // Every handler of the connection must run on one thread at a time (Beast's basic_stream requires
    // it once timers are involved): `executor` is a strand of its own, or an io_context's that one
    // thread runs. `where` must outlive the connection. Does not connect yet.
    connection(net::any_io_executor executor, const endpoint_info& where);

    // Sets up the next request: method, target, and a JSON body ("" for none). Removes the
    // If-Match of an earlier request; the caller may add headers after this call.
    void prepare(http::verb method, std::string_view target, std::string_view json_body = {});
    http::request<http::string_body>& request() noexcept { return request_; }
    const http::request<http::string_body>& request() const noexcept { return request_; }

    // The answer of the last successful exchange: its status, its ETag ("" when none) and its body,
    // the only parts of an answer the tools read.
    unsigned status() const noexcept { return answer_.status; }
    const std::string& etag() const noexcept { return answer_.etag; }
    const std::string& body() const noexcept { return answer_.body; }

    // Sends request() and reads the answer (status(), etag(), body()), connecting first when there is
    // no open connection. The connect has the endpoint's timeout, and so has the exchange (the write
    // and every read of the answer). Returns the error of the first step that failed (the socket is
    // then closed, so the next exchange reconnects) or a default error_code on success. An answer
    // that does not keep the connection alive closes it. Must be awaited on this connection's
    // executor.
    net::awaitable<boost::system::error_code> exchange();

    // Connects when there is no open connection; as exchange() for errors.
    net::awaitable<boost::system::error_code> ensure_connected();

    net::any_io_executor get_executor() noexcept { return stream_.get_executor(); }
    // How many TCP connections were opened so far.
    std::uint64_t connects() const noexcept { return connects_; }

private:
    void drop() noexcept;
    // request()'s method, target and fields as an HTTP/1.1 head, into head_.
    void format_head();

    // Constant after construction.
    const endpoint_info& where_;

    // Only on this connection's executor.
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    std::string head_;    // the head of the request being sent; its capacity is kept
    answer_parts answer_; // the strings' capacities are kept from one answer to the next
    bool open_ = false;
    std::uint64_t connects_ = 0;
};

} // namespace reqstore::load
