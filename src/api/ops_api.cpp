// Liveness, readiness and the Prometheus endpoint.
#include <reqstore/api/openapi.hpp>
#include <reqstore/api/ops_api.hpp>

namespace reqstore::api
{
namespace net = boost::asio;

namespace
{

http::response json_status(unsigned status, std::string_view body)
{
    http::response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::string(body);
    r.set("Cache-Control", "no-store");
    return r;
}

net::awaitable<http::response> healthz()
{
    co_return json_status(200, R"({"status":"ok"})");
}

net::awaitable<http::response> readyz(std::function<bool()> ready)
{
    if (ready())
        co_return json_status(200, R"({"status":"ready"})");
    co_return json_status(503, R"({"status":"not ready"})");
}

net::awaitable<http::response> openapi_page()
{
    http::response r;
    r.content_type = "application/json";
    r.body = std::string(openapi_document());
    r.set("Cache-Control", "no-cache");
    co_return r;
}

net::awaitable<http::response> metrics_page(const ops::metrics& stats)
{
    http::response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = stats.render();
    r.set("Cache-Control", "no-store");
    co_return r;
}

} // namespace

void add_operations_routes(http::router& routes, const ops::metrics& stats, std::function<bool()> ready)
{
    using http::method;
    routes.add("/healthz", {{method::get, "",
                             [](http::handler_context&)
                             {
                                 return healthz();
                             }}});
    routes.add("/readyz", {{method::get, "",
                            [ready = std::move(ready)](http::handler_context&)
                            {
                                return readyz(ready);
                            }}});
    routes.add("/openapi.json", {{method::get, "",
                                  [](http::handler_context&)
                                  {
                                      return openapi_page();
                                  }}});
    routes.add("/metrics", {{method::get, "",
                             [&stats](http::handler_context&)
                             {
                                 return metrics_page(stats);
                             }}});
}

} // namespace reqstore::api
