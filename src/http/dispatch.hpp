// Internal to the http module: from a parsed request to its answer, in the contract's order:
// authentication (401), scope (403), rate limit (429), route (404/405), then the handler. The
// path's surface decides how the caller authenticates and how these refusals are worded. The
// scope depends on the route, so an unknown route or method is answered after the rate limit
// without a scope check. Knows nothing of Beast.
#pragma once

#include <reqstore/auth/keys.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/http/message.hpp>
#include <reqstore/http/router.hpp>

#include <boost/asio/awaitable.hpp>

namespace reqstore::http
{

struct dispatch_result
{
    response answer;
    std::size_t route = static_cast<std::size_t>(-1); // -1: no route matched
    std::string key_id;                               // empty when unauthenticated
};

// The answer to `f` in the words of `s`, the request's surface (see router::surface_for); a path
// no surface covers (health, metrics) is answered with a native problem document.
response render_failure(const surface* s, const core::failure& f, const request& req);

// Never throws: a handler's exception becomes a logged 500.
boost::asio::awaitable<dispatch_result> dispatch(const request& req, const router& routes,
                                                 const auth::key_registry& keys, auth::rate_limiter& limiter);

} // namespace reqstore::http
