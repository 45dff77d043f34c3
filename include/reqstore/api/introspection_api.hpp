// Introspection (contract section 15): who the caller is, and which request types the server keeps.
#pragma once

#include <reqstore/core/request_type.hpp>
#include <reqstore/http/router.hpp>

namespace reqstore::api
{

// GET /v1/whoami (any valid key) → {"id", "scopes", "rate_limit", "subject"} of the calling key;
// GET /v1/types (scope requests:read) → {"data": [...]}, every type as core::describe_type gives it,
// in declaration order. `types` must outlive the router; `require_if_match` is the global setting.
void add_introspection_routes(http::router& routes, const core::type_registry& types, bool require_if_match);

} // namespace reqstore::api
