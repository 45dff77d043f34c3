// The routing table: path patterns with `{param}` segments, the handler of each method, and
// the scope each method needs. Matching answers 404 and 405 (with Allow) by itself.
#pragma once

#include <reqstore/http/message.hpp>

#include <boost/asio/awaitable.hpp>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::auth
{
struct api_key;
}

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

struct method_binding
{
    http::method method;
    std::string_view scope; // empty: public, no credentials needed
    handler fn;
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

    // nullopt when no pattern matches the path. A GET binding also serves HEAD.
    std::optional<match> find(method m, std::string_view path) const;

    std::vector<std::string> patterns() const;

private:
    struct route_entry
    {
        std::string pattern;
        std::vector<std::string> segments; // "{}" stands for a parameter
        std::vector<method_binding> methods;
    };

    std::vector<route_entry> routes_;
};

} // namespace reqstore::http
