// DocSpring's data requests (seed 000): `PUT` and `GET /api/v1/data_requests/{id}` with Basic
// `token_id:token_secret`, the `{"status":"success","data_request":{...}}` envelope and
// `{"status":"error","error":...}` refusals, over the type `docspring_data_request`.
// docs/SURFACES.md describes the mapping.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

#include <string_view>

namespace reqstore::surfaces
{

inline constexpr std::string_view docspring_type = "docspring_data_request";

// Adds the surface and its routes. `service` must outlive the router.
void add_docspring_surface(http::router& routes, core::record_service& service);

} // namespace reqstore::surfaces
