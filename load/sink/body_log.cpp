// reqstore-sink's --bodies file.
#include "body_log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <string_view>

namespace reqstore::sink
{

namespace json = boost::json;

body_log::body_log(const std::string& file) : out_(file, std::ios::app) {}

void body_log::append(const http::request& req)
{
    constexpr std::array<std::string_view, 4> kept{"webhook-id", "webhook-timestamp", "webhook-signature",
                                                   "content-type"};
    json::object headers;
    for (const auto name : kept)
        if (const auto value = req.header(name))
            headers[name] = *value;
    // The receiver parsed the body already with this depth; raw text keeps any other body whole.
    json::parse_options limits;
    limits.max_depth = 64;
    boost::system::error_code ec;
    json::value body = json::parse(req.body(), ec, {}, limits);
    if (ec)
        body = json::string(req.body());
    json::object line{{"path", req.path()}, {"headers", std::move(headers)}, {"body", std::move(body)}};
    const std::string text = json::serialize(line) + "\n";
    std::lock_guard lock(mutex_);
    out_ << text;
    out_.flush();
}

} // namespace reqstore::sink
