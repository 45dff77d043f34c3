// The RocksDB engine's outbox: the change feed, webhook subscriptions and deliveries.
#include <reqstore/ops/log.hpp>
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>
#include <reqstore/store/rocks/outbox_codec.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>
#include <reqstore/store/rocks/wal_check.hpp>

#include <boost/json/parse.hpp>

#include <rocksdb/write_batch.h>

#include "rocks_internals.hpp"

namespace reqstore::store
{
namespace net = boost::asio;
using core::errc;
using core::failure;

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

rocks_store::awaitable_result<std::vector<core::feed_entry>> rocks_store::events_after(std::uint64_t after,
                                                                                       std::size_t limit)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::vector<core::feed_entry> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    for (it->Seek(sequence_key(after + 1)); it->Valid() && out.size() < limit; it->Next())
    {
        const auto sequence = read_be64(std::string_view(it->key().data(), it->key().size()));
        if (!sequence)
            co_return failure(errc::internal, "a change feed key is unreadable");
        out.push_back({*sequence, it->value().ToString()});
    }
    if (!it->status().ok())
        co_return engine_failure("reading the change feed", it->status());
    co_return out;
}

rocks_store::awaitable_result<std::uint64_t> rocks_store::oldest_sequence()
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->events()));
    it->SeekToFirst();
    if (!it->status().ok())
        co_return engine_failure("reading the change feed", it->status());
    if (!it->Valid())
        co_return std::uint64_t{0};
    co_return read_be64(std::string_view(it->key().data(), it->key().size())).value_or(0);
}

rocks_store::awaitable_result<std::size_t> rocks_store::trim_events(core::unix_millis cutoff,
                                                                    std::uint64_t below)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
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
        co_return engine_failure("trimming the change feed", it->status());
    if (removed > 0)
        if (auto written = write_to_engine(rocksdb::WriteOptions(), batch, "trimming the change feed");
            !written)
            co_return written.error();
    co_return removed;
}

rocks_store::awaitable_result<std::vector<core::subscription>> rocks_store::load_subscriptions()
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::vector<core::subscription> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->webhooks()));
    for (it->SeekToFirst(); it->Valid(); it->Next())
    {
        auto s = decode_subscription(std::string_view(it->value().data(), it->value().size()));
        if (!s)
            co_return failure(errc::internal, "subscription " + it->key().ToString() + " is unreadable");
        out.push_back(std::move(*s));
    }
    if (!it->status().ok())
        co_return engine_failure("reading subscriptions", it->status());
    co_return out;
}

rocks_store::awaitable_result<void> rocks_store::save_subscription(const core::subscription& sub)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    rocksdb::WriteBatch batch;
    batch.Put(cf_->webhooks(), slice(sub.id), encode_subscription(sub));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    co_return write_to_engine(options, batch, "saving subscription " + sub.id);
}

rocks_store::awaitable_result<void> rocks_store::delete_subscription(std::string_view id)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    rocksdb::WriteBatch batch;
    batch.Delete(cf_->webhooks(), slice(id));
    rocksdb::WriteOptions options;
    options.sync = options_.durability == durability::fsync;
    co_return write_to_engine(options, batch, "deleting subscription " + std::string(id));
}

rocks_store::awaitable_result<std::uint64_t> rocks_store::fan_out_cursor()
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::string value;
    const auto s = db_->Get(rocksdb::ReadOptions(), cf_->meta(), slice(meta_fan_out_key), &value);
    if (s.IsNotFound())
        co_return std::uint64_t{0};
    if (!s.ok())
        co_return engine_failure("reading the fan-out cursor", s);
    co_return read_be64(value).value_or(0);
}

rocks_store::awaitable_result<void> rocks_store::fan_out(std::uint64_t cursor,
                                                         std::vector<core::delivery>& deliveries)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
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
        co_return written.error();
    last_delivery_id_.store(id, std::memory_order_relaxed);
    co_return core::result<void>();
}

rocks_store::awaitable_result<void> rocks_store::save_delivery(const core::delivery& d)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    rocksdb::WriteBatch batch;
    batch.Put(cf_->deliveries(), delivery_key('d', d.id), encode_delivery(d));
    if (is_open(d.status))
        batch.Put(cf_->deliveries(), delivery_key('o', d.id), rocksdb::Slice());
    else
        batch.Delete(cf_->deliveries(), delivery_key('o', d.id));
    // Not synced: losing the newest state of a delivery after a power loss means sending it once
    // more, which at-least-once delivery allows.
    co_return write_to_engine(rocksdb::WriteOptions(), batch, "saving delivery " + std::to_string(d.id));
}

core::result<std::optional<core::delivery>> rocks_store::load_delivery_now(std::uint64_t id)
{
    if (auto closed = refused_when_closed())
        return *closed;
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

rocks_store::awaitable_result<std::optional<core::delivery>> rocks_store::load_delivery(std::uint64_t id)
{
    co_return load_delivery_now(id);
}

rocks_store::awaitable_result<std::vector<core::delivery>> rocks_store::open_deliveries()
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::vector<core::delivery> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->deliveries()));
    for (it->Seek(rocksdb::Slice("o", 1)); it->Valid() && it->key().starts_with(rocksdb::Slice("o", 1));
         it->Next())
    {
        const auto id = read_be64(std::string_view(it->key().data() + 1, it->key().size() - 1));
        if (!id)
            co_return failure(errc::internal, "an open-delivery key is unreadable");
        auto d = load_delivery_now(*id);
        if (!d)
            co_return d.error();
        if (*d)
            out.push_back(std::move(**d));
    }
    if (!it->status().ok())
        co_return engine_failure("reading open deliveries", it->status());
    co_return out;
}

rocks_store::awaitable_result<std::vector<core::delivery>>
rocks_store::deliveries_to(std::string_view target, const core::delivery_filter& filter)
{
    if (auto closed = refused_when_closed())
        co_return *closed;
    std::vector<core::delivery> out;
    const std::string prefix = target_key(target, 0).substr(0, 1 + target.size() + 1);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_->deliveries()));
    for (it->Seek(target_key(target, filter.after_id + 1));
         it->Valid() && it->key().starts_with(prefix) && out.size() < filter.limit; it->Next())
    {
        const auto id =
            read_be64(std::string_view(it->key().data() + prefix.size(), it->key().size() - prefix.size()));
        if (!id)
            co_return failure(errc::internal, "a delivery index key is unreadable");
        auto d = load_delivery_now(*id);
        if (!d)
            co_return d.error();
        if (*d && (!filter.status || (*d)->status == *filter.status))
            out.push_back(std::move(**d));
    }
    if (!it->status().ok())
        co_return engine_failure("listing deliveries", it->status());
    co_return out;
}

} // namespace reqstore::store
