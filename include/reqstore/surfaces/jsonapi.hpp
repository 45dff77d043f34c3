// The JSON:API requests service (seed 003): `PATCH` and `GET /api/public/v1/requests/{request_id}`
// with Bearer credentials (or X-API-Key), resource objects with `jsonapi` and `links` members,
// both application/vnd.api+json and application/json, and JSON:API `errors` arrays, over the type
// `jsonapi_request`. docs/SURFACES.md describes the mapping.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

#include <string_view>

namespace reqstore::surfaces
{

inline constexpr std::string_view jsonapi_type = "jsonapi_request";

// Adds the surface and its routes. `service` must outlive the router.
void add_jsonapi_surface(http::router& routes, core::record_service& service);

} // namespace reqstore::surfaces
