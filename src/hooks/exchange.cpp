// One webhook request and its answer on an open connection, plain or TLS: the same steps for both,
// written once as a template and instantiated for each.
#include "exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <optional>

namespace reqstore::hooks::outbound
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using net::as_tuple;
using net::use_awaitable;

namespace
{

constexpr std::size_t header_limit = 16 * 1024;
// Interim (1xx) answers before the real one; a server sending more is not worth waiting for.
constexpr int max_interim_answers = 4;

template <class Stream>
net::awaitable<exchange_result> exchange_any(Stream& stream, beast::flat_buffer& buffer,
                                             const attempt_plan& plan, bool reused)
{
    exchange_result out;
    auto& lowest = beast::get_lowest_layer(stream);

    lowest.expires_at(plan.deadline);
    const auto [write_ec, written] =
        co_await bhttp::async_write(stream, plan.message, as_tuple(use_awaitable));
    if (write_ec)
    {
        out.dead_before_answer = reused && !expired(write_ec, plan);
        out.result = expired(write_ec, plan) ? timed_out(plan, "sending the request")
                                             : failure("sending the request failed: " + write_ec.message());
        co_return out;
    }

    // Nothing below ever holds more than max_body bytes of the body: the parser hands them to `chunk`.
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    for (int interim = 0;; ++interim)
    {
        parser.emplace();
        parser->header_limit(header_limit);
        parser->body_limit(boost::none); // the loop below stops reading at max_body instead
        lowest.expires_at(plan.deadline);
        const auto [read_ec, n] =
            co_await bhttp::async_read_header(stream, buffer, *parser, as_tuple(use_awaitable));
        if (read_ec)
        {
            const bool nothing_read = interim == 0 && !parser->got_some() && buffer.size() == 0;
            out.dead_before_answer = reused && nothing_read && !expired(read_ec, plan);
            out.result = expired(read_ec, plan) ? timed_out(plan, "waiting for the answer")
                                                : failure("reading the answer failed: " + read_ec.message());
            co_return out;
        }
        const unsigned status = parser->get().result_int();
        if (status / 100 != 1 || status == 101)
            break;
        if (interim == max_interim_answers)
        {
            out.result = failure("too many interim (1xx) answers");
            co_return out;
        }
    }

    out.result.what = post_result::outcome::responded;
    out.result.status = parser->get().result_int();
    std::array<char, 8192> chunk;
    bool complete = true;
    while (!parser->is_done())
    {
        const std::size_t room = plan.max_body - out.result.body.size();
        if (room == 0)
        {
            complete = false;
            break;
        }
        const std::size_t offered = std::min(room, chunk.size());
        parser->get().body().data = chunk.data();
        parser->get().body().size = offered;
        lowest.expires_at(plan.deadline);
        const auto [read_ec, n] =
            co_await bhttp::async_read(stream, buffer, *parser, as_tuple(use_awaitable));
        out.result.body.append(chunk.data(), offered - parser->get().body().size);
        if (read_ec && read_ec != bhttp::error::need_buffer)
        {
            complete = false;
            break;
        }
    }
    out.keep = complete && parser->get().keep_alive() && buffer.size() == 0;
    co_return out;
}

} // namespace

net::awaitable<exchange_result> exchange_on(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                            const attempt_plan& plan, bool reused)
{
    return exchange_any(stream, buffer, plan, reused);
}

net::awaitable<exchange_result> exchange_on(beast::ssl_stream<beast::tcp_stream>& stream,
                                            beast::flat_buffer& buffer, const attempt_plan& plan, bool reused)
{
    return exchange_any(stream, buffer, plan, reused);
}

} // namespace reqstore::hooks::outbound
