// How the webhook dispatchers of the nodes sharing one database take turns (core::outbox_coordination,
// docs/SCALING.md): the fan-out's lease, the fan-out's compare-and-swap on its cursor, and claims of
// delivery lanes. Leases and claims expire on the database's clock, so that the nodes' clocks do
// not matter; each is held under an epoch from one sequence, and a write that names an epoch is
// refused once another claim replaced it.
#include <reqstore/store/pg/lane_claim_sql.hpp>
#include <reqstore/store/rocks/outbox_codec.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "pg_calls.hpp"

namespace reqstore::store::pg
{
namespace json = boost::json;

namespace
{

std::int64_t clamped(std::size_t n)
{
    return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
}

// The claim, in three statements of one transaction (one round trip):
//  1. Takes, among the lanes whose head (open delivery with the lowest sequence) is due and whose
//     target is not a disabled subscription, those without a claim (a new row) and those whose
//     claim may be replaced (lane_claim_sql.hpp; locked rows are skipped: another node is claiming
//     or settling them now). Every claim gets a new epoch and lasts `lease` from now().
//  2. Reads the head of each lane claimed in 1 again. Statement 1 judged on the snapshot it began
//     with; this one, under READ COMMITTED, sees every commit before it, such as an attempt another
//     node recorded meanwhile, which moved the head on. The lanes claimed in 1 are the rows this
//     transaction wrote: holder `$1` and `until` exactly now() + lease, now() being the
//     transaction's start.
//  3. Counts the open deliveries (the outbox depth).
std::vector<statement> claim_statements(std::string_view holder, std::chrono::milliseconds lease,
                                        core::unix_millis now, std::size_t limit)
{
    auto params = [&]
    {
        std::vector<param> p;
        p.push_back(text_param(holder));
        p.push_back(int8_param(lease.count()));
        p.push_back(int8_param(now));
        p.push_back(int8_param(clamped(limit)));
        return p;
    };
    std::vector<statement> out;
    out.push_back(sql(R"sql(
        WITH heads AS (
            SELECT DISTINCT ON (lane) lane, target, next_attempt_at
              FROM deliveries WHERE status IN ('pending', 'failed')
             ORDER BY lane, seq, id),
        due AS (
            SELECT h.lane, h.next_attempt_at FROM heads h
             WHERE h.next_attempt_at <= $3
               AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = h.target AND NOT s.enabled)),
        fresh AS (
            INSERT INTO lanes (lane, holder, until, epoch)
            SELECT f.lane, $1, now() + $2 * interval '1 millisecond', nextval('epochs')
              FROM (SELECT due.lane FROM due
                     WHERE NOT EXISTS (SELECT 1 FROM lanes l WHERE l.lane = due.lane)
                     ORDER BY due.next_attempt_at LIMIT $4) AS f
            ON CONFLICT (lane) DO NOTHING
            RETURNING lane),
        retaken AS (
            UPDATE lanes SET holder = $1, until = now() + $2 * interval '1 millisecond', epoch = nextval('epochs')
             WHERE lane IN (SELECT l.lane FROM lanes l JOIN due ON due.lane = l.lane
                             WHERE )sql" +
                          std::string(lane_claim_replaceable_sql()) +
                          R"sql(
                             ORDER BY due.next_attempt_at LIMIT $4
                             FOR UPDATE OF l SKIP LOCKED)
            RETURNING lane)
        SELECT (SELECT count(*) FROM fresh) + (SELECT count(*) FROM retaken))sql",
                      params()));
    std::vector<param> mine;
    mine.push_back(text_param(holder));
    mine.push_back(int8_param(lease.count()));
    out.push_back(sql(R"sql(
        SELECT l.lane, l.epoch, h.id, h.json
          FROM lanes l
          LEFT JOIN LATERAL (SELECT d.id, d.json FROM deliveries d
                              WHERE d.lane = l.lane AND d.status IN ('pending', 'failed')
                              ORDER BY d.seq, d.id LIMIT 1) AS h ON true
         WHERE l.holder = $1 AND l.until = now() + $2 * interval '1 millisecond')sql",
                      std::move(mine)));
    out.push_back(sql("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'failed')"));
    return out;
}

} // namespace

pg_store::awaitable_result<std::optional<std::uint64_t>>
pg_store::acquire_lease(std::string_view name, std::string_view holder, std::chrono::milliseconds duration)
{
    std::vector<param> p;
    p.push_back(text_param(name));
    p.push_back(text_param(holder));
    p.push_back(int8_param(duration.count()));
    // A holder renewing a live lease keeps its epoch; anyone else, or a holder whose lease ran out
    // (another node may have held it meanwhile), gets a new one.
    auto statements = single(sql(R"sql(
        INSERT INTO leases AS l (name, holder, until, epoch)
        VALUES ($1, $2, now() + $3 * interval '1 millisecond', nextval('epochs'))
        ON CONFLICT (name) DO UPDATE
           SET holder = EXCLUDED.holder, until = EXCLUDED.until,
               epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.until >= now() THEN l.epoch ELSE EXCLUDED.epoch END
         WHERE l.holder = EXCLUDED.holder OR l.until < now()
        RETURNING epoch)sql",
                                 std::move(p)));
    co_return co_await run<std::optional<std::uint64_t>>(
        shared_, std::move(statements), "taking a lease",
        [](const rows& r) {
            return r.size() ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(r.int8(0, 0)))
                            : std::nullopt;
        });
}

pg_store::awaitable_result<void> pg_store::fan_out_from(std::uint64_t from, std::uint64_t to,
                                                        std::vector<core::delivery>& deliveries)
{
    co_return co_await write_deliveries(shared_, from, to, deliveries);
}

pg_store::awaitable_result<void> pg_store::add_deliveries(std::vector<core::delivery>& deliveries)
{
    co_return co_await write_deliveries(shared_, std::nullopt, std::nullopt, deliveries);
}

pg_store::awaitable_result<pg_store::claimed_lanes> pg_store::claim_lanes(std::string_view holder,
                                                                          std::chrono::milliseconds lease,
                                                                          core::unix_millis now,
                                                                          std::size_t limit)
{
    auto statements = claim_statements(holder, lease, now, limit);
    co_return co_await run_all<claimed_lanes>(shared_, std::move(statements), "claiming delivery lanes",
                                              [](const std::vector<rows>& all)
                                              {
                                                  claimed_lanes out;
                                                  const rows& heads = all.at(1);
                                                  for (std::size_t i = 0; i < heads.size(); ++i)
                                                  {
                                                      lane_claim claim;
                                                      claim.epoch =
                                                          static_cast<std::uint64_t>(heads.int8(i, 1));
                                                      if (heads.is_null(i, 2))
                                                      {
                                                          // Settled meanwhile, every delivery of it: the
                                                          // claim is handed back empty.
                                                          claim.head.lane = std::string(heads.bytes(i, 0));
                                                          claim.head.id = 0;
                                                      }
                                                      else
                                                          claim.head = delivery_in(heads, i, 2, 3);
                                                      out.claims.push_back(std::move(claim));
                                                  }
                                                  out.open_deliveries =
                                                      static_cast<std::uint64_t>(all.at(2).int8(0, 0));
                                                  return out;
                                              });
}

pg_store::awaitable_result<pg_store::settled> pg_store::settle_claimed(const core::delivery& d,
                                                                       std::uint64_t epoch,
                                                                       std::chrono::milliseconds lease,
                                                                       core::unix_millis now)
{
    // Three statements of one transaction (one round trip):
    //  1. Renews the claim if it is still this epoch's (the row's lock makes a concurrent claim by
    //     another node wait, and then find the claim live), and only then writes the delivery.
    //  2. Reads the lane's new head, if due, while the claim is this epoch's (a new snapshot: it
    //     sees 1).
    //  3. Ends the claim unless that head is due.
    auto claim = [&]
    {
        std::vector<param> p;
        p.push_back(int8_param(static_cast<std::int64_t>(epoch)));
        p.push_back(bytea_param(d.lane));
        return p;
    };
    std::vector<statement> statements;
    auto record = claim();
    record.push_back(int8_param(lease.count()));
    record.push_back(text_param(to_string(d.status)));
    record.push_back(text_param(encode_delivery(d)));
    record.push_back(int8_param(d.next_attempt_at));
    record.push_back(int8_param(static_cast<std::int64_t>(d.id)));
    statements.push_back(sql(R"sql(
        WITH held AS (UPDATE lanes SET until = now() + $3 * interval '1 millisecond'
                       WHERE lane = $2 AND epoch = $1 RETURNING lane)
        UPDATE deliveries SET status = $4, json = $5, next_attempt_at = $6
         WHERE id = $7 AND EXISTS (SELECT 1 FROM held))sql",
                             std::move(record)));
    auto next = claim();
    next.push_back(int8_param(now));
    statements.push_back(sql(R"sql(
        SELECT h.id, h.json FROM lanes l
          JOIN LATERAL (SELECT d.id, d.json, d.next_attempt_at FROM deliveries d
                         WHERE d.lane = l.lane AND d.status IN ('pending', 'failed')
                         ORDER BY d.seq, d.id LIMIT 1) AS h ON h.next_attempt_at <= $3
         WHERE l.lane = $2 AND l.epoch = $1)sql",
                             std::move(next)));
    auto end = claim();
    end.push_back(int8_param(now));
    statements.push_back(sql(R"sql(
        DELETE FROM lanes l WHERE l.lane = $2 AND l.epoch = $1
           AND coalesce((SELECT d.next_attempt_at > $3 FROM deliveries d
                          WHERE d.lane = l.lane AND d.status IN ('pending', 'failed')
                          ORDER BY d.seq, d.id LIMIT 1), true))sql",
                             std::move(end)));
    co_return co_await run_all<settled>(shared_, std::move(statements), "recording a delivery attempt",
                                        [](const std::vector<rows>& all)
                                        {
                                            settled out;
                                            out.recorded = all.at(0).affected() == 1;
                                            const rows& head = all.at(1);
                                            if (out.recorded && head.size() == 1)
                                                out.next = delivery_in(head, 0, 0, 1);
                                            return out;
                                        });
}

pg_store::awaitable_result<void> pg_store::release_lane(std::string_view lane, std::uint64_t epoch)
{
    std::vector<param> p;
    p.push_back(bytea_param(lane));
    p.push_back(int8_param(static_cast<std::int64_t>(epoch)));
    auto statements = single(sql("DELETE FROM lanes WHERE lane = $1 AND epoch = $2", std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements), "releasing a delivery lane", no_rows);
}

pg_store::awaitable_result<void> pg_store::release_lanes_of(std::string_view holder)
{
    std::vector<param> p;
    p.push_back(text_param(holder));
    auto statements = single(sql("DELETE FROM lanes WHERE holder = $1", std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements),
                                 "releasing the delivery lanes of a previous run", no_rows);
}

pg_store::awaitable_result<void> pg_store::save_subscription_state(const core::subscription& s)
{
    // Merged into the stored document member by member (the codec reads members by name), so that
    // the URL, events and secret stay as the last node that changed them wrote them.
    json::object state{
        {"enabled", s.enabled},
        {"failing_since", s.failing_since ? json::value(*s.failing_since) : json::value(nullptr)},
        {"disabled_reason", s.disabled_reason ? json::value(*s.disabled_reason) : json::value(nullptr)},
        {"updated_at", s.updated_at}};
    std::vector<param> p;
    p.push_back(text_param(s.id));
    p.push_back(bool_param(s.enabled));
    p.push_back(text_param(json::serialize(state)));
    auto statements = single(
        sql("UPDATE subscriptions SET enabled = $2, json = (json::jsonb || $3::jsonb)::text WHERE id = $1",
            std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements), "saving a subscription's failure state",
                                 no_rows);
}

} // namespace reqstore::store::pg
