// The PostgreSQL engine's outbox (pg_store.hpp): the change feed, webhook subscriptions, the
// fan-out and the deliveries. Each call is one round trip on a connection of the readers' pool.
#include <reqstore/store/rocks/outbox_codec.hpp>

#include <algorithm>
#include <stdexcept>

#include "pg_calls.hpp"

namespace reqstore::store::pg
{
using core::errc;
using core::failure;

namespace
{

std::vector<core::delivery> decode_deliveries(const rows& r)
{
    std::vector<core::delivery> out;
    out.reserve(r.size());
    for (std::size_t i = 0; i < r.size(); ++i)
        out.push_back(delivery_in(r, i, 0, 1));
    return out;
}
} // namespace

core::delivery delivery_in(const rows& r, std::size_t row, std::size_t id_column, std::size_t json_column)
{
    auto d = decode_delivery(r.bytes(row, json_column));
    if (!d)
        throw std::runtime_error("delivery " + std::to_string(r.int8(row, id_column)) +
                                 " is stored in an unreadable form");
    d->id =
        static_cast<std::uint64_t>(r.int8(row, id_column)); // the column is the truth; the JSON's id may be 0
    return std::move(*d);
}

// ---- the outbox ---------------------------------------------------------------------------------

pg_store::awaitable_result<std::vector<core::feed_entry>> pg_store::events_after(std::uint64_t after,
                                                                                 std::size_t limit)
{
    std::vector<param> p;
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX))));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))));
    auto statements =
        single(sql("SELECT seq, json FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", std::move(p)));
    // The state, not `this`, after the suspension: a frame may outlive the store object.
    const auto s = shared_;
    auto read = co_await run<std::vector<core::feed_entry>>(
        s, std::move(statements), "reading the change feed",
        [](const rows& r)
        {
            std::vector<core::feed_entry> out;
            for (std::size_t i = 0; i < r.size(); ++i)
                out.push_back({static_cast<std::uint64_t>(r.int8(i, 0)), std::string(r.bytes(i, 1))});
            return out;
        });
    // Another node's commits reach this node's feed readers through here too.
    if (read && !read->empty())
        s->saw_sequence(read->back().sequence);
    co_return read;
}

pg_store::awaitable_result<std::uint64_t> pg_store::oldest_sequence()
{
    auto statements = single(sql("SELECT coalesce(min(seq), 0) FROM events"));
    co_return co_await run<std::uint64_t>(
        shared_, std::move(statements), "reading the feed's oldest sequence",
        [](const rows& r) { return static_cast<std::uint64_t>(r.int8(0, 0)); });
}

pg_store::awaitable_result<std::size_t> pg_store::trim_events(core::unix_millis cutoff, std::uint64_t below)
{
    // Entries go from the oldest end only: up to the first one committed at or after the cutoff.
    std::vector<param> p;
    p.push_back(int8_param(cutoff));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::uint64_t>(below, INT64_MAX))));
    auto statements = single(sql("DELETE FROM events WHERE seq < $2 AND seq < coalesce((SELECT min(seq) FROM "
                                 "events WHERE at >= $1), 9223372036854775807)",
                                 std::move(p)));
    co_return co_await run<std::size_t>(shared_, std::move(statements), "trimming the change feed",
                                        [](const rows& r) { return r.affected(); });
}

pg_store::awaitable_result<std::vector<core::subscription>> pg_store::load_subscriptions()
{
    auto statements = single(sql("SELECT id, json FROM subscriptions ORDER BY id"));
    co_return co_await run<std::vector<core::subscription>>(
        shared_, std::move(statements), "loading webhook subscriptions",
        [](const rows& r)
        {
            std::vector<core::subscription> out;
            for (std::size_t i = 0; i < r.size(); ++i)
            {
                auto s = decode_subscription(r.bytes(i, 1));
                if (!s)
                    throw std::runtime_error("subscription " + std::string(r.bytes(i, 0)) +
                                             " is stored in an unreadable form");
                out.push_back(std::move(*s));
            }
            return out;
        });
}

pg_store::awaitable_result<void> pg_store::save_subscription(const core::subscription& s)
{
    std::vector<param> p;
    p.push_back(text_param(s.id));
    p.push_back(text_param(encode_subscription(s)));
    p.push_back(bool_param(s.enabled));
    auto statements =
        single(sql("INSERT INTO subscriptions (id, json, enabled) VALUES ($1, $2, $3) ON CONFLICT (id) DO "
                   "UPDATE SET json = EXCLUDED.json, enabled = EXCLUDED.enabled",
                   std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements), "saving a webhook subscription", no_rows);
}

pg_store::awaitable_result<void> pg_store::delete_subscription(std::string_view id)
{
    std::vector<param> p;
    p.push_back(text_param(id));
    auto statements = single(sql("DELETE FROM subscriptions WHERE id = $1", std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements), "deleting a webhook subscription", no_rows);
}

pg_store::awaitable_result<std::uint64_t> pg_store::fan_out_cursor()
{
    auto statements = single(sql("SELECT cursor FROM fan_out WHERE k = 1"));
    co_return co_await run<std::uint64_t>(shared_, std::move(statements), "reading the fan-out cursor",
                                          [](const rows& r)
                                          { return static_cast<std::uint64_t>(r.int8(0, 0)); });
}

boost::asio::awaitable<core::result<void>> write_deliveries(std::shared_ptr<pg_store::shared> s,
                                                            std::optional<std::uint64_t> from,
                                                            std::optional<std::uint64_t> to,
                                                            std::vector<core::delivery>& deliveries)
{
    // One statement: the counter row gives the ids (ascending in commit order, never reused) and
    // moves the cursor; the deliveries are numbered after the last id it gave before, returned.
    // With `from`, the row is updated only while the cursor is there: no row, nothing written.
    array_builder targets(oid::text), statuses(oid::text), bodies(oid::text), lanes(oid::bytea),
        sequences(oid::int8), due(oid::int8);
    for (const auto& d : deliveries)
    {
        targets.add_text(d.target);
        statuses.add_text(to_string(d.status));
        bodies.add_text(encode_delivery(d));
        lanes.add_text(d.lane);
        sequences.add_int8(static_cast<std::int64_t>(d.sequence));
        due.add_int8(d.next_attempt_at);
    }
    std::vector<param> p;
    p.push_back(to ? int8_param(static_cast<std::int64_t>(*to)) : null_param(oid::int8));
    p.push_back(std::move(targets).finish());
    p.push_back(std::move(statuses).finish());
    p.push_back(std::move(bodies).finish());
    p.push_back(from ? int8_param(static_cast<std::int64_t>(*from)) : null_param(oid::int8));
    p.push_back(std::move(lanes).finish());
    p.push_back(std::move(sequences).finish());
    p.push_back(std::move(due).finish());
    auto statements = single(sql(R"sql(
        WITH head AS (
            UPDATE fan_out SET cursor = coalesce($1, cursor),
                   last_delivery_id = last_delivery_id + cardinality($2::text[])
             WHERE k = 1 AND ($5::bigint IS NULL OR cursor = $5)
            RETURNING last_delivery_id - cardinality($2::text[]) AS given_before),
        written AS (
            INSERT INTO deliveries (id, target, status, json, lane, seq, next_attempt_at)
            SELECT head.given_before + d.n, d.target, d.status, d.json, d.lane, d.seq, d.due
              FROM head, unnest($2::text[], $3::text[], $4::text[], $6::bytea[], $7::int8[], $8::int8[])
                         WITH ORDINALITY AS d(target, status, json, lane, seq, due, n))
        SELECT given_before FROM head)sql",
                                 std::move(p)));
    auto given_before = co_await run<std::optional<std::uint64_t>>(
        s, std::move(statements), "fanning out events",
        [](const rows& r) {
            return r.size() ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(r.int8(0, 0)))
                            : std::nullopt;
        });
    if (!given_before)
        co_return given_before.error();
    if (!*given_before)
        co_return failure(errc::precondition_failed, "the fan-out cursor is no longer at " +
                                                         std::to_string(from.value_or(0)) +
                                                         ": another node fanned these events out");
    for (std::size_t i = 0; i < deliveries.size(); ++i)
        deliveries[i].id = **given_before + i + 1;
    co_return core::result<void>();
}

pg_store::awaitable_result<void> pg_store::fan_out(std::uint64_t cursor,
                                                   std::vector<core::delivery>& deliveries)
{
    co_return co_await write_deliveries(shared_, std::nullopt, cursor, deliveries);
}

pg_store::awaitable_result<void> pg_store::save_delivery(const core::delivery& d)
{
    std::vector<param> p;
    p.push_back(int8_param(static_cast<std::int64_t>(d.id)));
    p.push_back(text_param(d.target));
    p.push_back(text_param(to_string(d.status)));
    p.push_back(text_param(encode_delivery(d)));
    p.push_back(bytea_param(d.lane));
    p.push_back(int8_param(static_cast<std::int64_t>(d.sequence)));
    p.push_back(int8_param(d.next_attempt_at));
    auto statements = single(
        sql("INSERT INTO deliveries (id, target, status, json, lane, seq, next_attempt_at) VALUES ($1, $2, "
            "$3, $4, "
            "$5, $6, $7) ON CONFLICT (id) DO UPDATE SET target = EXCLUDED.target, status = EXCLUDED.status, "
            "json = EXCLUDED.json, lane = EXCLUDED.lane, seq = EXCLUDED.seq, next_attempt_at = "
            "EXCLUDED.next_attempt_at",
            std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements), "saving a delivery", no_rows);
}

pg_store::awaitable_result<std::optional<core::delivery>> pg_store::load_delivery(std::uint64_t id)
{
    std::vector<param> p;
    p.push_back(int8_param(static_cast<std::int64_t>(id)));
    auto statements = single(sql("SELECT id, json FROM deliveries WHERE id = $1", std::move(p)));
    co_return co_await run<std::optional<core::delivery>>(
        shared_, std::move(statements), "loading a delivery",
        [](const rows& r)
        {
            auto found = decode_deliveries(r);
            if (found.empty())
                return std::optional<core::delivery>();
            return std::optional<core::delivery>(std::move(found[0]));
        });
}

pg_store::awaitable_result<std::vector<core::delivery>> pg_store::open_deliveries()
{
    auto statements =
        single(sql("SELECT id, json FROM deliveries WHERE status IN ('pending', 'failed') ORDER BY id"));
    co_return co_await run<std::vector<core::delivery>>(shared_, std::move(statements),
                                                        "loading open deliveries", decode_deliveries);
}

pg_store::awaitable_result<std::vector<core::delivery>>
pg_store::deliveries_to(std::string_view target, const core::delivery_filter& filter)
{
    std::vector<param> p;
    p.push_back(text_param(target));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::uint64_t>(filter.after_id, INT64_MAX))));
    p.push_back(filter.status ? text_param(to_string(*filter.status)) : null_param(oid::text));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::size_t>(filter.limit, INT64_MAX))));
    auto statements =
        single(sql("SELECT id, json FROM deliveries WHERE target = $1 AND id > $2 AND ($3::text IS "
                   "NULL OR status = $3) ORDER BY id LIMIT $4",
                   std::move(p)));
    co_return co_await run<std::vector<core::delivery>>(shared_, std::move(statements), "listing deliveries",
                                                        decode_deliveries);
}

} // namespace reqstore::store::pg
