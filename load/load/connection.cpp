// The client side of one keep-alive connection: Beast's tcp_stream with a deadline on every step, the
// request's head formatted in one string, and of the answer only what the tools read.
#include "connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <array>

namespace reqstore::load
{

namespace
{

// What a read asks the socket for at most: an answer of the size the tools meet in one read.
constexpr std::size_t read_size = 64 * 1024;

// Beast's parser, keeping only what the tools read of an answer: the status, the ETag and the body.
// A message's every header field would be a string allocated and freed per answer.
class answer_reader : public http::basic_parser<false>
{
public:
    explicit answer_reader(answer_parts& into) : into_(into)
    {
        into_.status = 0;
        into_.etag.clear();
        into_.body.clear();
    }

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                         boost::system::error_code&) override
    {
    }
    void on_response_impl(int code, beast::string_view, int, boost::system::error_code&) override
    {
        into_.status = static_cast<unsigned>(code);
    }
    void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                       boost::system::error_code&) override
    {
        if (name == http::field::etag)
            into_.etag.assign(value.data(), value.size());
    }
    void on_header_impl(boost::system::error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::system::error_code&) override
    {
        if (length)
            into_.body.reserve(static_cast<std::size_t>(*length));
    }
    std::size_t on_body_impl(beast::string_view data, boost::system::error_code&) override
    {
        into_.body.append(data.data(), data.size());
        return data.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, boost::system::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data,
                                   boost::system::error_code&) override
    {
        into_.body.append(data.data(), data.size());
        return data.size();
    }
    void on_finish_impl(boost::system::error_code&) override {}

    answer_parts& into_;
};

} // namespace

connection::connection(net::any_io_executor executor, const endpoint_info& where)
    : where_(where), stream_(std::move(executor))
{
    request_.version(11);
    request_.set(http::field::host, where_.authority);
    request_.set(http::field::user_agent, "reqstore-load");
    if (!where_.authorization.empty())
        request_.set(http::field::authorization, where_.authorization);
    request_.keep_alive(true);
}

void connection::prepare(http::verb method, std::string_view target, std::string_view json_body)
{
    request_.method(method);
    request_.target(target);
    request_.body().assign(json_body.data(), json_body.size());
    // Lookups before changes: most requests look like the previous one, and a header that is
    // already right needs no allocation.
    const bool has_type = request_.find(http::field::content_type) != request_.end();
    if (json_body.empty() && has_type)
        request_.erase(http::field::content_type);
    else if (!json_body.empty() && !has_type)
        request_.set(http::field::content_type, "application/json");
    if (request_.find(http::field::if_match) != request_.end())
        request_.erase(http::field::if_match);
    request_.prepare_payload();
}

void connection::format_head()
{
    // The head in one string, formatted from request()'s fields: Beast's serializer walks the fields
    // as a sequence of buffer views, which cost the tool more than the write itself.
    head_.clear();
    const auto method = request_.method_string();
    const auto target = request_.target();
    head_.append(method.data(), method.size()).append(" ").append(target.data(), target.size());
    head_.append(" HTTP/1.1\r\n");
    for (const auto& field : request_)
    {
        const auto name = field.name_string();
        const auto value = field.value();
        head_.append(name.data(), name.size()).append(": ").append(value.data(), value.size()).append("\r\n");
    }
    head_.append("\r\n");
}

void connection::drop() noexcept
{
    boost::system::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    open_ = false;
}

net::awaitable<boost::system::error_code> connection::ensure_connected()
{
    if (open_)
        co_return boost::system::error_code{};
    stream_.expires_after(where_.timeout);
    auto [ec, endpoint] = co_await stream_.async_connect(where_.endpoints, net::as_tuple(net::use_awaitable));
    if (ec)
    {
        drop();
        co_return ec;
    }
    boost::system::error_code ignored;
    stream_.socket().set_option(net::ip::tcp::no_delay(true), ignored);
    open_ = true;
    ++connects_;
    co_return boost::system::error_code{};
}

net::awaitable<boost::system::error_code> connection::exchange()
{
    if (auto ec = co_await ensure_connected())
        co_return ec;
    format_head();
    const std::array<net::const_buffer, 2> message{net::buffer(head_), net::buffer(request_.body())};
    // One deadline for the exchange: the write and every read of the answer.
    stream_.expires_after(where_.timeout);
    auto [write_ec, written] = co_await net::async_write(stream_, message, net::as_tuple(net::use_awaitable));
    if (write_ec)
    {
        drop();
        co_return write_ec;
    }
    answer_reader reader(answer_);
    reader.eager(true); // the head and as much of the body as the buffer holds, in one put()
    for (;;)
    {
        // Parse what the buffer holds; read more only when the parser asks for it.
        boost::system::error_code parse_ec;
        while (buffer_.size() > 0 && !reader.is_done())
        {
            parse_ec = {};
            buffer_.consume(reader.put(buffer_.data(), parse_ec));
            if (parse_ec == http::error::need_more)
                break;
            if (parse_ec)
            {
                drop();
                co_return parse_ec;
            }
        }
        if (reader.is_done())
            break;
        auto [read_ec, read] =
            co_await stream_.async_read_some(buffer_.prepare(read_size), net::as_tuple(net::use_awaitable));
        buffer_.commit(read);
        if (read_ec == net::error::eof && !reader.got_some())
        {
            // Closed before the answer began (a server killed or gone idle): the exchange failed.
            drop();
            co_return read_ec;
        }
        if (read_ec == net::error::eof)
        {
            // An answer without a length ends with the connection (the parser has had every byte
            // before it: a read that reaches the end reads nothing).
            reader.put_eof(parse_ec);
            if (parse_ec || !reader.is_done())
            {
                drop();
                co_return parse_ec ? parse_ec : read_ec;
            }
            break;
        }
        if (read_ec)
        {
            drop();
            co_return read_ec;
        }
    }
    stream_.expires_never();
    if (!reader.keep_alive())
        drop();
    co_return boost::system::error_code{};
}

} // namespace reqstore::load
