// ConsentGrid data-subject requests (seed 004): `PUT /v1/dsr/requests/{id}?by.type=&by.id=` with
// Bearer credentials, and the data subject's own `PUT /v1/dsr/my/{acct}/requests/{id}` with the
// session cookie `cgs_{acct}`; answers are the `{"result":{...}}` update status object, over the
// type `dsr`. docs/SURFACES.md describes the mapping.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

#include <string_view>

namespace reqstore::surfaces
{

inline constexpr std::string_view dsr_type = "dsr";

// Adds the surface and its routes. `service` must outlive the router.
void add_consentgrid_surface(http::router& routes, core::record_service& service);

} // namespace reqstore::surfaces
