// Helpers shared by the protocol drivers.
#include "driver.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <charconv>

namespace reqstore::load
{
namespace json = boost::json;

net::awaitable<boost::system::error_code> exchange_retrying(connection& c, int attempts)
{
    boost::system::error_code ec;
    for (int i = 0; i < attempts; ++i)
    {
        ec = co_await c.exchange();
        if (!ec)
            break;
    }
    co_return ec;
}

namespace
{
std::string request_line(const connection& c)
{
    const auto& r = c.request();
    return std::string(r.method_string()) + " " + std::string(r.target());
}
} // namespace

std::string describe_answer(const connection& c)
{
    std::string body = c.body().substr(0, 300);
    for (char& ch : body)
        if (ch == '\n' || ch == '\r')
            ch = ' ';
    return request_line(c) + " answered " + std::to_string(c.status()) + (body.empty() ? "" : ": " + body);
}

std::string describe_failure(const connection& c, const boost::system::error_code& ec)
{
    return request_line(c) + " failed: " + ec.message();
}

std::optional<json::object> body_object(const connection& c)
{
    boost::system::error_code ec;
    json::parse_options limits;
    limits.max_depth = 64;
    json::value v = json::parse(c.body(), ec, {}, limits);
    if (ec || !v.is_object())
        return std::nullopt;
    return std::move(v.as_object());
}

std::optional<std::int64_t> parse_integer(std::string_view text)
{
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return n;
}

std::optional<std::int64_t> integer_member(const json::object& o, std::string_view key)
{
    const json::value* v = o.if_contains(key);
    if (v == nullptr)
        return std::nullopt;
    if (v->is_int64())
        return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v->as_uint64());
    if (v->is_string())
        return parse_integer(v->as_string());
    return std::nullopt;
}

std::string json_quoted(std::string_view s)
{
    return json::serialize(json::string(s));
}

} // namespace reqstore::load
