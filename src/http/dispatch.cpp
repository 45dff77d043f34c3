// Authentication, routing and the one exception boundary of a request.
#include "dispatch.hpp"

#include <reqstore/http/header_text.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/ops/log.hpp>

#include <algorithm>

namespace reqstore::http
{
namespace net = boost::asio;

// Paths no surface covers (health, metrics) are public and answer in the native format.
response render_failure(const surface* s, const core::failure& f, const request& req)
{
    if (s && s->render_failure)
        return s->render_failure(f, req);
    return problem_response(f, req.path());
}

namespace
{

net::awaitable<response> route_and_handle(const request& req, std::optional<router::match>& found,
                                          const auth::api_key* key, const surface* s);

} // namespace

net::awaitable<dispatch_result> dispatch(const request& req, const router& routes,
                                         const auth::key_registry& keys, auth::rate_limiter& limiter)
{
    dispatch_result out;
    const std::string_view path = req.path();
    const surface* s = routes.surface_for(path);
    const auth::api_key* key = nullptr;
    if (s && s->authenticate)
    {
        auto authenticated = s->authenticate(req, keys);
        if (!authenticated)
        {
            out.answer = render_failure(s, authenticated.error(), req);
            out.answer.set("WWW-Authenticate", s->www_authenticate.empty()
                                                   ? std::string(auth::www_authenticate)
                                                   : s->www_authenticate);
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
        out.answer = render_failure(
            s, {core::errc::forbidden, "this key lacks the scope " + std::string(binding->scope)}, req);
        co_return out;
    }
    std::optional<auth::rate_decision> rate;
    if (key && key->rate_limit)
    {
        rate = limiter.take(*key);
        if (!rate->allowed)
        {
            out.route = found ? found->route : out.route;
            out.answer = render_failure(
                s,
                {core::errc::rate_limited, "key " + key->id + " has used its request rate; retry after " +
                                               auth::rate_limiter::retry_after(*rate) + " s"},
                req);
            out.answer.set("Retry-After", auth::rate_limiter::retry_after(*rate));
            out.answer.set("RateLimit-Policy", auth::rate_limiter::policy_header(*key->rate_limit));
            out.answer.set("RateLimit", auth::rate_limiter::state_header(*rate));
            co_return out;
        }
    }
    out.answer = co_await route_and_handle(req, found, key, s);
    if (found)
        out.route = found->route;
    // Every 503 is a state that passes (a drain, a store out of reach): tell clients when to retry
    // (RFC 9110, section 10.2.3), unless the handler already did.
    if (out.answer.status == 503 &&
        std::none_of(out.answer.headers.begin(), out.answer.headers.end(),
                     [](const auto& h) { return iequals(h.first, "Retry-After"); }))
        out.answer.set("Retry-After", "1");
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
                                          const auth::api_key* key, const surface* s)
{
    const std::string_view path = req.path();
    if (!found)
        co_return render_failure(s, {core::errc::not_found, "no resource at " + std::string(path)}, req);
    if (req.verb() == method::options)
    {
        response r;
        r.status = 204;
        r.set("Allow", found->allow + ", OPTIONS");
        co_return r;
    }
    if (!found->binding)
    {
        response r = render_failure(
            s,
            {core::errc::method_not_allowed,
             std::string(req.method_text()) + " is not allowed here; allowed: " + found->allow},
            req);
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
    co_return render_failure(s, {core::errc::internal, ""}, req);
}

} // namespace

} // namespace reqstore::http
