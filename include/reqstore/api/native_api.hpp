// The native surface, /v1/requests: HTTP requests in, core::record_service calls, HTTP answers
// out (ETag, Location, Content-Location, problem+json). See docs/API.md.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

namespace reqstore::api
{

class idempotency_keys;

// The surface of every /v1 path: the credentials of API.md section 8 (Basic, Bearer, X-API-Key)
// and problem+json refusals.
http::surface native_surface();

// Adds the record routes to `routes`. `service` and `idempotency` must outlive the router.
void add_native_routes(http::router& routes, core::record_service& service, idempotency_keys& idempotency);

} // namespace reqstore::api
