// The web console's routes (contract section 15): GET /console (a redirect), /console/ (the page)
// and /console/assets/{file}, served from the files embedded in the binary. Public: the page holds
// no data, and every call it makes carries the key the user typed.
#pragma once

#include <reqstore/api/console_assets.hpp>
#include <reqstore/http/router.hpp>

#include <span>

namespace reqstore::api
{

// `files` (console_files(), or a test's own) must outlive the router.
void add_console_routes(http::router& routes, std::span<const embedded_file> files);

} // namespace reqstore::api
