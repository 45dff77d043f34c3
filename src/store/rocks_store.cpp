// RocksDB behind the core's storage interface: layout, reads, and the group-commit flush.
#include <reqstore/store/codec.hpp>
#include <reqstore/store/keys.hpp>
#include <reqstore/store/rocks_store.hpp>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
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
// A listing page stops once the bodies it holds reach this size, whatever its limit.
constexpr std::size_t max_page_bytes = 8u << 20;

failure engine_failure(std::string_view what, const rocksdb::Status& status)
{
    return {errc::internal, std::string(what) + ": " + status.ToString()};
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

} // namespace

// The handles of every column family, owned by the store and destroyed before the database.
struct rocks_store::column_families
{
    static constexpr std::array<const char*, 8> names{"records",  "versions",    "events", "deliveries",
                                                      "webhooks", "idempotency", "timers", "meta"};
    std::vector<rocksdb::ColumnFamilyHandle*> handles; // [0] is "default", then `names` in order

    rocksdb::ColumnFamilyHandle* records() const { return handles[1]; }
    rocksdb::ColumnFamilyHandle* versions() const { return handles[2]; }
    rocksdb::ColumnFamilyHandle* events() const { return handles[3]; }
    rocksdb::ColumnFamilyHandle* idempotency() const { return handles[6]; }
    rocksdb::ColumnFamilyHandle* timers() const { return handles[7]; }
    rocksdb::ColumnFamilyHandle* meta() const { return handles[8]; }
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
    store->committer_ = std::make_unique<group_commit>(
        executor, [s = store.get()](std::vector<queued_commit>& batch) { s->flush(batch); });
    return store;
}

core::result<void> rocks_store::open_db()
{
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.max_background_jobs = 2;
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options_.write_buffer_bytes);

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.cache_index_and_filter_blocks = true;
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.write_buffer_size = std::min<std::size_t>(options_.write_buffer_bytes / 2, 32u << 20);

    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
    for (const char* name : column_families::names)
        descriptors.emplace_back(name, cf_options);

    rocksdb::DB* raw = nullptr;
    const auto status = rocksdb::DB::Open(db_options, options_.data_dir, descriptors, &cf_->handles, &raw);
    db_.reset(raw);
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
    rocksdb::Status status = db_->FlushWAL(true);
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
    return {};
}

std::uint64_t rocks_store::last_sequence() const noexcept
{
    return last_sequence_.load(std::memory_order_acquire);
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

void rocks_store::flush(std::vector<queued_commit>& batch)
{
    rocksdb::WriteBatch write;
    std::unordered_map<std::string_view, std::uint64_t> version_in_batch;
    std::uint64_t sequence = last_sequence_.load(std::memory_order_relaxed);
    std::size_t accepted = 0;

    for (auto& entry : batch)
    {
        const auto& request = entry.request;
        // Compare-and-swap on the current version: the per-record strands already serialize
        // writers, and this check makes the store refuse, rather than overwrite, if they ever don't.
        std::uint64_t current = 0;
        if (const auto it = version_in_batch.find(request.id); it != version_in_batch.end())
            current = it->second;
        else
        {
            rocksdb::PinnableSlice value;
            const auto s = db_->Get(rocksdb::ReadOptions(), cf_->records(), slice(request.id), &value);
            if (!s.ok() && !s.IsNotFound())
            {
                entry.outcome = engine_failure("reading record " + request.id + " before commit", s);
                continue;
            }
            if (s.ok())
            {
                const auto head = decode_version_head(std::string_view(value.data(), value.size()));
                if (!head)
                {
                    entry.outcome = failure(errc::internal,
                                            "record " + request.id + " is stored in an unreadable format");
                    continue;
                }
                current = head->version;
            }
        }
        if (current != request.expected_version || request.next.version != request.expected_version + 1)
        {
            entry.outcome = failure(errc::precondition_failed, "record " + request.id + " is at version " +
                                                                   std::to_string(current) + ", not " +
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
        version_in_batch[request.id] = request.next.version;
        entry.outcome = receipt;
        ++accepted;
    }
    if (accepted == 0)
        return;
    if (!healthy_.load(std::memory_order_relaxed))
    {
        // After a failed WAL write or sync RocksDB refuses writes until it recovers; try now.
        if (const auto resumed = db_->Resume(); !resumed.ok())
        {
            for (auto& entry : batch)
                if (entry.outcome)
                    entry.outcome =
                        failure(errc::unavailable, "the store cannot write: " + resumed.ToString());
            return;
        }
        healthy_.store(true, std::memory_order_release);
    }
    write.Put(cf_->meta(), slice(meta_sequence_key), encode_u64(sequence));

    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    const auto started = std::chrono::steady_clock::now();
    const auto s = db_->Write(options, &write);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (!s.ok())
    {
        healthy_.store(false, std::memory_order_release);
        for (auto& entry : batch)
            if (entry.outcome)
                entry.outcome = engine_failure("committing a batch", s);
        return;
    }
    last_sequence_.store(sequence, std::memory_order_release);
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
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    const auto s = db_->Delete(options, cf_->timers(), timer_key_bytes(timer.due, timer.id));
    if (!s.ok())
        return engine_failure("removing a scheduled transition of " + timer.id, s);
    return {};
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
    const auto s = db_->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok())
        return engine_failure("removing expired idempotency keys", s);
    return removed;
}

} // namespace reqstore::store
