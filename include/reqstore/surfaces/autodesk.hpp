// Autodesk Data Connector requests (seed 002): `PATCH` and `GET
// /data-connector/v1/accounts/{accountId}/requests/{requestId}` with Bearer credentials, the
// camelCase request object, account ownership, 415 for non-JSON bodies, and the Data Connector's
// callback body, over the type `autodesk_data_request`. docs/SURFACES.md describes the mapping.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/router.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace reqstore::surfaces
{

inline constexpr std::string_view autodesk_type = "autodesk_data_request";

// Adds the surface and its routes. `service` must outlive the router.
void add_autodesk_surface(http::router& routes, core::record_service& service);

// The body POSTed to the callbackUrl of a request of this type when its state changes:
// {"accountId","requestId","jobId","state","success"}. `event` is the change feed entry, `record`
// the request at that version. nullopt for records of other types (they get the standard body).
std::optional<std::string> autodesk_callback_body(const boost::json::object& event,
                                                  const boost::json::value& record);

} // namespace reqstore::surfaces
