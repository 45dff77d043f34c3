// GET /v1/whoami and GET /v1/types: what a console or a generated client asks before anything else.
#include <reqstore/api/introspection_api.hpp>
#include <reqstore/auth/keys.hpp>
#include <reqstore/core/type_description.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <memory>

#include "request_parsing.hpp"

namespace reqstore::api
{
namespace net = boost::asio;
namespace json = boost::json;

namespace
{

// The key never carries its secret or its hash out.
json::object key_json(const auth::api_key& key)
{
    json::array scopes;
    for (const auto& s : key.scopes)
        scopes.emplace_back(s);
    return json::object{
        {"id", key.id},
        {"scopes", std::move(scopes)},
        {"rate_limit", key.rate_limit ? json::value(json::object{{"per_second", key.rate_limit->per_second},
                                                                 {"burst", key.rate_limit->burst}})
                                      : nullptr},
        {"subject", key.subject ? json::value(*key.subject) : nullptr}};
}

net::awaitable<http::response> whoami(http::handler_context& ctx)
{
    http::response r = json_answer(200, json::serialize(key_json(*ctx.key)));
    r.set("Cache-Control", "no-store");
    co_return r;
}

// `body` by value: the coroutine's frame keeps the text alive, whatever becomes of the handler.
net::awaitable<http::response> types_page(std::shared_ptr<const std::string> body)
{
    co_return json_answer(200, *body);
}

} // namespace

void add_introspection_routes(http::router& routes, const core::type_registry& types, bool require_if_match)
{
    using http::method;
    // Built once: the types do not change while the server runs.
    json::array described;
    for (const auto& t : types.all())
        described.push_back(core::describe_type(t, require_if_match));
    auto body =
        std::make_shared<const std::string>(json::serialize(json::object{{"data", std::move(described)}}));

    routes.add("/v1/whoami", {{method::get, "",
                               [](http::handler_context& ctx)
                               {
                                   return whoami(ctx);
                               }}});
    routes.add("/v1/types", {{method::get, auth::scope_read,
                              [body](http::handler_context&)
                              {
                                  return types_page(body);
                              }}});
}

} // namespace reqstore::api
