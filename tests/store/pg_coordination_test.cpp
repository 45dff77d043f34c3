// How the webhook dispatchers of several nodes take turns through the PostgreSQL engine
// (core::outbox_coordination, store/pg/pg_coordination.cpp), against the test PostgreSQL: a lease
// is one holder's until it runs out, the fan-out's cursor moves only from where it is, a lane is
// claimed by one holder at a time and only its head is given, and an outcome recorded under a claim
// that another took over is refused. And the migration that made lanes columns (schema version 2).
#include <reqstore/core/outbox.hpp>
#include <reqstore/store/rocks/outbox_codec.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_instance.hpp"
#include "store_test_support.hpp"

namespace
{
namespace net = boost::asio;
using namespace std::chrono_literals;
using reqstore::core::delivery;
using reqstore::core::errc;
using reqstore::core::outbox_coordination;

class PgCoordination : public ::testing::Test
{
protected:
    template <class T>
    T run(net::awaitable<T> op)
    {
        return reqstore::test::run_with_deadline(context_, std::move(op));
    }

    // A pending delivery to `target` about `record`, of sequence `sequence`, due now.
    static delivery due(const std::string& target, const std::string& record, std::uint64_t sequence)
    {
        delivery d;
        d.target = target;
        d.lane = target + '\0' + record;
        d.sequence = sequence;
        d.event = "request.updated";
        d.record_id = record;
        d.record_type = "request";
        d.version = sequence;
        d.url = "https://hooks.example/" + target;
        d.webhook_id = "evt_" + std::to_string(sequence);
        d.created_at = d.committed_at = d.next_attempt_at = reqstore::core::now_millis() - 1;
        return d;
    }

    std::vector<delivery> fan_out(std::uint64_t from, std::uint64_t to, std::vector<delivery> deliveries)
    {
        const auto written = run(store_->fan_out_from(from, to, deliveries));
        EXPECT_TRUE(written) << written.error().detail;
        return deliveries;
    }

    outbox_coordination::claimed_lanes claim(const std::string& holder, std::chrono::milliseconds lease = 10s)
    {
        auto claimed = run(store_->claim_lanes(holder, lease, reqstore::core::now_millis(), 100));
        if (!claimed)
            throw std::runtime_error(claimed.error().detail);
        return *claimed;
    }

    net::io_context context_;
    reqstore::test::scratch_pg_store store_{context_.get_executor(), {}, "coordination"};
};

TEST_F(PgCoordination, ALeaseIsOneHoldersUntilItRunsOutAndANewHolderGetsANewEpoch)
{
    const auto first = run(store_->acquire_lease("fan_out", "node-a", 400ms));
    ASSERT_TRUE(first && *first);
    const auto taken = run(store_->acquire_lease("fan_out", "node-b", 400ms));
    ASSERT_TRUE(taken);
    EXPECT_FALSE(*taken) << "node-b took a live lease of node-a";
    const auto renewed = run(store_->acquire_lease("fan_out", "node-a", 400ms));
    ASSERT_TRUE(renewed && *renewed);
    EXPECT_EQ(**renewed, **first) << "a renewal of a live lease keeps its epoch";

    std::this_thread::sleep_for(600ms);
    const auto after = run(store_->acquire_lease("fan_out", "node-b", 400ms));
    ASSERT_TRUE(after && *after) << "the lease ran out, and node-b could not take it";
    EXPECT_GT(**after, **first);
    const auto back = run(store_->acquire_lease("fan_out", "node-a", 400ms));
    ASSERT_TRUE(back);
    EXPECT_FALSE(*back);
}

TEST_F(PgCoordination, TheFanOutCursorMovesOnlyFromWhereItIs)
{
    (void)fan_out(0, 5, {due("whk_A", "req_1", 5)});
    std::vector<delivery> late{due("whk_A", "req_1", 4)};
    const auto refused = run(store_->fan_out_from(0, 4, late));
    ASSERT_FALSE(refused) << "a second fan-out from the same cursor was written";
    EXPECT_EQ(refused.error().code, errc::precondition_failed);
    const auto cursor = run(store_->fan_out_cursor());
    ASSERT_TRUE(cursor);
    EXPECT_EQ(*cursor, 5u);
    const auto open = run(store_->open_deliveries());
    ASSERT_TRUE(open);
    EXPECT_EQ(open->size(), 1u);
}

TEST_F(PgCoordination, ALaneIsClaimedByOneHolderAtATimeAndOnlyItsHeadIsGiven)
{
    const auto written =
        fan_out(0, 3, {due("whk_A", "req_1", 1), due("whk_A", "req_1", 2), due("whk_A", "req_2", 3)});
    const auto first = claim("node-a");
    ASSERT_EQ(first.claims.size(), 2u);
    EXPECT_EQ(first.open_deliveries, 3u);
    std::set<std::uint64_t> heads;
    for (const auto& c : first.claims)
        heads.insert(c.head.sequence);
    EXPECT_EQ(heads, (std::set<std::uint64_t>{1, 3})) << "a claim gave another delivery than a lane's head";
    EXPECT_TRUE(claim("node-b").claims.empty()) << "node-b claimed lanes that node-a holds";

    // A head settled, the claim goes on with the lane's next delivery if it is due, and ends with
    // the lane's last.
    std::map<std::uint64_t, outbox_coordination::lane_claim> by_head;
    for (const auto& c : first.claims)
        by_head[c.head.sequence] = c;
    auto succeeded = [](delivery d)
    {
        d.status = reqstore::core::delivery_status::succeeded;
        return d;
    };
    const auto now = reqstore::core::now_millis();
    const auto lane_one = run(store_->settle_claimed(succeeded(by_head[1].head), by_head[1].epoch, 10s, now));
    ASSERT_TRUE(lane_one && lane_one->recorded);
    ASSERT_TRUE(lane_one->next) << "the lane's due next delivery was not handed on";
    EXPECT_EQ(lane_one->next->id, written[1].id);
    const auto lane_two = run(store_->settle_claimed(succeeded(by_head[3].head), by_head[3].epoch, 10s, now));
    ASSERT_TRUE(lane_two && lane_two->recorded);
    EXPECT_FALSE(lane_two->next);
    EXPECT_TRUE(claim("node-b").claims.empty()) << "node-b claimed the lane node-a goes on with";

    const auto last = run(store_->settle_claimed(succeeded(*lane_one->next), by_head[1].epoch, 10s, now));
    ASSERT_TRUE(last && last->recorded);
    EXPECT_FALSE(last->next);
    const auto after = claim("node-b");
    EXPECT_TRUE(after.claims.empty());
    EXPECT_EQ(after.open_deliveries, 0u);
}

TEST_F(PgCoordination, AnOutcomeRecordedUnderAClaimThatWasTakenOverIsRefused)
{
    (void)fan_out(0, 1, {due("whk_A", "req_1", 1)});
    const auto stale = claim("node-a", 200ms);
    ASSERT_EQ(stale.claims.size(), 1u);
    std::this_thread::sleep_for(400ms); // node-a's claim runs out, as if it had been paused
    const auto current = claim("node-b");
    ASSERT_EQ(current.claims.size(), 1u);
    EXPECT_GT(current.claims[0].epoch, stale.claims[0].epoch);

    delivery late = stale.claims[0].head;
    late.status = reqstore::core::delivery_status::dead;
    const auto refused =
        run(store_->settle_claimed(late, stale.claims[0].epoch, 10s, reqstore::core::now_millis()));
    ASSERT_TRUE(refused);
    EXPECT_FALSE(refused->recorded) << "an outcome under a claim that was taken over was recorded";
    const auto stored = run(store_->load_delivery(late.id));
    ASSERT_TRUE(stored && *stored);
    EXPECT_EQ((*stored)->status, reqstore::core::delivery_status::pending);

    delivery done = current.claims[0].head;
    done.status = reqstore::core::delivery_status::succeeded;
    const auto recorded =
        run(store_->settle_claimed(done, current.claims[0].epoch, 10s, reqstore::core::now_millis()));
    ASSERT_TRUE(recorded && recorded->recorded);
}

TEST_F(PgCoordination, TheLanesOfADisabledSubscriptionAreNotClaimedUntilItIsEnabled)
{
    reqstore::core::subscription s;
    s.id = "whk_A";
    s.url = "https://hooks.example/whk_A";
    s.events = {"*"};
    s.secret = "sealed";
    s.enabled = false;
    ASSERT_TRUE(run(store_->save_subscription(s)));
    (void)fan_out(0, 1, {due("whk_A", "req_1", 1)});
    EXPECT_TRUE(claim("node-a").claims.empty());

    s.enabled = true;
    s.url = "https://changed.example/"; // not written: only the failure state is
    ASSERT_TRUE(run(store_->save_subscription_state(s)));
    EXPECT_EQ(claim("node-a").claims.size(), 1u);
    const auto stored = run(store_->load_subscriptions());
    ASSERT_TRUE(stored);
    ASSERT_EQ(stored->size(), 1u);
    EXPECT_TRUE((*stored)[0].enabled);
    EXPECT_EQ((*stored)[0].url, "https://hooks.example/whk_A");
}

} // namespace

namespace
{

// Runs `statements` on a connection of its own to the test PostgreSQL; fails the test on an error.
void run_sql(std::vector<std::string> statements)
{
    namespace pg = reqstore::store::pg;
    net::io_context context;
    const auto deadline = pg::clock::now() + std::chrono::seconds(20);
    const auto done = reqstore::test::run_with_deadline(
        context,
        [](std::string conninfo, std::vector<std::string> texts,
           pg::clock::time_point until) -> net::awaitable<std::string>
        {
            auto connected = co_await pg::connection::connect(co_await net::this_coro::executor,
                                                              std::move(conninfo), until);
            if (!connected)
                co_return connected.error().message;
            std::vector<pg::statement> batch;
            for (auto& text : texts)
                batch.push_back(pg::statement{std::move(text), {}});
            auto executed = co_await (*connected)->execute(std::move(batch), until);
            co_return executed ? std::string() : executed.error().message;
        }(reqstore::test::pg_test_conninfo(), std::move(statements), deadline));
    ASSERT_EQ(done, "");
}

} // namespace

// A schema written by a build that knew only version 1 (deliveries without lane columns) migrates to
// version 2 at the next start, and its open deliveries are claimed by lane, the NUL inside a lane
// included.
TEST(PgSchemaMigration, OpenDeliveriesOfAVersion1SchemaAreClaimedByLaneAfterTheMigration)
{
    const std::string schema = "migration_" + std::to_string(::getpid());
    run_sql({"DROP SCHEMA IF EXISTS " + schema + " CASCADE"});
    reqstore::store::pg::pg_options options;
    options.conninfo = reqstore::test::pg_test_conninfo();
    options.schema = schema;
    options.readers = 1;
    options.follow_other_nodes = false;
    delivery d;
    d.target = "whk_A";
    d.lane = std::string("whk_A") + '\0' + "req_1";
    d.sequence = 7;
    d.event = "request.created";
    d.record_id = "req_1";
    d.record_type = "request";
    d.version = 1;
    d.url = "https://hooks.example/";
    d.webhook_id = "evt_7";
    d.created_at = d.committed_at = d.next_attempt_at = reqstore::core::now_millis() - 1;
    {
        net::io_context context;
        auto opened = reqstore::test::run_with_deadline(
            context, reqstore::store::pg::pg_store::open(options, context.get_executor()));
        ASSERT_TRUE(opened) << opened.error().detail;
    }
    // Back to version 1's shape, with one open delivery stored as version 1 stored it.
    run_sql({"SET search_path TO " + schema, "DROP TABLE lanes", "DROP TABLE leases", "DROP SEQUENCE epochs",
             "ALTER TABLE deliveries DROP COLUMN lane, DROP COLUMN seq, DROP COLUMN next_attempt_at",
             "ALTER TABLE subscriptions DROP COLUMN enabled", "UPDATE schema_version SET version = 1",
             "INSERT INTO deliveries (id, target, status, json) VALUES (1, 'whk_A', 'pending', '" +
                 reqstore::store::encode_delivery(d) + "')",
             "UPDATE fan_out SET last_delivery_id = 1"});

    net::io_context context;
    auto reopened = reqstore::test::run_with_deadline(
        context, reqstore::store::pg::pg_store::open(options, context.get_executor()));
    ASSERT_TRUE(reopened) << reopened.error().detail;
    auto claimed = reqstore::test::run_with_deadline(
        context, (*reopened)->claim_lanes("node-a", 10s, reqstore::core::now_millis(), 10));
    ASSERT_TRUE(claimed) << claimed.error().detail;
    ASSERT_EQ(claimed->claims.size(), 1u);
    EXPECT_EQ(claimed->claims[0].head.id, 1u);
    EXPECT_EQ(claimed->claims[0].head.lane, d.lane);
    EXPECT_EQ(claimed->claims[0].head.sequence, 7u);
    reopened->reset();
    run_sql({"DROP SCHEMA " + schema + " CASCADE"});
}
