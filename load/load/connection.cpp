// The client side of one keep-alive connection: Beast's tcp_stream with a deadline on every step.
#include "connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace reqstore::load
{

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
    stream_.expires_after(where_.timeout);
    auto [write_ec, written] =
        co_await http::async_write(stream_, request_, net::as_tuple(net::use_awaitable));
    if (write_ec)
    {
        drop();
        co_return write_ec;
    }
    // Beast's parser adds to the message it is given: start from an empty one, keeping the body's
    // capacity for the next answer.
    response_.clear();
    response_.body().clear();
    stream_.expires_after(where_.timeout);
    auto [read_ec, read] =
        co_await http::async_read(stream_, buffer_, response_, net::as_tuple(net::use_awaitable));
    if (read_ec)
    {
        drop();
        co_return read_ec;
    }
    stream_.expires_never();
    if (!response_.keep_alive())
        drop();
    co_return boost::system::error_code{};
}

} // namespace reqstore::load
