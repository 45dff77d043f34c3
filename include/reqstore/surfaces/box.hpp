// Box file requests (seed 001): `PUT` and `GET /2.0/file_requests/{file_request_id}` with Bearer
// credentials, bare etags in If-Match and in the body, numeric ids (others 400), and Box's error
// object, over the type `box_file_request`. docs/SURFACES.md describes the mapping.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

#include <string_view>

namespace reqstore::surfaces
{

inline constexpr std::string_view box_type = "box_file_request";

// Adds the surface and its routes. `service` must outlive the router.
void add_box_surface(http::router& routes, core::record_service& service);

} // namespace reqstore::surfaces
