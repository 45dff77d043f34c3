// Online backups over HTTP: the API only asks the engine's backup_store and renders its answer.
#include <reqstore/api/admin_api.hpp>
#include <reqstore/auth/keys.hpp>
#include <reqstore/http/problem.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "request_parsing.hpp"

namespace reqstore::api
{
namespace net = boost::asio;
namespace json = boost::json;
using http::handler_context;
using http::response;

namespace
{

const core::failure no_backups(core::errc::not_implemented,
                               "this store engine takes no backups of its own: back up PostgreSQL with its "
                               "own tools (docs/OPERATIONS.md)");

json::object backup_json(const core::backup_info& b)
{
    return json::object{{"id", b.id},
                        {"sequence", b.sequence},
                        {"bytes", b.bytes},
                        {"created_at", core::format_rfc3339(b.created_at)}};
}

net::awaitable<response> create_backup(core::backup_store* backups, handler_context& ctx)
{
    if (!backups)
        co_return http::problem_response(no_backups, ctx.req.path());
    auto made = co_await backups->create_backup();
    if (!made)
        co_return http::problem_response(made.error(), ctx.req.path());
    response r = json_answer(201, json::serialize(backup_json(*made)));
    r.set("Cache-Control", "no-store");
    co_return r;
}

net::awaitable<response> list_backups(core::backup_store* backups, handler_context& ctx)
{
    if (!backups)
        co_return http::problem_response(no_backups, ctx.req.path());
    auto listed = co_await backups->list_backups();
    if (!listed)
        co_return http::problem_response(listed.error(), ctx.req.path());
    json::array data;
    for (const auto& b : *listed)
        data.push_back(backup_json(b));
    response r = json_answer(200, json::serialize(json::object{{"data", std::move(data)}}));
    r.set("Cache-Control", "no-store");
    co_return r;
}

} // namespace

void add_admin_routes(http::router& routes, core::backup_store* backups)
{
    using http::method;
    routes.add("/v1/admin/backup", {{method::post, auth::scope_admin,
                                     [backups](handler_context& ctx)
                                     {
                                         return create_backup(backups, ctx);
                                     }}});
    routes.add("/v1/admin/backups", {{method::get, auth::scope_admin,
                                      [backups](handler_context& ctx)
                                      {
                                          return list_backups(backups, ctx);
                                      }}});
}

} // namespace reqstore::api
