// The RocksDB engine (the embedded default): core::record_store and core::outbox_store on the column families
// of ARCHITECTURE.md, group commit with one synced write per batch, and the gap-free global sequence of
// events.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/store/group_commit.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace rocksdb
{
class ColumnFamilyHandle;
class DB;
class Env;
class WriteBatch;
struct WriteOptions;
} // namespace rocksdb

namespace reqstore::store
{

enum class durability
{
    fsync,    // a commit completes after its batch is written and the WAL fsynced
    buffered, // a commit completes after its batch is in the WAL (OS buffers), not fsynced
};

// What opening the store does with a damaged write-ahead log.
enum class wal_recovery
{
    // Replays every intact record; refuses to open when a record is damaged (a checksum mismatch),
    // wherever it is. Only an incomplete record at the very end of a log is dropped: that is a write
    // cut short by a crash or power loss, which was never acknowledged.
    strict,
    // Replays up to the first damaged record and drops it and everything after it, acknowledged or
    // not. For an operator who chooses to start anyway, accepting that loss (docs/ARCHITECTURE.md).
    point_in_time,
};

struct store_options
{
    std::string data_dir;
    store::durability durability = durability::fsync;
    store::wal_recovery wal_recovery = wal_recovery::strict;
    std::size_t block_cache_bytes = 128u << 20;
    std::size_t write_buffer_bytes = 64u << 20; // all memtables together
};

using core::commit_observer;

// The link seam through which a test build runs RocksDB on another file system. A program defines
// storage_environment_for() exactly once: the server's definition (src/store/file_system_seam.cpp,
// the only thing in its object file) returns the defaults; the fault-injecting test server
// (tests/faultfs) links its own definition instead, so the server itself carries no test code.
struct storage_environment
{
    // The environment RocksDB does all its file I/O through; null means RocksDB's default.
    std::shared_ptr<rocksdb::Env> env;
    // Replaces store_options::wal_recovery when set (a test's negative control).
    std::optional<store::wal_recovery> wal_recovery;
};
// Called once by each open, before the database opens.
storage_environment storage_environment_for(const store_options& options);

class rocks_store final : public core::record_store, public core::outbox_store
{
public:
    template <class T>
    using awaitable_result = boost::asio::awaitable<core::result<T>>;

    // Opens (creating if needed) the database in options.data_dir. Fails with a message naming
    // the cause (a locked or corrupt directory, an unknown schema version, a sequence counter
    // that disagrees with the change feed).
    [[nodiscard]] static core::result<std::unique_ptr<rocks_store>>
    open(const store_options& options, boost::asio::any_io_executor executor, commit_observer observer = {});

    // Closes if close() was not called; errors are then only logged.
    ~rocks_store() override;

    // Finishes queued commits, syncs the WAL, closes the database and reports its status.
    // Commits submitted afterwards fail with errc::unavailable.
    [[nodiscard]] core::result<void> close();

    // core::record_store: the contract of each call is in core/record_store.hpp. Every read here
    // completes without suspending.
    [[nodiscard]] awaitable_result<std::optional<core::stored_version>> load(std::string_view id) override;
    [[nodiscard]] awaitable_result<std::optional<core::stored_version>>
    load_version(std::string_view id, std::uint64_t version) override;
    [[nodiscard]] awaitable_result<std::vector<core::stored_version>>
    history(std::string_view id, std::uint64_t below_version, std::size_t limit) override;
    [[nodiscard]] awaitable_result<core::list_page> list(const core::list_filter& filter,
                                                         std::string_view after_id, std::size_t limit,
                                                         std::size_t max_examined) override;
    std::shared_ptr<core::pending_commit> start_commit(core::commit_request request) override;
    [[nodiscard]] awaitable_result<std::vector<core::timer_key>> timers_due(core::unix_millis up_to,
                                                                            std::size_t limit) override;
    [[nodiscard]] awaitable_result<std::optional<core::timer_key>> earliest_timer() override;
    [[nodiscard]] awaitable_result<void> remove_timer(const core::timer_key& timer) override;
    [[nodiscard]] awaitable_result<std::optional<core::idempotency_entry>>
    load_idempotency(std::string_view key) override;
    [[nodiscard]] awaitable_result<std::size_t> remove_idempotency_before(core::unix_millis cutoff) override;
    [[nodiscard]] awaitable_result<std::optional<std::string>>
    load_attachment(std::string_view id, std::string_view sha256) override;

    // core::outbox_store (core/outbox.hpp).
    [[nodiscard]] awaitable_result<std::vector<core::feed_entry>> events_after(std::uint64_t after,
                                                                               std::size_t limit) override;
    [[nodiscard]] awaitable_result<std::uint64_t> oldest_sequence() override;
    [[nodiscard]] awaitable_result<std::size_t> trim_events(core::unix_millis cutoff,
                                                            std::uint64_t below) override;
    [[nodiscard]] awaitable_result<std::vector<core::subscription>> load_subscriptions() override;
    [[nodiscard]] awaitable_result<void> save_subscription(const core::subscription& s) override;
    [[nodiscard]] awaitable_result<void> delete_subscription(std::string_view id) override;
    [[nodiscard]] awaitable_result<std::uint64_t> fan_out_cursor() override;
    [[nodiscard]] awaitable_result<void> fan_out(std::uint64_t cursor,
                                                 std::vector<core::delivery>& deliveries) override;
    [[nodiscard]] awaitable_result<void> save_delivery(const core::delivery& d) override;
    [[nodiscard]] awaitable_result<std::optional<core::delivery>> load_delivery(std::uint64_t id) override;
    [[nodiscard]] awaitable_result<std::vector<core::delivery>> open_deliveries() override;
    [[nodiscard]] awaitable_result<std::vector<core::delivery>>
    deliveries_to(std::string_view target, const core::delivery_filter& filter) override;

    // The sequence number of the newest event (0 before the first). Thread-safe.
    std::uint64_t last_sequence() const noexcept;

    // Writes a consistent, openable copy of the database into `dir`, which must not exist, while
    // commits go on (RocksDB's checkpoint: the memtables are flushed, the table files hard-linked
    // when `dir` is on the same file system and copied otherwise, the live write-ahead log copied).
    // Blocks for as long as that takes: call it off the I/O threads. Thread-safe, but not with
    // close(), which must wait for it. Fails with errc::internal naming the reason.
    [[nodiscard]] core::result<void> write_checkpoint(const std::string& dir);

    // False once a write to the engine has failed, until the process ends: from then on every write
    // fails at once with errc::unavailable (reads still work). A failed write or fsync may have
    // lost data the kernel had accepted, so the store never retries it (docs/ARCHITECTURE.md,
    // "When a write fails"). Thread-safe.
    bool healthy() const noexcept { return !writes_stopped_.load(std::memory_order_acquire); }

    // RocksDB's background compaction: how many run now, and how many bytes it estimates are
    // still to be rewritten (0 once every level is within its target size).
    struct compaction_state
    {
        std::uint64_t running = 0;
        std::uint64_t pending_bytes = 0;
    };
    compaction_state compaction() const;

private:
    struct column_families;

    rocks_store(const store_options& options, boost::asio::any_io_executor executor,
                commit_observer observer);
    // open() in named steps: the options and the database with its column families, then the schema
    // version (written when the database is new), then the sequence and delivery counters (checked
    // against the change feed).
    [[nodiscard]] core::result<void> open_db();
    [[nodiscard]] core::result<void> open_database(store::wal_recovery recovery);
    [[nodiscard]] core::result<void> check_schema();
    [[nodiscard]] core::result<void> read_counters();
    void flush(std::vector<queued_commit>& batch); // one batch at a time (group_commit)
    // errc::unavailable once the database is closed (every call after close() answers so), else
    // nothing.
    std::optional<core::failure> refused_when_closed() const;
    // Why writes are refused, or nothing while they are accepted.
    [[nodiscard]] std::optional<core::failure> writes_refused() const;
    // Every write to the engine goes through here: refused at once once writes have stopped, and
    // a failure stops every later one (logged once, naming RocksDB's status).
    [[nodiscard]] core::result<void> write_to_engine(const rocksdb::WriteOptions& options,
                                                     rocksdb::WriteBatch& batch, std::string_view what);
    void write_batch_of(std::vector<queued_commit>& batch);
    // The version of `id` in the store (0 when absent), for flush's compare-and-swap.
    [[nodiscard]] core::result<core::predecessor> committed_version(const std::string& id);
    // When the answer stored for idempotency key `key` was created, if one is stored.
    [[nodiscard]] core::result<std::optional<core::unix_millis>> answered_at(const std::string& key);
    // Synchronous bodies shared by the awaitable calls.
    [[nodiscard]] core::result<std::optional<core::stored_version>> load_now(std::string_view id);
    [[nodiscard]] core::result<std::optional<core::delivery>> load_delivery_now(std::uint64_t id);

    // Constant after open().
    store_options options_;
    commit_observer observer_;
    std::shared_ptr<rocksdb::Env> env_; // outlives db_, which uses it
    std::unique_ptr<rocksdb::DB> db_;
    std::unique_ptr<column_families> cf_;

    // Written only on the commit thread, read anywhere.
    std::atomic<std::uint64_t> last_sequence_{0};
    std::atomic<bool> writes_stopped_{false};        // set once, by write_to_engine, after write_failure_
    mutable std::mutex failure_mutex_;               // guards write_failure_
    std::string write_failure_;                      // what failed and RocksDB's status, set once
    std::atomic<std::uint64_t> last_delivery_id_{0}; // written by fan_out (one caller at a time)
    // Only in flush: the version (and tag) each record was last committed at, for the
    // compare-and-swap without a read of the store. Records are written by flush alone, so an entry
    // stays true; cleared when it grows past a bound.
    std::unordered_map<std::string, core::predecessor> committed_versions_;

    bool closed_ = false;
    std::unique_ptr<group_commit> committer_; // started by open() once the database is open
    boost::asio::any_io_executor executor_;
};

} // namespace reqstore::store
