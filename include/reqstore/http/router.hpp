// The routing table: path patterns with `{param}` segments, the handler of each method, and
// the scope each method needs; and the surfaces, which decide per path prefix how callers
// authenticate and how refusals are worded. Matching answers 404 and 405 (with Allow) by itself.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/message.hpp>

#include <boost/asio/awaitable.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::auth
{
struct api_key;
class key_registry;
} // namespace reqstore::auth

namespace reqstore::http
{

// What a handler gets: the request, the path parameters in pattern order, and the caller's
// key (null on public routes).
struct handler_context
{
    const request& req;
    std::vector<std::string_view> params;
    const auth::api_key* key = nullptr;
};

using handler = std::function<boost::asio::awaitable<response>(handler_context&)>;

// A handler that calls the member coroutine `method` on `self`, an API or surface object the
// handler keeps alive (and with it, the router). Not a coroutine itself: the call returns the
// member coroutine's awaitable, so `self` outlives the request through the handler.
template <class Object>
handler handler_of(std::shared_ptr<Object> self,
                   boost::asio::awaitable<response> (Object::*method)(handler_context&))
{
    return [self = std::move(self), method](handler_context& ctx)
    {
        return ((*self).*method)(ctx);
    };
}

struct method_binding
{
    http::method method;
    std::string_view scope; // empty: public, no credentials needed
    handler fn;
};

// A family of routes under one path prefix (the native API, or one seed API's surface): how its
// callers prove who they are and how its refusals are worded.
struct surface
{
    std::string name; // for logs: "native", "box", ...
    // Finds the caller's key from the request (errc::unauthorized when it cannot). Empty: the
    // surface's routes are public.
    std::function<core::result<const auth::api_key*>(const request&, const auth::key_registry&)> authenticate;
    // The answer to a failure met outside a handler: 401, 403, 404, 405, 429, 500.
    std::function<response(const core::failure&, const request&)> render_failure;
    std::string www_authenticate; // the challenge sent with every 401
};

class router
{
public:
    // Adds a route; `pattern` is like "/v1/requests/{id}/versions/{n}". Returns its index (the
    // label metrics use). Not thread-safe: build the table before serving.
    std::size_t add(std::string pattern, std::vector<method_binding> methods);

    struct match
    {
        std::size_t route = 0;
        const method_binding* binding = nullptr; // null: the path matched but not the method
        std::vector<std::string_view> params;
        std::string allow; // the route's methods, for 405's Allow header
    };

    // Puts every path at or below `prefix` ("/v1" covers "/v1" and "/v1/...", not "/v1x") under
    // `s`; the longest matching prefix wins. Not thread-safe: add surfaces before serving.
    void add_surface(std::string prefix, surface s);
    // The surface of `path`, or null when no prefix covers it (public, native errors).
    const surface* surface_for(std::string_view path) const;

    // nullopt when no pattern matches the path. A GET binding also serves HEAD.
    std::optional<match> find(method m, std::string_view path) const;

    std::vector<std::string> patterns() const;

    // Every route as registered: its pattern and, per method, the scope it needs ("" for none
    // beyond the surface's credentials). For checks of the route table against its documentation.
    struct route_summary
    {
        std::string pattern;
        std::vector<std::pair<method, std::string_view>> methods;
    };
    std::vector<route_summary> summary() const;

private:
    struct route_entry
    {
        std::string pattern;
        std::vector<std::string> segments; // "{}" stands for a parameter
        std::vector<method_binding> methods;
    };

    std::vector<route_entry> routes_;
    std::vector<std::pair<std::string, surface>> surfaces_; // prefix, surface
};

} // namespace reqstore::http
