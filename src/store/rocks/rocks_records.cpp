// The RocksDB engine's records: reads of versions, history and lists, the group-commit flush with
// its compare-and-swap, scheduled transitions, idempotency answers and attachments.
#include <reqstore/core/pending_commit.hpp>
#include <reqstore/core/write_serialization.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>
#include <reqstore/store/rocks/outbox_codec.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>
#include <reqstore/store/rocks/wal_check.hpp>

#include <rocksdb/write_batch.h>

#include "rocks_internals.hpp"

namespace reqstore::store
{
namespace net = boost::asio;
using core::errc;
using core::failure;

namespace
{

// A listing page stops once the bodies it holds reach this size, whatever its limit.
constexpr std::size_t max_page_bytes = 8u << 20;

} // namespace

core::result<std::optional<core::stored_version>> rocks_store::load_now(std::string_view id)
{
    if (auto closed = refused_when_closed())
        return *closed;
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

rocks_store::awaitable_result<std::optional<core::stored_version>> rocks_store::load(std::string_view id)
{
    co_return load_now(id);
}

rocks_store::awaitable_result<std::optional<core::stored_version>>
rocks_store::load_version(std::string_view id, std::uint64_t version)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->versions(), version_key(id, version), &value);
    if (s.IsNotFound())
        co_return std::optional<core::stored_version>();
    if (!s.ok())
        co_return engine_failure("reading a version of " + std::string(id), s);
    auto decoded = decode_version(std::string_view(value.data(), value.size()));
    if (!decoded)
        co_return failure(errc::internal, "version " + std::to_string(version) + " of " + std::string(id) +
                                              " is stored in an unreadable format");
    co_return std::optional<core::stored_version>(std::move(*decoded));
}

rocks_store::awaitable_result<std::vector<core::stored_version>>
rocks_store::history(std::string_view id, std::uint64_t below_version, std::size_t limit)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::vector<core::stored_version> out;
    if (below_version <= 1 || limit == 0)
        co_return out;
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
            co_return failure(errc::internal,
                              "a version of " + std::string(id) + " is stored in an unreadable format");
        out.push_back(std::move(*decoded));
    }
    if (!it->status().ok())
        co_return engine_failure("reading the history of " + std::string(id), it->status());
    co_return out;
}

rocks_store::awaitable_result<core::list_page> rocks_store::list(const core::list_filter& filter,
                                                                 std::string_view after_id, std::size_t limit,
                                                                 std::size_t max_examined)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
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
            co_return failure(errc::internal,
                              "record " + last_examined + " is stored in an unreadable format");
        if (head->deleted || (filter.type && head->type != *filter.type) ||
            (filter.status && head->status != *filter.status) ||
            (filter.updated_since && head->updated_at < *filter.updated_since))
            continue;
        auto decoded = decode_version(value);
        if (!decoded)
            co_return failure(errc::internal,
                              "record " + last_examined + " is stored in an unreadable format");
        page_bytes += decoded->body.size();
        page.records.push_back(std::move(*decoded));
        if (page_bytes >= max_page_bytes)
        {
            it->Next();
            break;
        }
    }
    if (!it->status().ok())
        co_return engine_failure("listing records", it->status());
    // The loop's increment has already stepped past the last examined record: a valid
    // iterator means more records follow, and the next page resumes after that one.
    if (it->Valid())
        page.last_examined_id = std::move(last_examined);
    co_return page;
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

core::result<std::optional<core::unix_millis>> rocks_store::answered_at(const std::string& key)
{
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->idempotency(), slice(key), &value);
    if (s.IsNotFound())
        return std::optional<core::unix_millis>();
    if (!s.ok())
        return engine_failure("reading an idempotency key before commit", s);
    const auto decoded = decode_idempotency(key, std::string_view(value.data(), value.size()));
    if (!decoded)
        return failure(errc::internal, "an idempotency entry is stored in an unreadable format");
    return std::optional<core::unix_millis>(decoded->created_at);
}

core::result<core::predecessor> rocks_store::committed_version(const std::string& id)
{
    if (const auto it = committed_versions_.find(id); it != committed_versions_.end())
        return it->second;
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->records(), slice(id), &value);
    if (s.IsNotFound())
        return core::predecessor{};
    if (!s.ok())
        return engine_failure("reading record " + id + " before commit", s);
    const auto head = decode_version_head(std::string_view(value.data(), value.size()));
    if (!head)
        return failure(errc::internal, "record " + id + " is stored in an unreadable format");
    return core::predecessor{head->version, head->tag};
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
    // The idempotency answers this batch writes, which a later entry of it must see.
    std::unordered_map<std::string, core::unix_millis> answered_in_batch;

    for (auto& entry : batch)
    {
        const auto& request = entry.request;
        // Compare-and-swap on the exact predecessor: the per-record strands already serialize this
        // process's writers, and this check makes the store refuse, rather than overwrite, a write
        // judged against a version that is not the stored one.
        auto current = committed_version(request.id);
        if (!current)
        {
            entry.outcome = current.error();
            continue;
        }
        if (auto refused = core::compare_and_swap_refusal(request, *current))
        {
            entry.outcome = std::move(*refused);
            continue;
        }
        if (request.idempotency && request.idempotency_answered_since != 0)
        {
            std::optional<core::unix_millis> answered;
            if (const auto it = answered_in_batch.find(request.idempotency->key);
                it != answered_in_batch.end())
                answered = it->second;
            else if (auto stored = answered_at(request.idempotency->key); !stored)
            {
                entry.outcome = stored.error();
                continue;
            }
            else
                answered = *stored;
            if (auto refused = core::idempotency_refusal(request, answered))
            {
                entry.outcome = std::move(*refused);
                continue;
            }
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
        {
            write.Put(cf_->idempotency(), slice(request.idempotency->key),
                      encode_idempotency(*request.idempotency));
            answered_in_batch[request.idempotency->key] = request.idempotency->created_at;
        }
        for (const auto& blob : request.attachments)
            write.Put(cf_->attachments(), attachment_key(request.id, blob.sha256), slice(blob.bytes));
        committed_versions_[request.id] = core::predecessor{request.next.version, request.next.tag};
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

rocks_store::awaitable_result<std::vector<core::timer_key>> rocks_store::timers_due(core::unix_millis up_to,
                                                                                    std::size_t limit)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::vector<core::timer_key> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->timers()));
    for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next())
    {
        const auto parts = parse_timer_key(std::string_view(it->key().data(), it->key().size()));
        if (!parts)
            co_return failure(errc::internal, "a scheduled transition is stored in an unreadable format");
        if (parts->due > up_to)
            break;
        out.push_back({parts->due, std::string(parts->id)});
    }
    if (!it->status().ok())
        co_return engine_failure("reading scheduled transitions", it->status());
    co_return out;
}

rocks_store::awaitable_result<std::optional<core::timer_key>> rocks_store::earliest_timer()
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->timers()));
    it->SeekToFirst();
    if (!it->status().ok())
        co_return engine_failure("reading scheduled transitions", it->status());
    if (!it->Valid())
        co_return std::optional<core::timer_key>();
    const auto parts = parse_timer_key(std::string_view(it->key().data(), it->key().size()));
    if (!parts)
        co_return failure(errc::internal, "a scheduled transition is stored in an unreadable format");
    co_return std::optional<core::timer_key>(core::timer_key{parts->due, std::string(parts->id)});
}

rocks_store::awaitable_result<void> rocks_store::remove_timer(const core::timer_key& timer)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    rocksdb::WriteBatch batch;
    batch.Delete(cf_->timers(), timer_key_bytes(timer.due, timer.id));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    co_return write_to_engine(options, batch, "removing a scheduled transition of " + timer.id);
}

rocks_store::awaitable_result<std::optional<core::idempotency_entry>>
rocks_store::load_idempotency(std::string_view key)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    rocksdb::PinnableSlice value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->idempotency(), slice(key), &value);
    if (s.IsNotFound())
        co_return std::optional<core::idempotency_entry>();
    if (!s.ok())
        co_return engine_failure("reading an idempotency key", s);
    auto decoded = decode_idempotency(key, std::string_view(value.data(), value.size()));
    if (!decoded)
        co_return failure(errc::internal, "an idempotency entry is stored in an unreadable format");
    co_return std::optional<core::idempotency_entry>(std::move(*decoded));
}

rocks_store::awaitable_result<std::optional<std::string>>
rocks_store::load_attachment(std::string_view id, std::string_view sha256)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->attachments(), attachment_key(id, sha256), &value);
    if (s.IsNotFound())
        co_return std::optional<std::string>();
    if (!s.ok())
        co_return engine_failure("reading an attachment", s);
    co_return std::optional<std::string>(std::move(value));
}

rocks_store::awaitable_result<std::size_t> rocks_store::remove_idempotency_before(core::unix_millis cutoff)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
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
        co_return engine_failure("scanning idempotency keys", it->status());
    if (removed == 0)
        co_return removed;
    if (auto written = write_to_engine(rocksdb::WriteOptions(), batch, "removing expired idempotency keys");
        !written)
        co_return written.error();
    co_return removed;
}

} // namespace reqstore::store
