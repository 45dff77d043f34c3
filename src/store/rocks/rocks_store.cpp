// The RocksDB engine: opening and closing the database, its column families and schema, and the
// one path every write to RocksDB takes (write_to_engine), which stops writes after a failure.
#include <reqstore/ops/log.hpp>
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>
#include <reqstore/store/rocks/outbox_codec.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>
#include <reqstore/store/rocks/wal_check.hpp>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "rocks_internals.hpp"

namespace reqstore::store
{
namespace net = boost::asio;
using core::errc;
using core::failure;

namespace
{

constexpr std::uint64_t schema_version = 1;

// Why the database would not open when RocksDB found damage, and what the operator can do. The
// store replays write-ahead logs with kTolerateCorruptedTailRecords: an incomplete record at the end
// of a log (a write a crash cut short, never acknowledged) is dropped, a record that fails its
// checksum anywhere refuses the open. RocksDB's default, kPointInTimeRecovery, would instead stop at
// the damage and open without every later record, acknowledged ones included, and say nothing.
failure damaged_store(const std::string& data_dir, const rocksdb::Status& status)
{
    const std::string keep = "Keep a copy of " + data_dir + " before anything else. ";
    if (const auto damage = find_wal_damage(data_dir))
        return failure(errc::internal,
                       "the write-ahead log " + damage->file + " is damaged: the record at byte " +
                           std::to_string(damage->offset) + " fails its checksum (" + status.ToString() +
                           "), and " + std::to_string(damage->bytes_after) +
                           " bytes of log follow it. The store refuses to start rather than serve without "
                           "the acknowledged writes that record and the ones after it may hold. " +
                           keep +
                           "Then restore the directory from a backup, or accept the loss and start once with "
                           "--recover-wal point-in-time: the log is replayed up to the damage and everything "
                           "after it is dropped.");
    return failure(errc::internal, "RocksDB found damage in " + data_dir + ": " + status.ToString() +
                                       " (details in " + data_dir +
                                       "/LOG). The store refuses to start rather than serve with data "
                                       "missing. " +
                                       keep + "Then restore the directory from a backup.");
}

// Memtable insert hints (memtable_insert_with_hint_prefix_extractor): RocksDB remembers where it
// last inserted a key of each prefix and starts the next insert of that prefix there instead of
// searching the skip list from the top, which on a large memtable costs a cache miss per level.
// Every commit inserts its record (the same key as that record's last version), its version
// (after the record's last version) and its events (after the last event): each lands beside an
// earlier insert of its prefix.

// The prefix of a version key is its record's part: all but the 8-byte version (keys.hpp).
class record_of_version_key final : public rocksdb::SliceTransform
{
public:
    const char* Name() const override { return "reqstore.RecordOfVersionKey"; }
    rocksdb::Slice Transform(const rocksdb::Slice& key) const override
    {
        return rocksdb::Slice(key.data(), key.size() - 8);
    }
    bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

// Every key has the same (empty) prefix: for keys inserted in ascending order.
class one_prefix final : public rocksdb::SliceTransform
{
public:
    const char* Name() const override { return "reqstore.OnePrefix"; }
    rocksdb::Slice Transform(const rocksdb::Slice& key) const override
    {
        return rocksdb::Slice(key.data(), 0);
    }
    bool InDomain(const rocksdb::Slice&) const override { return true; }
};

} // namespace

failure engine_failure(std::string_view what, const rocksdb::Status& status)
{
    return {errc::internal, std::string(what) + ": " + status.ToString()};
}

std::string encode_u64(std::uint64_t v)
{
    std::string out;
    append_be64(out, v);
    return out;
}

rocks_store::rocks_store(const store_options& options, net::any_io_executor executor,
                         commit_observer observer)
    : options_(options), observer_(std::move(observer)), cf_(std::make_unique<column_families>()),
      executor_(std::move(executor))
{
}

core::result<std::unique_ptr<rocks_store>>
rocks_store::open(const store_options& options, net::any_io_executor executor, commit_observer observer)
{
    std::unique_ptr<rocks_store> store(new rocks_store(options, executor, std::move(observer)));
    if (auto opened = store->open_db(); !opened)
        return opened.error();
    // Synced writes need a thread of their own; unsynced ones are cheaper written on the I/O
    // executor than handed to one (group_commit.hpp).
    store->committer_ = std::make_unique<group_commit>(
        executor, [s = store.get()](std::vector<queued_commit>& batch) { s->flush(batch); },
        options.durability == durability::fsync ? flush_on::commit_thread : flush_on::io_executor);
    return store;
}

core::result<void> rocks_store::open_db()
{
    auto environment = storage_environment_for(options_);
    env_ = std::move(environment.env);
    const store::wal_recovery recovery = environment.wal_recovery.value_or(options_.wal_recovery);
    if (auto opened = open_database(recovery); !opened)
        return opened;
    if (auto checked = check_schema(); !checked)
        return checked;
    return read_counters();
}

core::result<void> rocks_store::open_database(store::wal_recovery recovery)
{
    rocksdb::Options db_options;
    if (env_)
        db_options.env = env_.get();
    db_options.create_if_missing = true;
    db_options.paranoid_checks = true;
    db_options.wal_recovery_mode = recovery == wal_recovery::strict
                                       ? rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords
                                       : rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    db_options.create_missing_column_families = true;
    db_options.max_background_jobs = 2;
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options_.write_buffer_bytes);

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Indexes and bloom filters live in the block cache (memory stays bounded however large the
    // store grows), partitioned so that a read loads only the partitions it needs, with the small
    // top-level index of each file pinned and index and filter blocks in the cache's high-priority
    // pool: with millions of records a whole-file index or filter no longer evicts the others on
    // every read.
    table.cache_index_and_filter_blocks = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_top_level_index_and_filter = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
    table.partition_filters = true;
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.write_buffer_size = std::min<std::size_t>(options_.write_buffer_bytes / 2, 32u << 20);

    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
    for (const char* name : column_families::names)
    {
        rocksdb::ColumnFamilyOptions options = cf_options;
        const std::string_view family(name);
        if (family == "records")
            options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewNoopTransform());
        else if (family == "versions")
            options.memtable_insert_with_hint_prefix_extractor = std::make_shared<record_of_version_key>();
        else if (family == "events")
            options.memtable_insert_with_hint_prefix_extractor = std::make_shared<one_prefix>();
        descriptors.emplace_back(name, std::move(options));
    }

    if (recovery == wal_recovery::point_in_time)
        if (const auto damage = find_wal_damage(options_.data_dir))
            ops::log().warn("point-in-time recovery: the write-ahead log is damaged; the record there and "
                            "every later one are dropped, acknowledged or not",
                            {{"file", damage->file},
                             {"offset", damage->offset},
                             {"bytes_dropped_after", damage->bytes_after}});

    // The families a new store lacks are created in one call after the open, not by the open itself:
    // DB::Open creates a missing family at a time, rewriting and re-reading the OPTIONS file for each
    // (nine times, about 60 ms of every first start, and several times that under the sanitizers).
    // A directory without a CURRENT file holds no store yet: it has only the default family once
    // opened. When an existing store cannot be listed (a damaged one) the open is left to say why.
    std::vector<std::string> existing;
    std::vector<rocksdb::ColumnFamilyDescriptor> missing;
    const bool new_store = !std::filesystem::exists(std::filesystem::path(options_.data_dir) / "CURRENT");
    if (new_store)
        existing.push_back(rocksdb::kDefaultColumnFamilyName);
    if (new_store || rocksdb::DB::ListColumnFamilies(db_options, options_.data_dir, &existing).ok())
    {
        const auto absent = std::stable_partition(
            descriptors.begin(), descriptors.end(),
            [&](const auto& d)
            { return std::find(existing.begin(), existing.end(), d.name) != existing.end(); });
        missing.assign(std::make_move_iterator(absent), std::make_move_iterator(descriptors.end()));
        descriptors.erase(absent, descriptors.end());
    }

    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    auto status = rocksdb::DB::Open(db_options, options_.data_dir, descriptors, &handles, &raw);
    db_.reset(raw);
    if (status.IsCorruption())
        return damaged_store(options_.data_dir, status);
    if (!status.ok())
        return engine_failure("cannot open the database in " + options_.data_dir, status);
    if (!missing.empty())
    {
        std::vector<rocksdb::ColumnFamilyHandle*> created;
        status = db_->CreateColumnFamilies(missing, &created);
        handles.insert(handles.end(), created.begin(), created.end());
        descriptors.insert(descriptors.end(), missing.begin(), missing.end());
        if (!status.ok())
        {
            for (auto* handle : handles)
                db_->DestroyColumnFamilyHandle(handle);
            db_.reset();
            return engine_failure("cannot create the column families in " + options_.data_dir, status);
        }
    }

    // cf_->handles is "default", then column_families::names in order.
    cf_->handles.assign(1 + column_families::names.size(), nullptr);
    for (std::size_t i = 0; i < descriptors.size(); ++i)
    {
        const auto& name = descriptors[i].name;
        const auto it = std::find(column_families::names.begin(), column_families::names.end(), name);
        cf_->handles[it == column_families::names.end() ? 0 : 1 + (it - column_families::names.begin())] =
            handles[i];
    }
    return {};
}

core::result<void> rocks_store::check_schema()
{
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_->meta(), slice(meta_schema_key), &value);
    if (s.IsNotFound())
    {
        rocksdb::WriteBatch batch;
        batch.Put(cf_->meta(), slice(meta_schema_key), encode_u64(schema_version));
        batch.Put(cf_->meta(), slice(meta_sequence_key), encode_u64(0));
        rocksdb::WriteOptions sync;
        sync.sync = true;
        if (s = db_->Write(sync, &batch); !s.ok())
            return engine_failure("cannot initialise the database", s);
    }
    else if (!s.ok())
        return engine_failure("cannot read the schema version", s);
    else if (read_be64(value) != schema_version)
        return failure(errc::internal, "the database in " + options_.data_dir + " has schema version " +
                                           std::to_string(read_be64(value).value_or(0)) +
                                           "; this build reads " + std::to_string(schema_version));
    return {};
}

core::result<void> rocks_store::read_counters()
{
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_->meta(), slice(meta_sequence_key), &value);
    if (!s.ok())
        return engine_failure("cannot read the event sequence", s);
    const std::uint64_t sequence = read_be64(value).value_or(0);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    it->SeekToLast();
    const std::uint64_t newest_event =
        it->Valid() ? read_be64(std::string_view(it->key().data(), it->key().size())).value_or(0) : 0;
    if (!it->status().ok())
        return engine_failure("cannot read the change feed", it->status());
    // The feed may have been trimmed empty (every entry fanned out and past the retention), but
    // never from its newest end: a newest entry other than the counter's is damage.
    if (newest_event != 0 && newest_event != sequence)
        return failure(errc::internal, "the event sequence counter (" + std::to_string(sequence) +
                                           ") disagrees with the newest event (" +
                                           std::to_string(newest_event) + ")");
    last_sequence_.store(sequence);
    s = db_->Get(rocksdb::ReadOptions(), cf_->meta(), slice(meta_delivery_id_key), &value);
    if (!s.ok() && !s.IsNotFound())
        return engine_failure("cannot read the delivery counter", s);
    last_delivery_id_.store(s.ok() ? read_be64(value).value_or(0) : 0);
    return {};
}

rocks_store::~rocks_store()
{
    if (closed_)
        return;
    if (auto closed = close(); !closed)
        ops::log().error("closing the store failed", {{"error", closed.error().detail}});
}

core::result<void> rocks_store::write_checkpoint(const std::string& dir)
{
    if (!db_)
        return failure(errc::unavailable, "the store is closed");
    rocksdb::Checkpoint* made = nullptr;
    auto s = rocksdb::Checkpoint::Create(db_.get(), &made);
    if (!s.ok())
        return engine_failure("cannot start a checkpoint", s);
    const std::unique_ptr<rocksdb::Checkpoint> checkpoint(made);
    // 0: flush the memtables first, so that the copy's write-ahead log is short and a restore
    // replays little of it.
    s = checkpoint->CreateCheckpoint(dir, 0);
    if (!s.ok())
        return engine_failure("cannot write a checkpoint to " + dir, s);
    return {};
}

core::result<void> rocks_store::close()
{
    if (closed_)
        return {};
    closed_ = true;
    if (committer_)
        committer_->stop();
    if (!db_)
        return {};
    // After a failed write the WAL is not synced again (write_to_engine says why): the store closes
    // as it is and reports the failure.
    const bool writes_failed = writes_stopped_.load(std::memory_order_acquire);
    rocksdb::Status status = writes_failed ? rocksdb::Status::OK() : db_->FlushWAL(true);
    for (auto* handle : cf_->handles)
    {
        const auto s = db_->DestroyColumnFamilyHandle(handle);
        if (status.ok())
            status = s;
    }
    cf_->handles.clear();
    const auto s = db_->Close();
    if (status.ok())
        status = s;
    db_.reset();
    if (!status.ok())
        return engine_failure("closing the database", status);
    if (auto refused = writes_refused())
        return *refused;
    return {};
}

std::uint64_t rocks_store::last_sequence() const noexcept
{
    return last_sequence_.load(std::memory_order_acquire);
}

std::optional<core::failure> rocks_store::refused_when_closed() const
{
    if (db_)
        return std::nullopt;
    return failure(errc::unavailable, "the store is closed");
}

std::optional<core::failure> rocks_store::writes_refused() const
{
    if (!writes_stopped_.load(std::memory_order_acquire))
        return std::nullopt;
    std::lock_guard lock(failure_mutex_);
    return failure(errc::writes_stopped, "the store failed to make a write durable (" + write_failure_ +
                                             ") and accepts no more writes: restart the server");
}

core::result<void> rocks_store::write_to_engine(const rocksdb::WriteOptions& options,
                                                rocksdb::WriteBatch& batch, std::string_view what)
{
    if (auto refused = writes_refused())
        return *refused;
    const auto s = db_->Write(options, &batch);
    if (s.ok())
        return {};
    // A failed write or fsync stops writes until the process restarts. After a failed fsync the
    // kernel may already have dropped the dirty pages it could not write (and marked them clean),
    // so a second fsync can report success for data that is gone: the "fsyncgate" lesson, the
    // reason PostgreSQL panics instead of retrying. RocksDB's Resume() would do exactly that
    // retry (sync the WAL again and carry on), so the store never calls it. What was acknowledged
    // before the failure is durable; the failed batch was never acknowledged and is in no memtable
    // (RocksDB inserts only after the WAL write and sync succeed). A restart replays what the log
    // really holds.
    const std::string status = s.ToString();
    bool first = false;
    {
        std::lock_guard lock(failure_mutex_);
        if (!writes_stopped_.load(std::memory_order_relaxed))
        {
            write_failure_ = std::string(what) + ": " + status;
            writes_stopped_.store(true, std::memory_order_release);
            first = true;
        }
    }
    if (first)
        ops::log().error(
            "a write to the store failed; every later write is refused until the server restarts",
            {{"operation", what}, {"status", status}, {"data_dir", options_.data_dir}});
    return engine_failure(what, s);
}

} // namespace reqstore::store
