// Online backups (contract section 14) as the API sees them: an engine that can copy itself while it
// serves implements backup_store; the API knows nothing of how.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/time.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace reqstore::core
{

struct backup_info
{
    std::string id;         // the backup's directory name under backup.dir
    std::uint64_t sequence; // the change feed's last sequence in the copy: every write up to it, none after
    std::uint64_t bytes;    // the size of the copy's files
    unix_millis created_at; // when the copy was taken
};

class backup_store
{
public:
    virtual ~backup_store() = default;

    // Writes a consistent copy of the store while it keeps serving, and completes with what it
    // holds. Backups are taken one at a time: a second call waits for the first. Fails with
    // errc::internal naming the directory and the reason (no space, no permission), leaving no
    // partial backup listed.
    virtual boost::asio::awaitable<result<backup_info>> create_backup() = 0;

    // The complete backups, oldest first. Fails with errc::internal when the directory cannot be read.
    virtual boost::asio::awaitable<result<std::vector<backup_info>>> list_backups() = 0;
};

} // namespace reqstore::core
