// The operations routes outside /v1: /healthz, /readyz, /metrics and /openapi.json. Public: no
// credentials.
#pragma once

#include <reqstore/http/router.hpp>
#include <reqstore/ops/metrics.hpp>

#include <functional>

namespace reqstore::api
{

// `ready` says whether the server can serve requests now (store open, not draining).
// `stats` must outlive the router.
void add_operations_routes(http::router& routes, const ops::metrics& stats, std::function<bool()> ready);

} // namespace reqstore::api
