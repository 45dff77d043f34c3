// The PostgreSQL engine's schema: its tables and the commit function, as numbered migrations that
// open() applies in order under an advisory lock.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/store/pg/connection.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace reqstore::store::pg
{

// The schema version this build writes and reads.
constexpr int current_schema_version = 4;

// Creates `schema` (a name valid_schema_name accepts) if missing and brings it to
// current_schema_version. Safe when several nodes run it at once: the first takes a session
// advisory lock and the others wait for it. Fails when the database's encoding is not UTF-8 (bodies
// must come back as the exact bytes served) or the schema is newer than this build.
[[nodiscard]] boost::asio::awaitable<core::result<void>> migrate(connection& c, std::string schema,
                                                                 clock::time_point deadline);

// The statement that sets a new connection's search_path (and client encoding) to `schema`.
statement session_setup(std::string_view schema);

} // namespace reqstore::store::pg
