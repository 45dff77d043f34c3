// One connection's loop on Beast, in the manner of Beast's do_session: wait for a request, read it,
// answer it, record it; each step a coroutine of its own that runs in the session's frame.
#include "session.hpp"

#include <reqstore/auth/keys.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <array>
#include <cstdio>
#include <optional>
#include <type_traits>

#include "answer_writer.hpp"
#include "dispatch.hpp"
#include "native_request.hpp"
#include "request_reader.hpp"
#include "session_drain.hpp"
#include "streams.hpp"

namespace reqstore::http
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using net::as_tuple;
using net::use_awaitable;

namespace
{

// A request as it came off the wire, with the id it is answered under and, when it could not be
// read, why (the answer then closes the connection).
struct incoming
{
    request_parser parser;
    std::string request_id;
    std::optional<core::failure> failed;
};

// What is left of a request once it is answered: the answer and what the metrics and the access
// log say of it.
struct handled
{
    dispatch_result result;
    method verb = method::other; // `other` for a request that could not be read
    bool head = false;
    std::string method_text;
    std::string path;
};

void log_access(std::string_view method_text, std::string_view path, unsigned status, double latency_ms,
                const std::string& request_id, const std::string& key_id)
{
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.3f", latency_ms);
    std::string line;
    line.reserve(192 + path.size());
    line.append("{\"ts\":\"").append(core::format_rfc3339(core::now_millis()));
    line.append("\",\"level\":\"info\",\"msg\":\"request\",\"method\":");
    line.append(boost::json::serialize(boost::json::string(method_text)));
    line.append(",\"path\":").append(boost::json::serialize(boost::json::string(path)));
    line.append(",\"status\":").append(std::to_string(status));
    line.append(",\"latency_ms\":").append(latency);
    line.append(",\"request_id\":\"").append(request_id).append("\"");
    line.append(",\"key\":").append(key_id.empty() ? "null" : "\"" + key_id + "\"");
    line.append("}");
    ops::log().append_line(line);
}

// How long a closing TLS connection waits for the client's close_notify after sending its own.
constexpr std::chrono::milliseconds tls_shutdown_grace{500};

// After answering a request that will not be read to its end, stop sending and discard what
// the client still sends for a moment, so that closing does not reset the connection before
// the client has read the answer.
net::awaitable<void> lingering_close(beast::tcp_stream& stream)
{
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::milliseconds(500));
    std::array<char, 16384> sink;
    for (std::size_t total = 0; total < (4u << 20);)
    {
        auto [read_ec, n] = co_await stream.async_read_some(net::buffer(sink), as_tuple(use_awaitable));
        if (read_ec)
            break;
        total += n;
    }
    stream.socket().close(ec);
}

// One connection over a plain_stream or a tls_stream. Every member function runs on the
// connection's strand.
template <class Stream>
class session
{
    static constexpr bool secure = std::is_same_v<Stream, tls_stream>;

public:
    // `stream_args` construct the stream: the socket, and for TLS the context.
    template <class... StreamArgs>
    explicit session(const session_services& services, StreamArgs&&... stream_args)
        : services_(services),
          // A new connection has header_timeout for its TLS handshake and first header section
          // counted from now, not from its first byte: a client that connects and says nothing is
          // cut off as soon as one that trickles its header. Between requests the idle timeout
          // applies instead.
          header_deadline_(std::chrono::steady_clock::now() + services.limits.header_timeout),
          stream_(std::forward<StreamArgs>(stream_args)...),
          registration_(services.sessions, beast::get_lowest_layer(stream_))
    {
    }

    net::awaitable<void> run();

private:
    beast::tcp_stream& transport() { return beast::get_lowest_layer(stream_); }
    net::awaitable<bool> handshake();
    net::awaitable<bool> wait_for_request();
    net::awaitable<bool> read_request(incoming& in);
    net::awaitable<bool> read_body(incoming& in);
    net::awaitable<handled> answer(incoming& in);
    handled refuse(const incoming& in) const;
    void record_request(const incoming& in, const handled& done, std::chrono::steady_clock::duration latency,
                        bool streamed);
    net::awaitable<void> close(bool lingering);

    const session_services& services_;
    std::chrono::steady_clock::time_point header_deadline_;
    bool first_request_ = true;
    Stream stream_;
    beast::flat_buffer buffer_;
    // The credentials this connection last proved: the same ones again are not hashed again.
    auth::verified_credentials verified_;
    session_drain::registration registration_; // after stream_, which it refers to
};

template <class Stream>
net::awaitable<void> session<Stream>::run()
{
    if constexpr (secure)
    {
        if (!co_await handshake())
            co_return;
    }
    bool lingering = false;
    for (;;)
    {
        if (!co_await wait_for_request())
            break;
        incoming in;
        if (!co_await read_request(in))
            break;
        const auto started = std::chrono::steady_clock::now();
        handled done = co_await answer(in);
        response& reply = done.result.answer;
        if (reply.stream)
        {
            // A streamed answer (Server-Sent Events) owns the rest of the connection.
            record_request(in, done, std::chrono::steady_clock::now() - started, true);
            const session_drain& drain = services_.sessions;
            co_await stream_answer(stream_, reply, in.request_id, done.head, services_.limits.write_timeout,
                                   [&drain] { return drain.draining(); });
            break;
        }
        const bool keep_alive =
            !reply.close && !in.failed && in.parser.get().keep_alive() && !services_.sessions.draining();
        const auto write_ec = co_await write_answer(stream_, reply, in.request_id, keep_alive, done.head,
                                                    services_.limits.write_timeout);
        record_request(in, done, std::chrono::steady_clock::now() - started, false);
        if (write_ec || !keep_alive)
        {
            lingering = !write_ec && in.failed.has_value();
            break;
        }
    }
    co_await close(lingering);
}

// The TLS handshake, within the first header deadline. Counts as waiting for a request: the drain
// closes the connection at once. False when it failed; the connection is then closed.
template <class Stream>
net::awaitable<bool> session<Stream>::handshake()
{
    registration_.set_idle(true);
    boost::system::error_code ec;
    if (services_.sessions.draining())
        ec = net::error::operation_aborted;
    else
    {
        transport().expires_at(header_deadline_);
        std::tie(ec) =
            co_await stream_.async_handshake(net::ssl::stream_base::server, as_tuple(use_awaitable));
    }
    registration_.set_idle(false);
    if (!ec)
        co_return true;
    if (!services_.sessions.draining()) // a drain that ends the handshake is no failure of the client's
        services_.stats.tls_handshake_failed();
    transport().socket().close(ec);
    co_return false;
}

// Waits for the first byte of the next request, unless one is buffered already. False when the
// connection is to close instead: the server drains, a deadline passed, the client closed, or the
// drain cancelled the wait.
template <class Stream>
net::awaitable<bool> session<Stream>::wait_for_request()
{
    if (buffer_.size() == 0)
    {
        registration_.set_idle(true);
        if (services_.sessions.draining())
            co_return false;
        if (first_request_)
            transport().expires_at(header_deadline_);
        else
            transport().expires_after(services_.limits.idle_timeout);
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(8192), as_tuple(use_awaitable));
        registration_.set_idle(false);
        if (ec)
            co_return false;
        buffer_.commit(n);
    }
    else if (!first_request_)
    {
        // A request pipelined behind the last one: that one was parsed and answered without a
        // suspension, so let the other connections have their turn first, as a read would.
        co_await net::post(co_await net::this_coro::executor, use_awaitable);
    }
    if (!first_request_)
        header_deadline_ = std::chrono::steady_clock::now() + services_.limits.header_timeout;
    first_request_ = false;
    co_return true;
}

// Reads the header section by the header deadline, then the body, and gives the request its id.
// A request that cannot be read gets the reason in `in.failed`. False when the connection ends
// without an answer: the client closed before sending a request, or 100 Continue failed.
template <class Stream>
net::awaitable<bool> session<Stream>::read_request(incoming& in)
{
    in.parser.header_limit(static_cast<std::uint32_t>(services_.limits.max_header_bytes));
    in.parser.body_limit(services_.limits.max_body_bytes);
    transport().expires_at(header_deadline_);
    const auto header_ec =
        co_await read_header(stream_, buffer_, in.parser, services_.limits.max_header_bytes);
    if (header_ec == bhttp::error::end_of_stream)
        co_return false;
    if (header_ec)
        in.failed = read_failure(header_ec, "header section");
    else
    {
        in.request_id = client_request_id(in.parser);
        if (!transfer_encoding_acceptable(in.parser))
            in.failed =
                core::failure(core::errc::bad_request, "a request's last transfer coding must be chunked");
    }
    if (!in.failed && !in.parser.is_done())
    {
        if (!co_await read_body(in))
            co_return false;
    }
    if (in.request_id.empty())
        in.request_id = generate_request_id();
    co_return true;
}

// Reads the body within body_timeout, first sending 100 Continue when the client waits for it.
// False when 100 Continue cannot be written; a body that cannot be read sets `in.failed`.
template <class Stream>
net::awaitable<bool> session<Stream>::read_body(incoming& in)
{
    if (expects_continue(in.parser))
    {
        static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
        transport().expires_after(services_.limits.write_timeout);
        auto [ec, n] =
            co_await net::async_write(stream_, net::buffer(continue_line), as_tuple(use_awaitable));
        if (ec)
            co_return false;
    }
    // A body that came with its header is parsed without a read (and a trip through the executor).
    in.parser.eager(true);
    boost::system::error_code ec;
    parse_buffered(in.parser, buffer_, ec);
    if (!ec && !in.parser.is_done())
    {
        transport().expires_after(services_.limits.body_timeout);
        std::tie(ec, std::ignore) =
            co_await bhttp::async_read(stream_, buffer_, in.parser, as_tuple(use_awaitable));
    }
    if (ec)
        in.failed = read_failure(ec, "body");
    co_return true;
}

// The answer to a request read whole, from dispatch; or the refusal of one that was not.
template <class Stream>
net::awaitable<handled> session<Stream>::answer(incoming& in)
{
    if (in.failed)
        co_return refuse(in);
    handled out;
    auto& message = in.parser.get();
    out.verb = to_method(message.method());
    out.head = out.verb == method::head;
    const detail::native_request native{message};
    const request req(native, out.verb, message.target(), std::move(message.body()), in.request_id,
                      &verified_);
    out.result = co_await dispatch(req, services_.routes, services_.keys, services_.limiter);
    out.method_text = std::string(req.method_text());
    out.path = std::string(req.path());
    co_return out;
}

// A request that could not be read is refused in the words of its path's surface, as far as the
// path arrived, like every other refusal; the connection closes after the answer.
template <class Stream>
handled session<Stream>::refuse(const incoming& in) const
{
    handled out;
    const auto& message = in.parser.get();
    const detail::native_request native{message};
    const request req(native, to_method(message.method()), message.target(), std::string(), in.request_id);
    out.method_text = std::string(message.method_string());
    out.path = std::string(req.path());
    out.result.answer = render_failure(services_.routes.surface_for(req.path()), *in.failed, req);
    out.result.answer.close = true;
    return out;
}

// Counts the request in the metrics and writes its access line. A streamed answer is recorded as
// its stream starts: the line then carries no latency.
template <class Stream>
void session<Stream>::record_request(const incoming& in, const handled& done,
                                     std::chrono::steady_clock::duration latency, bool streamed)
{
    ops::metrics& stats = services_.stats;
    const unsigned status = done.result.answer.status;
    const std::size_t route =
        done.result.route == static_cast<std::size_t>(-1) ? stats.unmatched_route() : done.result.route;
    stats.record_request(route, static_cast<std::size_t>(done.verb), status,
                         std::chrono::duration_cast<std::chrono::nanoseconds>(latency));
    if (services_.access_log)
        log_access(done.method_text.empty() ? std::string_view("-") : std::string_view(done.method_text),
                   done.path, status,
                   streamed ? 0.0 : std::chrono::duration<double, std::milli>(latency).count(), in.request_id,
                   done.result.key_id);
}

// TLS ends with close_notify (RFC 8446 section 6.1), so that the client can tell the end of the
// connection from a truncation; it is awaited from the client for a moment only.
template <class Stream>
net::awaitable<void> session<Stream>::close(bool lingering)
{
    if constexpr (secure)
    {
        transport().expires_after(tls_shutdown_grace);
        co_await stream_.async_shutdown(as_tuple(use_awaitable));
    }
    if (lingering)
    {
        co_await lingering_close(transport());
        co_return;
    }
    boost::system::error_code ec;
    transport().socket().shutdown(tcp::socket::shutdown_send, ec);
    transport().socket().close(ec);
}

} // namespace

net::awaitable<void> run_session(session_services services, tcp::socket socket,
                                 std::shared_ptr<net::ssl::context> tls,
                                 [[maybe_unused]] connection_caps::slot slot)
{
    if (tls)
    {
        session<tls_stream> connection(services, std::move(socket), *tls);
        co_await connection.run();
    }
    else
    {
        session<plain_stream> connection(services, std::move(socket));
        co_await connection.run();
    }
}

} // namespace reqstore::http
