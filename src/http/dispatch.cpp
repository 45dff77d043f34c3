// Authentication, routing and the one exception boundary of a request.
#include "dispatch.hpp"

#include <reqstore/http/problem.hpp>
#include <reqstore/ops/log.hpp>

namespace reqstore::http
{
namespace net = boost::asio;

namespace
{

bool needs_credentials(std::string_view path)
{
    return path == "/v1" || path.starts_with("/v1/");
}

} // namespace

net::awaitable<dispatch_result> dispatch(const request& req, const router& routes,
                                         const auth::key_registry& keys)
{
    dispatch_result out;
    const std::string_view path = req.path();
    const auth::api_key* key = nullptr;
    if (needs_credentials(path))
    {
        auto authenticated = keys.authenticate({req.header("authorization"), req.header("x-api-key")});
        if (!authenticated)
        {
            out.answer = problem_response(authenticated.error(), path);
            out.answer.set("WWW-Authenticate", std::string(auth::www_authenticate));
            co_return out;
        }
        key = *authenticated;
        out.key_id = key->id;
    }

    auto found = routes.find(req.verb(), path);
    if (!found)
    {
        out.answer = problem_response(core::errc::not_found, "no resource at " + std::string(path), path);
        co_return out;
    }
    out.route = found->route;
    if (req.verb() == method::options)
    {
        out.answer.status = 204;
        out.answer.set("Allow", found->allow + ", OPTIONS");
        co_return out;
    }
    if (!found->binding)
    {
        out.answer = problem_response(
            core::errc::method_not_allowed,
            std::string(req.method_text()) + " is not allowed here; allowed: " + found->allow, path);
        out.answer.set("Allow", found->allow);
        co_return out;
    }
    const method_binding& binding = *found->binding;
    if (!binding.scope.empty() && (!key || !key->has_scope(binding.scope)))
    {
        out.answer = problem_response(core::errc::forbidden,
                                      "this key lacks the scope " + std::string(binding.scope), path);
        co_return out;
    }

    handler_context context{req, std::move(found->params), key};
    try
    {
        out.answer = co_await binding.fn(context);
    }
    catch (const std::exception& e)
    {
        ops::log().error("handler failed",
                         {{"request_id", req.request_id()}, {"path", path}, {"error", e.what()}});
        out.answer = problem_response(core::errc::internal, e.what(), path);
    }
    co_return out;
}

} // namespace reqstore::http
