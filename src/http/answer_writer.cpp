// Answers on the wire: one formatted head and one gathered write for a whole answer, Beast's
// serializer and chunk encoding for a streamed one.
#include "answer_writer.hpp"

#include <reqstore/core/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <type_traits>

#include "streams.hpp"

namespace reqstore::http
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using net::as_tuple;
using net::use_awaitable;

namespace
{

// The Date header, formatted at most once per second per thread.
const std::string& http_date_now()
{
    thread_local core::unix_millis cached_second = -1;
    thread_local std::string cached;
    const core::unix_millis now = core::now_millis();
    if (now / 1000 != cached_second)
    {
        cached_second = now / 1000;
        cached = core::format_http_date(now);
    }
    return cached;
}

// 1xx, 204 and 304 carry no body and no length (RFC 9110 sections 8.6 and 15.3.5).
bool status_has_body(unsigned status)
{
    return status >= 200 && status != 204 && status != 304;
}

// Sends the body of a streamed answer: each write a chunk under the write timeout. Once a write
// fails, every later one is refused without touching the connection.
template <class Stream>
class chunk_writer final : public stream_writer
{
public:
    chunk_writer(Stream& stream, std::chrono::milliseconds write_timeout, std::function<bool()> stopping)
        : stream_(stream), write_timeout_(write_timeout), stopping_(std::move(stopping))
    {
    }

    net::awaitable<bool> write(std::string_view chunk) override
    {
        if (broken_ || chunk.empty())
            co_return !broken_;
        beast::get_lowest_layer(stream_).expires_after(write_timeout_);
        auto [ec, n] = co_await net::async_write(
            stream_, bhttp::make_chunk(net::buffer(chunk.data(), chunk.size())), as_tuple(use_awaitable));
        broken_ = static_cast<bool>(ec);
        co_return !broken_;
    }

    bool stopping() const noexcept override { return stopping_(); }

    net::awaitable<void> finish()
    {
        if (broken_)
            co_return;
        beast::get_lowest_layer(stream_).expires_after(write_timeout_);
        co_await net::async_write(stream_, bhttp::make_chunk_last(), as_tuple(use_awaitable));
    }

private:
    Stream& stream_;
    std::chrono::milliseconds write_timeout_;
    std::function<bool()> stopping_;
    bool broken_ = false;
};

} // namespace

std::string answer_head(const response& r, const std::string& request_id, bool keep_alive)
{
    const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
    std::string out;
    out.reserve(160 + request_id.size() + r.content_type.size() + r.headers.size() * 48);
    out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason);
    out.append("\r\nServer: reqstore\r\nDate: ").append(http_date_now());
    out.append("\r\nX-Request-Id: ").append(request_id);
    if (!r.content_type.empty())
        out.append("\r\nContent-Type: ").append(r.content_type);
    for (const auto& [name, value] : r.headers)
        out.append("\r\n").append(name).append(": ").append(value);
    if (!keep_alive)
        out.append("\r\nConnection: close");
    // A HEAD answer carries the length its GET would have.
    if (status_has_body(r.status))
        out.append("\r\nContent-Length: ").append(std::to_string(r.body.size()));
    out.append("\r\n\r\n");
    return out;
}

template <class Stream>
net::awaitable<boost::system::error_code>
write_answer(Stream& stream, const response& r, const std::string& request_id, bool keep_alive,
             bool head_only, std::chrono::milliseconds write_timeout)
{
    const std::string head = answer_head(r, request_id, keep_alive);
    const bool with_body = !head_only && !r.body.empty() && status_has_body(r.status);
    const std::array<net::const_buffer, 2> pieces{net::buffer(head),
                                                  with_body ? net::buffer(r.body) : net::const_buffer()};
    beast::buffers_suffix<std::array<net::const_buffer, 2>> rest(pieces);
    if constexpr (std::is_same_v<Stream, plain_stream>)
    {
        // Most answers fit in the socket's send buffer: written at once, they need no
        // asynchronous write, so no timeout, no completion through the executor and no
        // suspension. What does not fit is written below, under the write timeout. (Over TLS
        // the record layer writes; its stream has no such shortcut.)
        auto& socket = stream.socket();
        boost::system::error_code ec;
        if (!socket.non_blocking())
            socket.non_blocking(true, ec);
        if (!ec) // else the asynchronous write below does it all
        {
            const std::size_t written = socket.write_some(pieces, ec);
            if (ec && ec != net::error::would_block && ec != net::error::try_again)
                co_return ec;
            rest.consume(written);
            if (beast::buffer_bytes(rest) == 0)
                co_return boost::system::error_code();
        }
    }
    beast::get_lowest_layer(stream).expires_after(write_timeout);
    auto [ec, written] = co_await net::async_write(stream, rest, as_tuple(use_awaitable));
    co_return ec;
}

template <class Stream>
net::awaitable<void> stream_answer(Stream& stream, response& r, const std::string& request_id, bool head_only,
                                   std::chrono::milliseconds write_timeout, std::function<bool()> stopping)
{
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(r.status), 11};
    head.set(bhttp::field::server, "reqstore");
    head.set(bhttp::field::date, http_date_now());
    head.set("X-Request-Id", request_id);
    if (!r.content_type.empty())
        head.set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers)
        head.insert(name, value);
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer(head);
    beast::get_lowest_layer(stream).expires_after(write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, as_tuple(use_awaitable));
    if (ec)
        co_return;
    if (head_only)
        co_return; // HEAD: the header of the stream, without its body
    chunk_writer<Stream> writer(stream, write_timeout, std::move(stopping));
    co_await r.stream(writer);
    co_await writer.finish();
}

template net::awaitable<boost::system::error_code>
write_answer(plain_stream&, const response&, const std::string&, bool, bool, std::chrono::milliseconds);
template net::awaitable<boost::system::error_code>
write_answer(tls_stream&, const response&, const std::string&, bool, bool, std::chrono::milliseconds);
template net::awaitable<void> stream_answer(plain_stream&, response&, const std::string&, bool,
                                            std::chrono::milliseconds, std::function<bool()>);
template net::awaitable<void> stream_answer(tls_stream&, response&, const std::string&, bool,
                                            std::chrono::milliseconds, std::function<bool()>);

} // namespace reqstore::http
