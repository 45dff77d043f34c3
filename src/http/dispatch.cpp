// Authentication, routing and the one exception boundary of a request.
#include "dispatch.hpp"

#include <reqstore/http/problem.hpp>
#include <reqstore/ops/log.hpp>

namespace reqstore::http
{
namespace net = boost::asio;

namespace
{

net::awaitable<response> route_and_handle(const request& req, std::optional<router::match>& found,
                                          const auth::api_key* key);

bool needs_credentials(std::string_view path)
{
    return path == "/v1" || path.starts_with("/v1/");
}

} // namespace

net::awaitable<dispatch_result> dispatch(const request& req, const router& routes,
                                         const auth::key_registry& keys, auth::rate_limiter& limiter)
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
    const method_binding* binding = found ? found->binding : nullptr;
    if (binding && !binding->scope.empty() && (!key || !key->has_scope(binding->scope)))
    {
        out.route = found->route;
        out.answer = problem_response(core::errc::forbidden,
                                      "this key lacks the scope " + std::string(binding->scope), path);
        co_return out;
    }
    std::optional<auth::rate_decision> rate;
    if (key && key->rate_limit)
    {
        rate = limiter.take(*key);
        if (!rate->allowed)
        {
            out.route = found ? found->route : out.route;
            out.answer = problem_response(core::errc::rate_limited,
                                          "key " + key->id + " has used its request rate; retry after " +
                                              auth::rate_limiter::retry_after(*rate) + " s",
                                          path);
            out.answer.set("Retry-After", auth::rate_limiter::retry_after(*rate));
            out.answer.set("RateLimit-Policy", auth::rate_limiter::policy_header(*key->rate_limit));
            out.answer.set("RateLimit", auth::rate_limiter::state_header(*rate));
            co_return out;
        }
    }
    out.answer = co_await route_and_handle(req, found, key);
    if (found)
        out.route = found->route;
    if (rate)
    {
        out.answer.set("RateLimit-Policy", auth::rate_limiter::policy_header(*key->rate_limit));
        out.answer.set("RateLimit", auth::rate_limiter::state_header(*rate));
    }
    co_return out;
}

namespace
{

net::awaitable<response> route_and_handle(const request& req, std::optional<router::match>& found,
                                          const auth::api_key* key)
{
    const std::string_view path = req.path();
    if (!found)
        co_return problem_response(core::errc::not_found, "no resource at " + std::string(path), path);
    if (req.verb() == method::options)
    {
        response r;
        r.status = 204;
        r.set("Allow", found->allow + ", OPTIONS");
        co_return r;
    }
    if (!found->binding)
    {
        response r = problem_response(
            core::errc::method_not_allowed,
            std::string(req.method_text()) + " is not allowed here; allowed: " + found->allow, path);
        r.set("Allow", found->allow);
        co_return r;
    }
    handler_context context{req, std::move(found->params), key};
    try
    {
        co_return co_await found->binding->fn(context);
    }
    catch (const std::exception& e)
    {
        ops::log().error("handler failed",
                         {{"request_id", req.request_id()}, {"path", path}, {"error", e.what()}});
    }
    co_return problem_response(core::errc::internal, "", path);
}

} // namespace

} // namespace reqstore::http
