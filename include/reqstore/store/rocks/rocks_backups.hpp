// Online backups of the RocksDB engine (contract section 14): checkpoints written under a backups
// directory while the server serves, each described by a manifest, and their restore into a new data
// directory (`reqstore restore`).
#pragma once

#include <reqstore/core/backups.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>

#include <boost/asio/thread_pool.hpp>

#include <string>

namespace reqstore::store
{

// A backup is the directory `<dir>/<id>`, holding `db/` (an openable RocksDB checkpoint) and
// `backup.json` (its backup_info, written last: a directory without it is an interrupted backup and
// is neither listed nor restored).
class rocks_backups final : public core::backup_store
{
public:
    // `store` must outlive this object. `dir` is created by the first backup; backups in it that a stop
    // or a crash interrupted are removed now. A backup's file work runs on a thread of its own; its
    // result completes on the executor of the coroutine that awaits it.
    rocks_backups(rocks_store& store, std::string dir);
    ~rocks_backups() override;
    rocks_backups(const rocks_backups&) = delete;
    rocks_backups& operator=(const rocks_backups&) = delete;

    boost::asio::awaitable<core::result<core::backup_info>> create_backup() override;
    boost::asio::awaitable<core::result<std::vector<core::backup_info>>> list_backups() override;

    // Waits for the backup under way, if any; call before the store closes, while the I/O context
    // still runs (the backup's completion is delivered there).
    void stop();

private:
    // Removes the backups a stop or a crash interrupted (bkp_* directories without a manifest).
    void remove_interrupted();
    core::result<core::backup_info> take_backup(); // on worker_
    core::result<std::vector<core::backup_info>> read_backups() const;

    rocks_store& store_;
    const std::string dir_;
    boost::asio::thread_pool worker_{1}; // one backup at a time
};

// Restores the backup in `from` (a backup's own directory) into `data_dir`, which must not exist or be
// empty: the database is copied to a sibling directory, opened read-only, every block's checksum
// verified and its last sequence compared with the manifest's, then renamed into place. Returns the
// backup's description, or a failure (errc::bad_request for what the caller named wrongly: a missing
// directory, one that is not a backup, a data directory in use; errc::internal for a damaged backup or
// a failed copy) that says what is wrong; `data_dir` is then left as it was.
core::result<core::backup_info> restore_backup(const std::string& from, const std::string& data_dir);

} // namespace reqstore::store
