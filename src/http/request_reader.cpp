// Reading a request's header section and judging what arrived, before anything is dispatched.
#include "request_reader.hpp"

#include <reqstore/http/header_text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <random>

#include "streams.hpp"

namespace reqstore::http
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using net::as_tuple;
using net::use_awaitable;

std::size_t parse_buffered(request_parser& parser, beast::flat_buffer& buffer, boost::system::error_code& ec)
{
    ec = {};
    std::size_t used = 0;
    while (buffer.size() > 0 && !parser.is_done())
    {
        const std::size_t n = parser.put(buffer.data(), ec);
        buffer.consume(n);
        used += n;
        if (ec == bhttp::error::need_more)
        {
            ec = {};
            break;
        }
        if (ec || n == 0 || (!parser.eager() && parser.is_header_done()))
            break;
    }
    return used;
}

template <class Stream>
net::awaitable<boost::system::error_code> read_header(Stream& stream, beast::flat_buffer& buffer,
                                                      request_parser& parser, std::size_t limit)
{
    // What is buffered is parsed here; Beast's async_read_some would do the same, but finish through
    // the executor even when it reads nothing, a second trip per request on a keep-alive connection.
    std::size_t header_bytes = 0;
    for (;;)
    {
        boost::system::error_code ec;
        header_bytes += parse_buffered(parser, buffer, ec);
        if (ec)
            co_return ec;
        if (header_bytes > limit)
            co_return bhttp::error::header_limit;
        if (parser.is_header_done())
            co_return boost::system::error_code();
        auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)),
                                                            as_tuple(use_awaitable));
        if (read_ec == net::error::eof)
        {
            // As Beast's reads do: nothing of a request yet is the end of the stream; part of one,
            // a request cut short.
            if (!parser.got_some())
                co_return bhttp::error::end_of_stream;
            parser.put_eof(read_ec);
            co_return read_ec ? read_ec : bhttp::error::partial_message;
        }
        if (read_ec)
            co_return read_ec;
        buffer.commit(n);
    }
}

template net::awaitable<boost::system::error_code> read_header(plain_stream&, beast::flat_buffer&,
                                                               request_parser&, std::size_t);
template net::awaitable<boost::system::error_code> read_header(tls_stream&, beast::flat_buffer&,
                                                               request_parser&, std::size_t);

core::failure read_failure(const boost::system::error_code& ec, std::string_view stage)
{
    if (ec == bhttp::error::body_limit)
        return {core::errc::payload_too_large, "the body is larger than the limit"};
    if (ec == bhttp::error::header_limit)
        return {core::errc::headers_too_large, "the request's header section is larger than the limit"};
    if (ec == beast::error::timeout)
        return {core::errc::request_timeout,
                "the request's " + std::string(stage) + " did not arrive in time"};
    return {core::errc::bad_request, "the request cannot be parsed: " + ec.message()};
}

bool transfer_encoding_acceptable(const request_parser& parser)
{
    const auto& fields = parser.get();
    const auto it = fields.find(bhttp::field::transfer_encoding);
    if (it == fields.end())
        return true;
    std::string_view value = it->value();
    if (fields.count(bhttp::field::transfer_encoding) > 1)
        return false;
    const auto comma = value.rfind(',');
    const std::string_view last = trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
    return iequals(last, "chunked");
}

bool expects_continue(const request_parser& parser)
{
    const auto expect = parser.get().find(bhttp::field::expect);
    return expect != parser.get().end() && iequals(expect->value(), "100-continue");
}

std::string client_request_id(const request_parser& parser)
{
    const auto field = parser.get().find("X-Request-Id");
    if (field == parser.get().end())
        return {};
    const std::string_view id = field->value();
    if (id.empty() || id.size() > 128)
        return {};
    for (char c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':')
            return {};
    return std::string(id);
}

std::string generate_request_id()
{
    static const std::uint64_t prefix = std::random_device{}() & 0xffffffu;
    static std::atomic<std::uint64_t> counter{0};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%06llx-%010llx", static_cast<unsigned long long>(prefix),
                  static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
    return buf;
}

method to_method(bhttp::verb v) noexcept
{
    switch (v)
    {
    case bhttp::verb::get:
        return method::get;
    case bhttp::verb::head:
        return method::head;
    case bhttp::verb::post:
        return method::post;
    case bhttp::verb::put:
        return method::put;
    case bhttp::verb::patch:
        return method::patch;
    case bhttp::verb::delete_:
        return method::delete_;
    case bhttp::verb::options:
        return method::options;
    default:
        return method::other;
    }
}

} // namespace reqstore::http
