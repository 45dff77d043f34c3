// The administration routes under /v1/admin (scope admin): online backups (contract section 14).
#pragma once

#include <reqstore/core/backups.hpp>
#include <reqstore/http/router.hpp>

namespace reqstore::api
{

// POST /v1/admin/backup → 201 {"id","sequence","bytes","created_at"}; GET /v1/admin/backups →
// 200 {"data": [...]}, oldest first. `backups` null (an engine that takes no backups of its own, such
// as PostgreSQL): both answer 501. `backups` must outlive the router.
void add_admin_routes(http::router& routes, core::backup_store* backups);

} // namespace reqstore::api
