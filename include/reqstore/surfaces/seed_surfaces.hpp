// The five seed APIs reqstore was designed from, served as surfaces over the core (API.md
// section 12, docs/SURFACES.md).
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

namespace reqstore::surfaces
{

// Adds every seed surface whose type is declared in config; a surface whose type was removed
// from config is left out (and logged). `service` must outlive the router.
void add_seed_surfaces(http::router& routes, core::record_service& service);

} // namespace reqstore::surfaces
