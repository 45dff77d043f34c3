// RocksDB behind the core's storage interface: layout, reads, and the group-commit flush.
#include <reqstore/core/pending_commit.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/store/codec.hpp>
#include <reqstore/store/keys.hpp>
#include <reqstore/store/outbox_codec.hpp>
#include <reqstore/store/rocks_store.hpp>
#include <reqstore/store/wal_check.hpp>

#include <boost/json/parse.hpp>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <unordered_map>

namespace reqstore::store
{
namespace net = boost::asio;
using core::errc;
using core::failure;

namespace
{

constexpr std::uint64_t schema_version = 1;
constexpr std::string_view meta_schema_key = "schema_version";
constexpr std::string_view meta_sequence_key = "last_sequence";
constexpr std::string_view meta_fan_out_key = "fan_out_cursor";
constexpr std::string_view meta_delivery_id_key = "last_delivery_id";
// A listing page stops once the bodies it holds reach this size, whatever its limit.
constexpr std::size_t max_page_bytes = 8u << 20;

failure engine_failure(std::string_view what, const rocksdb::Status& status)
{
    return {errc::internal, std::string(what) + ": " + status.ToString()};
}

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

rocksdb::Slice slice(std::string_view s)
{
    return {s.data(), s.size()};
}

std::string encode_u64(std::uint64_t v)
{
    std::string out;
    append_be64(out, v);
    return out;
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

// The handles of every column family, owned by the store and destroyed before the database.
struct rocks_store::column_families
{
    static constexpr std::array<const char*, 9> names{"records",    "versions", "events",
                                                      "deliveries", "webhooks", "idempotency",
                                                      "timers",     "meta",     "attachments"};
    std::vector<rocksdb::ColumnFamilyHandle*> handles; // [0] is "default", then `names` in order

    rocksdb::ColumnFamilyHandle* records() const { return handles[1]; }
    rocksdb::ColumnFamilyHandle* versions() const { return handles[2]; }
    rocksdb::ColumnFamilyHandle* events() const { return handles[3]; }
    rocksdb::ColumnFamilyHandle* deliveries() const { return handles[4]; }
    rocksdb::ColumnFamilyHandle* webhooks() const { return handles[5]; }
    rocksdb::ColumnFamilyHandle* idempotency() const { return handles[6]; }
    rocksdb::ColumnFamilyHandle* timers() const { return handles[7]; }
    rocksdb::ColumnFamilyHandle* meta() const { return handles[8]; }
    rocksdb::ColumnFamilyHandle* attachments() const { return handles[9]; }
};

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

    rocksdb::DB* raw = nullptr;
    const auto status = rocksdb::DB::Open(db_options, options_.data_dir, descriptors, &cf_->handles, &raw);
    db_.reset(raw);
    if (status.IsCorruption())
        return damaged_store(options_.data_dir, status);
    if (!status.ok())
        return engine_failure("cannot open the database in " + options_.data_dir, status);

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

    if (s = db_->Get(rocksdb::ReadOptions(), cf_->meta(), slice(meta_sequence_key), &value); !s.ok())
        return engine_failure("cannot read the event sequence", s);
    const std::uint64_t sequence = read_be64(value).value_or(0);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    it->SeekToLast();
    const std::uint64_t newest_event =
        it->Valid() ? read_be64(std::string_view(it->key().data(), it->key().size())).value_or(0) : 0;
    if (!it->status().ok())
        return engine_failure("cannot read the change feed", it->status());
    if (newest_event != sequence)
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
    if (!closed_)
        (void)close();
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

core::result<std::optional<core::stored_version>> rocks_store::load(std::string_view id)
{
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->records(), slice(id), &value);
    if (s.IsNotFound())
        return std::optional<core::stored_version>();
    if (!s.ok())
        return engine_failure("reading record " + std::string(id), s);
    auto decoded = decode_version(std::string_view(value.data(), value.size()));
    if (!decoded)
        return failure(errc::internal, "record " + std::string(id) + " is stored in an unreadable format");
    return std::optional<core::stored_version>(std::move(*decoded));
}

core::result<std::optional<core::stored_version>> rocks_store::load_version(std::string_view id,
                                                                            std::uint64_t version)
{
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->versions(), version_key(id, version), &value);
    if (s.IsNotFound())
        return std::optional<core::stored_version>();
    if (!s.ok())
        return engine_failure("reading a version of " + std::string(id), s);
    auto decoded = decode_version(std::string_view(value.data(), value.size()));
    if (!decoded)
        return failure(errc::internal, "version " + std::to_string(version) + " of " + std::string(id) +
                                           " is stored in an unreadable format");
    return std::optional<core::stored_version>(std::move(*decoded));
}

core::result<std::vector<core::stored_version>>
rocks_store::history(std::string_view id, std::uint64_t below_version, std::size_t limit)
{
    std::vector<core::stored_version> out;
    if (below_version <= 1 || limit == 0)
        return out;
    const std::string lower = version_key(id, 0);
    rocksdb::ReadOptions read;
    const rocksdb::Slice lower_bound(lower);
    read.iterate_lower_bound = &lower_bound;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, cf_->versions()));
    for (it->SeekForPrev(version_key(id, below_version - 1)); it->Valid() && out.size() < limit; it->Prev())
    {
        const auto parts = parse_version_key(std::string_view(it->key().data(), it->key().size()));
        if (!parts || parts->id != id)
            break;
        auto decoded = decode_version(std::string_view(it->value().data(), it->value().size()), false);
        if (!decoded)
            return failure(errc::internal,
                           "a version of " + std::string(id) + " is stored in an unreadable format");
        out.push_back(std::move(*decoded));
    }
    if (!it->status().ok())
        return engine_failure("reading the history of " + std::string(id), it->status());
    return out;
}

core::result<core::list_page> rocks_store::list(const core::list_filter& filter, std::string_view after_id,
                                                std::size_t limit, std::size_t max_examined)
{
    core::list_page page;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->records()));
    it->Seek(slice(after_id));
    if (it->Valid() && !after_id.empty() && std::string_view(it->key().data(), it->key().size()) == after_id)
        it->Next();
    std::size_t examined = 0;
    std::size_t page_bytes = 0;
    std::string last_examined;
    for (; it->Valid() && page.records.size() < limit && examined < max_examined; it->Next())
    {
        ++examined;
        last_examined.assign(it->key().data(), it->key().size());
        const std::string_view value(it->value().data(), it->value().size());
        // Judge the filter on the header alone; copy a body only for a record the page keeps.
        auto head = decode_version(value, false);
        if (!head)
            return failure(errc::internal, "record " + last_examined + " is stored in an unreadable format");
        if (head->deleted || (filter.type && head->type != *filter.type) ||
            (filter.status && head->status != *filter.status) ||
            (filter.updated_since && head->updated_at < *filter.updated_since))
            continue;
        auto decoded = decode_version(value);
        if (!decoded)
            return failure(errc::internal, "record " + last_examined + " is stored in an unreadable format");
        page_bytes += decoded->body.size();
        page.records.push_back(std::move(*decoded));
        if (page_bytes >= max_page_bytes)
        {
            it->Next();
            break;
        }
    }
    if (!it->status().ok())
        return engine_failure("listing records", it->status());
    // The loop's increment has already stepped past the last examined record: a valid
    // iterator means more records follow, and the next page resumes after that one.
    if (it->Valid())
        page.last_examined_id = std::move(last_examined);
    return page;
}

net::awaitable<core::result<core::commit_receipt>> rocks_store::commit(core::commit_request request)
{
    queued_commit entry;
    entry.encoded_version = encode_version(request.next);
    entry.request = std::move(request);
    co_return co_await committer_->submit(std::move(entry));
}

std::shared_ptr<core::pending_commit> rocks_store::start_commit(core::commit_request request)
{
    auto pending = std::make_shared<core::pending_commit>();
    queued_commit entry;
    entry.encoded_version = encode_version(request.next);
    entry.request = std::move(request);
    committer_->submit_then(std::move(entry), [pending](core::result<core::commit_receipt> outcome)
                            { pending->complete(std::move(outcome)); });
    return pending;
}

void rocks_store::flush(std::vector<queued_commit>& batch)
{
    try
    {
        write_batch_of(batch);
    }
    catch (...)
    {
        // The write failed (nothing of the batch was written), or an observer threw after it
        // succeeded: which versions of the map are in the store is unknown.
        committed_versions_.clear();
        throw;
    }
}

rocks_store::compaction_state rocks_store::compaction() const
{
    compaction_state state;
    if (!db_ || closed_)
        return state;
    std::uint64_t value = 0;
    if (db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &value))
        state.running = value;
    if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &value))
        state.pending_bytes = value;
    return state;
}

core::result<std::uint64_t> rocks_store::committed_version(const std::string& id)
{
    if (const auto it = committed_versions_.find(id); it != committed_versions_.end())
        return it->second;
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->records(), slice(id), &value);
    if (s.IsNotFound())
        return 0;
    if (!s.ok())
        return engine_failure("reading record " + id + " before commit", s);
    const auto head = decode_version_head(std::string_view(value.data(), value.size()));
    if (!head)
        return failure(errc::internal, "record " + id + " is stored in an unreadable format");
    return head->version;
}

void rocks_store::write_batch_of(std::vector<queued_commit>& batch)
{
    if (auto refused = writes_refused())
    {
        for (auto& entry : batch)
            entry.outcome = *refused;
        return;
    }
    rocksdb::WriteBatch write;
    // Bounded: a record not held is read from the store.
    if (committed_versions_.size() > 100'000)
        committed_versions_.clear();
    // The versions of this batch enter committed_versions_ as they are accepted; if the write
    // fails, they must leave it.
    const auto forget_batch = [&]
    {
        for (const auto& entry : batch)
            if (entry.outcome)
                committed_versions_.erase(entry.request.id);
    };
    std::uint64_t sequence = last_sequence_.load(std::memory_order_relaxed);
    std::size_t accepted = 0;

    for (auto& entry : batch)
    {
        const auto& request = entry.request;
        // Compare-and-swap on the current version: the per-record strands already serialize
        // writers, and this check makes the store refuse, rather than overwrite, if they ever don't.
        auto current = committed_version(request.id);
        if (!current)
        {
            entry.outcome = current.error();
            continue;
        }
#ifndef REQSTORE_NEGATIVE_CONTROL_NO_RECORD_SERIALIZATION // the crash test's control build (record_locks.hpp)
        if (*current != request.expected_version || request.next.version != request.expected_version + 1)
#else
        if (false)
#endif
        {
            entry.outcome = failure(errc::precondition_failed, "record " + request.id + " is at version " +
                                                                   std::to_string(*current) + ", not " +
                                                                   std::to_string(request.expected_version));
            continue;
        }
        write.Put(cf_->records(), slice(request.id), entry.encoded_version);
        write.Put(cf_->versions(), version_key(request.id, request.next.version), entry.encoded_version);
        core::commit_receipt receipt{sequence + 1};
        for (const auto& event : request.events)
        {
            ++sequence;
            write.Put(cf_->events(), sequence_key(sequence), encode_event(event, sequence));
        }
        for (const auto& timer : request.timers_removed)
            write.Delete(cf_->timers(), timer_key_bytes(timer.due, timer.id));
        for (const auto& timer : request.timers_added)
            write.Put(cf_->timers(), timer_key_bytes(timer.due, timer.id), rocksdb::Slice());
        if (request.idempotency)
            write.Put(cf_->idempotency(), slice(request.idempotency->key),
                      encode_idempotency(*request.idempotency));
        for (const auto& blob : request.attachments)
            write.Put(cf_->attachments(), attachment_key(request.id, blob.sha256), slice(blob.bytes));
        committed_versions_[request.id] = request.next.version;
        entry.outcome = receipt;
        ++accepted;
    }
    if (accepted == 0)
        return;
    write.Put(cf_->meta(), slice(meta_sequence_key), encode_u64(sequence));

    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    const auto started = std::chrono::steady_clock::now();
    auto written = write_to_engine(options, write, "committing a batch");
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (!written)
    {
        // With sync set RocksDB writes the WAL, syncs it, and only then inserts into the memtables:
        // a batch whose write or sync failed is in no memtable, so no read can return it.
        forget_batch();
        for (auto& entry : batch)
            if (entry.outcome)
                entry.outcome = written.error();
        return;
    }
    last_sequence_.store(sequence, std::memory_order_release);
    if (observer_.on_sequence)
        observer_.on_sequence(sequence);
    if (observer_.on_batch_written)
        observer_.on_batch_written(accepted, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
}

core::result<std::vector<core::timer_key>> rocks_store::timers_due(core::unix_millis up_to, std::size_t limit)
{
    std::vector<core::timer_key> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->timers()));
    for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next())
    {
        const auto parts = parse_timer_key(std::string_view(it->key().data(), it->key().size()));
        if (!parts)
            return failure(errc::internal, "a scheduled transition is stored in an unreadable format");
        if (parts->due > up_to)
            break;
        out.push_back({parts->due, std::string(parts->id)});
    }
    if (!it->status().ok())
        return engine_failure("reading scheduled transitions", it->status());
    return out;
}

core::result<std::optional<core::timer_key>> rocks_store::earliest_timer()
{
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->timers()));
    it->SeekToFirst();
    if (!it->status().ok())
        return engine_failure("reading scheduled transitions", it->status());
    if (!it->Valid())
        return std::optional<core::timer_key>();
    const auto parts = parse_timer_key(std::string_view(it->key().data(), it->key().size()));
    if (!parts)
        return failure(errc::internal, "a scheduled transition is stored in an unreadable format");
    return std::optional<core::timer_key>(core::timer_key{parts->due, std::string(parts->id)});
}

core::result<void> rocks_store::remove_timer(const core::timer_key& timer)
{
    rocksdb::WriteBatch batch;
    batch.Delete(cf_->timers(), timer_key_bytes(timer.due, timer.id));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    return write_to_engine(options, batch, "removing a scheduled transition of " + timer.id);
}

core::result<std::optional<core::idempotency_entry>> rocks_store::load_idempotency(std::string_view key)
{
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->idempotency(), slice(key), &value);
    if (s.IsNotFound())
        return std::optional<core::idempotency_entry>();
    if (!s.ok())
        return engine_failure("reading an idempotency key", s);
    auto decoded = decode_idempotency(key, std::string_view(value.data(), value.size()));
    if (!decoded)
        return failure(errc::internal, "an idempotency entry is stored in an unreadable format");
    return std::optional<core::idempotency_entry>(std::move(*decoded));
}

core::result<std::optional<std::string>> rocks_store::load_attachment(std::string_view id,
                                                                      std::string_view sha256)
{
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->attachments(), attachment_key(id, sha256), &value);
    if (s.IsNotFound())
        return std::optional<std::string>();
    if (!s.ok())
        return engine_failure("reading an attachment", s);
    return std::optional<std::string>(std::move(value));
}

core::result<std::size_t> rocks_store::remove_idempotency_before(core::unix_millis cutoff)
{
    rocksdb::WriteBatch batch;
    std::size_t removed = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->idempotency()));
    for (it->SeekToFirst(); it->Valid(); it->Next())
    {
        const std::string_view key(it->key().data(), it->key().size());
        const auto entry = decode_idempotency(key, std::string_view(it->value().data(), it->value().size()));
        if (!entry || entry->created_at < cutoff)
        {
            batch.Delete(cf_->idempotency(), it->key());
            ++removed;
        }
    }
    if (!it->status().ok())
        return engine_failure("scanning idempotency keys", it->status());
    if (removed == 0)
        return removed;
    if (auto written = write_to_engine(rocksdb::WriteOptions(), batch, "removing expired idempotency keys");
        !written)
        return written.error();
    return removed;
}

// ---- the outbox ---------------------------------------------------------------------------------
//
// `deliveries` holds three kinds of keys: 'd' + id -> the delivery; 't' + target + 0x00 + id -> ""
// (a target's deliveries in id order, for the delivery log); 'o' + id -> "" while the delivery is
// open (pending or failed), so a restart reads only those.

namespace
{

std::string delivery_key(char kind, std::uint64_t id)
{
    std::string key(1, kind);
    append_be64(key, id);
    return key;
}

std::string target_key(std::string_view target, std::uint64_t id)
{
    std::string key("t");
    key.append(target);
    key.push_back('\0');
    append_be64(key, id);
    return key;
}

bool is_open(core::delivery_status s)
{
    return s == core::delivery_status::pending || s == core::delivery_status::failed;
}

} // namespace

core::result<std::vector<core::feed_entry>> rocks_store::events_after(std::uint64_t after, std::size_t limit)
{
    std::vector<core::feed_entry> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    for (it->Seek(sequence_key(after + 1)); it->Valid() && out.size() < limit; it->Next())
    {
        const auto sequence = read_be64(std::string_view(it->key().data(), it->key().size()));
        if (!sequence)
            return failure(errc::internal, "a change feed key is unreadable");
        out.push_back({*sequence, it->value().ToString()});
    }
    if (!it->status().ok())
        return engine_failure("reading the change feed", it->status());
    return out;
}

core::result<std::uint64_t> rocks_store::oldest_sequence()
{
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    it->SeekToFirst();
    if (!it->status().ok())
        return engine_failure("reading the change feed", it->status());
    if (!it->Valid())
        return std::uint64_t{0};
    return read_be64(std::string_view(it->key().data(), it->key().size())).value_or(0);
}

core::result<std::size_t> rocks_store::trim_events(core::unix_millis cutoff, std::uint64_t below)
{
    rocksdb::WriteBatch batch;
    std::size_t removed = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    for (it->SeekToFirst(); it->Valid(); it->Next())
    {
        const auto sequence = read_be64(std::string_view(it->key().data(), it->key().size())).value_or(0);
        if (sequence >= below)
            break;
        boost::system::error_code ec;
        const auto entry = boost::json::parse(std::string_view(it->value().data(), it->value().size()), ec);
        const auto* at = !ec && entry.is_object() ? entry.get_object().if_contains("at") : nullptr;
        const auto when = at && at->is_string() ? core::parse_rfc3339(at->get_string()) : std::nullopt;
        if (when && *when >= cutoff)
            break;
        batch.Delete(cf_->events(), it->key());
        ++removed;
    }
    if (!it->status().ok())
        return engine_failure("trimming the change feed", it->status());
    if (removed > 0)
        if (auto written = write_to_engine(rocksdb::WriteOptions(), batch, "trimming the change feed");
            !written)
            return written.error();
    return removed;
}

core::result<std::vector<core::subscription>> rocks_store::load_subscriptions()
{
    std::vector<core::subscription> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->webhooks()));
    for (it->SeekToFirst(); it->Valid(); it->Next())
    {
        auto s = decode_subscription(std::string_view(it->value().data(), it->value().size()));
        if (!s)
            return failure(errc::internal, "subscription " + it->key().ToString() + " is unreadable");
        out.push_back(std::move(*s));
    }
    if (!it->status().ok())
        return engine_failure("reading subscriptions", it->status());
    return out;
}

core::result<void> rocks_store::save_subscription(const core::subscription& sub)
{
    rocksdb::WriteBatch batch;
    batch.Put(cf_->webhooks(), slice(sub.id), encode_subscription(sub));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    return write_to_engine(options, batch, "saving subscription " + sub.id);
}

core::result<void> rocks_store::delete_subscription(std::string_view id)
{
    rocksdb::WriteBatch batch;
    batch.Delete(cf_->webhooks(), slice(id));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    return write_to_engine(options, batch, "deleting subscription " + std::string(id));
}

core::result<std::uint64_t> rocks_store::fan_out_cursor()
{
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->meta(), slice(meta_fan_out_key), &value);
    if (s.IsNotFound())
        return std::uint64_t{0};
    if (!s.ok())
        return engine_failure("reading the fan-out cursor", s);
    return read_be64(value).value_or(0);
}

core::result<void> rocks_store::fan_out(std::uint64_t cursor, std::vector<core::delivery>& deliveries)
{
    rocksdb::WriteBatch batch;
    std::uint64_t id = last_delivery_id_.load(std::memory_order_relaxed);
    for (auto& d : deliveries)
    {
        d.id = ++id;
        batch.Put(cf_->deliveries(), delivery_key('d', d.id), encode_delivery(d));
        batch.Put(cf_->deliveries(), target_key(d.target, d.id), rocksdb::Slice());
        if (is_open(d.status))
            batch.Put(cf_->deliveries(), delivery_key('o', d.id), rocksdb::Slice());
    }
    batch.Put(cf_->meta(), slice(meta_fan_out_key), encode_u64(cursor));
    batch.Put(cf_->meta(), slice(meta_delivery_id_key), encode_u64(id));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    if (auto written = write_to_engine(options, batch, "writing new deliveries"); !written)
        return written.error();
    last_delivery_id_.store(id, std::memory_order_relaxed);
    return {};
}

core::result<void> rocks_store::save_delivery(const core::delivery& d)
{
    rocksdb::WriteBatch batch;
    batch.Put(cf_->deliveries(), delivery_key('d', d.id), encode_delivery(d));
    if (is_open(d.status))
        batch.Put(cf_->deliveries(), delivery_key('o', d.id), rocksdb::Slice());
    else
        batch.Delete(cf_->deliveries(), delivery_key('o', d.id));
    // Not synced: losing the newest state of a delivery after a power loss means sending it once
    // more, which at-least-once delivery allows.
    return write_to_engine(rocksdb::WriteOptions(), batch, "saving delivery " + std::to_string(d.id));
}

core::result<std::optional<core::delivery>> rocks_store::load_delivery(std::uint64_t id)
{
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->deliveries(), delivery_key('d', id), &value);
    if (s.IsNotFound())
        return std::optional<core::delivery>();
    if (!s.ok())
        return engine_failure("reading delivery " + std::to_string(id), s);
    auto d = decode_delivery(std::string_view(value.data(), value.size()));
    if (!d)
        return failure(errc::internal, "delivery " + std::to_string(id) + " is unreadable");
    return std::optional<core::delivery>(std::move(*d));
}

core::result<std::vector<core::delivery>> rocks_store::open_deliveries()
{
    std::vector<core::delivery> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->deliveries()));
    for (it->Seek(rocksdb::Slice("o", 1)); it->Valid() && it->key().starts_with(rocksdb::Slice("o", 1));
         it->Next())
    {
        const auto id = read_be64(std::string_view(it->key().data() + 1, it->key().size() - 1));
        if (!id)
            return failure(errc::internal, "an open-delivery key is unreadable");
        auto d = load_delivery(*id);
        if (!d)
            return d.error();
        if (*d)
            out.push_back(std::move(**d));
    }
    if (!it->status().ok())
        return engine_failure("reading open deliveries", it->status());
    return out;
}

core::result<std::vector<core::delivery>> rocks_store::deliveries_to(std::string_view target,
                                                                     const core::delivery_filter& filter)
{
    std::vector<core::delivery> out;
    const std::string prefix = target_key(target, 0).substr(0, 1 + target.size() + 1);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->deliveries()));
    for (it->Seek(target_key(target, filter.after_id + 1));
         it->Valid() && it->key().starts_with(prefix) && out.size() < filter.limit; it->Next())
    {
        const auto id =
            read_be64(std::string_view(it->key().data() + prefix.size(), it->key().size() - prefix.size()));
        if (!id)
            return failure(errc::internal, "a delivery index key is unreadable");
        auto d = load_delivery(*id);
        if (!d)
            return d.error();
        if (*d && (!filter.status || (*d)->status == *filter.status))
            out.push_back(std::move(**d));
    }
    if (!it->status().ok())
        return engine_failure("listing deliveries", it->status());
    return out;
}

} // namespace reqstore::store
