// The RocksDB implementation of core::record_store: the column families of ARCHITECTURE.md,
// group commit with one synced write per batch, and the gap-free global sequence of events.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/store/group_commit.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace rocksdb
{
class ColumnFamilyHandle;
class DB;
} // namespace rocksdb

namespace reqstore::store
{

enum class durability
{
    fsync,    // a commit completes after its batch is written and the WAL fsynced
    buffered, // a commit completes after its batch is in the WAL (OS buffers), not fsynced
};

struct store_options
{
    std::string data_dir;
    store::durability durability = durability::fsync;
    std::size_t block_cache_bytes = 128u << 20;
    std::size_t write_buffer_bytes = 64u << 20; // all memtables together
};

// Told about every group commit, on the commit thread: how many commits the batch held and how
// long the write (with its fsync) took. Must be cheap and thread-safe.
struct commit_observer
{
    std::function<void(std::size_t batch_size, std::chrono::nanoseconds write_time)> on_batch_written;
    // The newest sequence number after a batch that committed events.
    std::function<void(std::uint64_t last_sequence)> on_sequence;
};

class rocks_store final : public core::record_store, public core::outbox_store
{
public:
    // Opens (creating if needed) the database in options.data_dir. Fails with a message naming
    // the cause (a locked or corrupt directory, an unknown schema version, a sequence counter
    // that disagrees with the change feed).
    static core::result<std::unique_ptr<rocks_store>>
    open(const store_options& options, boost::asio::any_io_executor executor, commit_observer observer = {});

    // Closes if close() was not called; errors are then only logged.
    ~rocks_store() override;

    // Finishes queued commits, syncs the WAL, closes the database and reports its status.
    // Commits submitted afterwards fail with errc::unavailable.
    core::result<void> close();

    core::result<std::optional<core::stored_version>> load(std::string_view id) override;
    core::result<std::optional<core::stored_version>> load_version(std::string_view id,
                                                                   std::uint64_t version) override;
    core::result<std::vector<core::stored_version>> history(std::string_view id, std::uint64_t below_version,
                                                            std::size_t limit) override;
    core::result<core::list_page> list(const core::list_filter& filter, std::string_view after_id,
                                       std::size_t limit, std::size_t max_examined) override;
    boost::asio::awaitable<core::result<core::commit_receipt>> commit(core::commit_request request) override;
    std::shared_ptr<core::pending_commit> start_commit(core::commit_request request) override;
    core::result<std::vector<core::timer_key>> timers_due(core::unix_millis up_to,
                                                          std::size_t limit) override;
    core::result<std::optional<core::timer_key>> earliest_timer() override;
    core::result<void> remove_timer(const core::timer_key& timer) override;
    core::result<std::optional<core::idempotency_entry>> load_idempotency(std::string_view key) override;
    core::result<std::size_t> remove_idempotency_before(core::unix_millis cutoff) override;
    core::result<std::optional<std::string>> load_attachment(std::string_view id,
                                                             std::string_view sha256) override;

    core::result<std::vector<core::feed_entry>> events_after(std::uint64_t after, std::size_t limit) override;
    core::result<std::uint64_t> oldest_sequence() override;
    core::result<std::size_t> trim_events(core::unix_millis cutoff, std::uint64_t below) override;
    core::result<std::vector<core::subscription>> load_subscriptions() override;
    core::result<void> save_subscription(const core::subscription& s) override;
    core::result<void> delete_subscription(std::string_view id) override;
    core::result<std::uint64_t> fan_out_cursor() override;
    core::result<void> fan_out(std::uint64_t cursor, std::vector<core::delivery>& deliveries) override;
    core::result<void> save_delivery(const core::delivery& d) override;
    core::result<std::optional<core::delivery>> load_delivery(std::uint64_t id) override;
    core::result<std::vector<core::delivery>> open_deliveries() override;
    core::result<std::vector<core::delivery>> deliveries_to(std::string_view target,
                                                            const core::delivery_filter& filter) override;

    // The sequence number of the newest event (0 before the first). Thread-safe.
    std::uint64_t last_sequence() const noexcept;

    // False after a write to the engine failed and until a later one succeeds (RocksDB refuses
    // writes after a failed WAL write or sync until it has recovered). Thread-safe.
    bool healthy() const noexcept { return healthy_.load(std::memory_order_acquire); }

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
    core::result<void> open_db();
    void flush(std::vector<queued_commit>& batch); // one batch at a time (group_commit)
    void write_batch_of(std::vector<queued_commit>& batch);
    // The version of `id` in the store, for flush's compare-and-swap.
    core::result<std::uint64_t> committed_version(const std::string& id);

    // Constant after open().
    store_options options_;
    commit_observer observer_;
    std::unique_ptr<rocksdb::DB> db_;
    std::unique_ptr<column_families> cf_;

    // Written only on the commit thread, read anywhere.
    std::atomic<std::uint64_t> last_sequence_{0};
    std::atomic<bool> healthy_{true};
    std::atomic<std::uint64_t> last_delivery_id_{0}; // written by fan_out (one caller at a time)
    // Only in flush: the version each record was last committed at, for the compare-and-swap
    // without a read of the store. Records are written by flush alone, so an entry stays true;
    // cleared when it grows past a bound.
    std::unordered_map<std::string, std::uint64_t> committed_versions_;

    bool closed_ = false;
    std::unique_ptr<group_commit> committer_; // started by open() once the database is open
    boost::asio::any_io_executor executor_;
};

} // namespace reqstore::store
