// A RocksDB file system for tests that models what survives a power loss, and fails chosen
// write-ahead-log operations on demand. Linked only into reqstore-faultfs (tests/faultfs/seam.cpp):
// the server itself, with every flag it takes, on top of this file system.
//
// The contract of reqstore-faultfs:
//   - start it exactly as reqstore (same flags, same output);
//   - `kill -USR2 <pid>` is a power loss: every file operation from then on blocks, every byte not
//     synced is dropped, and the process ends with _exit(137) at once, without any cleanup; it never
//     answers another request (its sockets are shut down first). One line on stderr says what was
//     dropped: "reqstore-faultfs: power loss: ...".
//   - REQSTORE_FAULTFS_FAIL injects I/O errors into write-ahead-log files (NNNNNN.log). A comma-
//     separated list of rules, each `<operation>:<when>`:
//       sync:after=N    WAL syncs 1..N succeed, sync N+1 fails (once), later ones succeed again;
//       write:after=N   WAL appends 1..N succeed, append N+1 fails (once, writing nothing);
//       sync:on-signal  every SIGUSR1 arms one failure of the next WAL sync;
//       write:on-signal every SIGUSR1 arms one failure of the next WAL append;
//       sync:marker=TEXT  the first WAL sync that would make durable bytes containing TEXT fails;
//       write:marker=TEXT the first WAL append whose bytes contain TEXT fails.
//     A marker (a string a test puts in one request's body) picks the commit to fail exactly, where
//     on-signal and after=N race with the server's other synced writes (the webhook fan-out's).
//     A failed sync drops the bytes it was to make durable (the file is cut back to its synced
//     length): after a failed fsync the kernel may have thrown the dirty pages away, the worst case
//     "fsyncgate" taught. Each armed or injected failure is announced on stderr with a line that
//     starts "reqstore-faultfs: armed" or "reqstore-faultfs: injected".
//   - REQSTORE_FAULTFS_RECOVERY=point-in-time opens the store with RocksDB's point-in-time WAL
//     recovery whatever the configuration says: the negative control of the corruption tests.
//
// What a power loss does, per the state tracked since the process started:
//   - every file written through this file system is cut back to the bytes last made durable by
//     Sync or Fsync (RangeSync starts writeback but promises nothing, and Close syncs nothing);
//   - files created, renamed, replaced or deleted since their directory was last fsynced get their
//     old names back, in reverse order: a created file is removed, a rename is undone (and the file
//     it replaced comes back), a deleted file comes back. Old contents are kept as hard links in
//     `<dir>/.faultfs-trash/` until the directory is synced.
// Not modelled: the kernel writing back some unsynced bytes (all are lost, the worst case), torn or
// reordered sectors inside synced data, directories created or removed, the info LOG (RocksDB
// writes it through its own logger), files opened for random read-write (reqstore does not use
// them; they pass through), and pages a failed fsync left in the page cache (they are dropped).
#pragma once

#include <rocksdb/file_system.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace reqstore::faultfs
{

// When injected failures happen (REQSTORE_FAULTFS_FAIL).
struct failure_plan
{
    struct rule
    {
        std::optional<std::uint64_t> after; // fail operation after+1, once
        bool on_signal = false;             // SIGUSR1 arms one failure
        std::string marker;                 // fail the first operation on bytes holding it, once
    };
    rule sync;
    rule write;
};

// Parses REQSTORE_FAULTFS_FAIL's value; an error message for a value that is not a valid plan.
struct plan_error
{
    std::string message;
};
std::variant<failure_plan, plan_error> parse_failure_plan(std::string_view text);

// What a power loss dropped.
struct power_loss_report
{
    std::size_t files_cut = 0;
    std::uint64_t bytes_dropped = 0;
    std::size_t creations_undone = 0;
    std::size_t renames_undone = 0;
    std::size_t deletions_undone = 0;
};

class fault_file_system final : public rocksdb::FileSystemWrapper
{
public:
    fault_file_system(std::shared_ptr<rocksdb::FileSystem> base, failure_plan plan);

    static const char* kClassName() { return "ReqstoreFaultFileSystem"; }
    const char* Name() const override { return kClassName(); }

    // Makes the next WAL sync and/or append fail, as the plan's on-signal rules say. Thread-safe.
    void arm();

    // The power loss: waits for the operations under way, blocks every later one forever, drops
    // what was not durable, and reports it. Call once; the caller then ends the process.
    power_loss_report lose_power();

    // ---- rocksdb::FileSystem
    rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                         rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                        const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSWritableFile>* result,
                                        rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                   std::unique_ptr<rocksdb::FSDirectory>* result,
                                   rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                                 rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                                 const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus LinkFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus CreateDir(const std::string& dirname, const rocksdb::IOOptions& options,
                                rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname, const rocksdb::IOOptions& options,
                                         rocksdb::IODebugContext* dbg) override;
    rocksdb::IOStatus DeleteDir(const std::string& dirname, const rocksdb::IOOptions& options,
                                rocksdb::IODebugContext* dbg) override;

    // ---- used by the file and directory wrappers
    struct file_state
    {
        std::string path;         // its current name; follows renames (guarded by state_mutex_)
        std::uint64_t size = 0;   // bytes written through this file system, or found at reopen
        std::uint64_t synced = 0; // of those, made durable by Sync or Fsync
        bool wal = false;         // a write-ahead log (NNNNNN.log)
        bool open = true;         // not closed yet
    };

    // Every operation runs between enter() and leave(); enter() blocks forever after a power loss.
    void enter();
    void leave();
    struct operation
    {
        explicit operation(fault_file_system& fs) : fs_(fs) { fs_.enter(); }
        ~operation() { fs_.leave(); }
        operation(const operation&) = delete;
        operation& operator=(const operation&) = delete;

    private:
        fault_file_system& fs_;
    };

    // Whether this WAL operation is the one to fail (counts it): a sync of `file`, an append of
    // `data`.
    bool fail_sync_now(const file_state& file);
    bool fail_write_now(std::string_view data);

    std::uint64_t size_of(const file_state& file);
    void appended(file_state& file, std::uint64_t bytes);
    void positioned(file_state& file, std::uint64_t end);
    void truncated(file_state& file, std::uint64_t size);
    void synced(file_state& file, std::uint64_t up_to);
    void closed(file_state& file);
    // A sync failed: the bytes it was to make durable are gone. Returns the length kept.
    std::uint64_t drop_unsynced(file_state& file);
    // `dir` was fsynced: what happened in it before `up_to` (an entry number) is durable.
    void directory_synced(const std::string& dir, std::uint64_t up_to);
    std::uint64_t next_entry();

private:
    // One name change in a directory since its last fsync, undone by a power loss.
    struct undo_entry
    {
        enum class kind
        {
            created, // undo: remove `path`
            renamed, // undo: rename `path` back to `from`
            deleted, // undo: move `saved` back to `path`
        };
        std::uint64_t number = 0;
        kind what = kind::created;
        std::string dir;
        std::string path;
        std::string from;  // renamed
        std::string saved; // deleted, or the file a create or rename replaced ("" if none)
    };

    // With state_mutex_ held.
    std::string save_to_trash(const std::string& path); // a hard link to `path`, "" if it does not exist
    void log_change(undo_entry entry);
    std::shared_ptr<file_state> track(const std::string& path, std::uint64_t size, std::uint64_t synced);
    void clear_trash_once(const std::string& dir);

    // Constant after construction.
    failure_plan plan_;

    // The gate: operations under way, and whether the power is gone.
    std::mutex gate_mutex_;
    std::condition_variable gate_changed_;
    std::size_t in_flight_ = 0;
    bool power_lost_ = false;

    // Guarded by state_mutex_.
    std::mutex state_mutex_;
    std::map<std::string, std::shared_ptr<file_state>> files_; // by current path
    std::vector<undo_entry> changes_;                          // in order
    std::uint64_t next_entry_ = 1;
    std::uint64_t trash_counter_ = 0;
    std::set<std::string> trash_cleared_; // directories whose old trash was removed
    std::uint64_t syncs_seen_ = 0;
    std::uint64_t writes_seen_ = 0;
    bool sync_armed_ = false;
    bool write_armed_ = false;
    bool sync_marker_seen_ = false;
    bool write_marker_seen_ = false;
};

// The parent directory of a path, and a path in the form the file system keys its state by.
std::string normal_path(std::string_view path);
std::string parent_of(std::string_view path);

// Writes one line to stderr with a single write(2); usable from any thread.
void announce(std::string_view line);

} // namespace reqstore::faultfs
