// Three nodes sharing one PostgreSQL (docs/SCALING.md, API.md section 13). Webhooks: every event
// fanned out exactly once, every version delivered, first arrivals per record in version order and
// no two nodes attempting one (target, record) lane at once, while nodes are killed and paused
// mid-delivery; the negative control runs nodes whose lane claims are not fenced, and the receiver
// must see two attempts of one lane at once. Expiry: one node scans the timers, whichever node set
// them, and another takes the scan over when it dies. Only in the postgres registration (ctest
// label postgres): the nodes need the suite's test PostgreSQL.
#include <signal.h>

#include "webhook_support.hpp"

#ifndef REQSTORE_CONTROL_LANES_UNFENCED_BINARY
#define REQSTORE_CONTROL_LANES_UNFENCED_BINARY "reqstore-control-lanes-unfenced"
#endif

using namespace reqstore::test;
using namespace reqstore::test::hooks_it;

namespace
{

constexpr int node_count = 3;

// The config of node `n` of a cluster on `schema`: fast retries, and a one-second attempt timeout,
// so that a lane's claim (twice the timeout and a second) runs out in three seconds.
server_options node_options(const std::string& schema, int n, const std::string& binary = {})
{
    server_options o;
    o.config =
        hook_config({{"retry_schedule", schedule(12, 0.2)}},
                    {{"node", json::object{{"id", "node-" + std::to_string(n)}}},
                     {"store", json::object{{"engine", "postgres"},
                                            {"postgres", json::object{{"conninfo", shared_test_postgres()},
                                                                      {"schema", schema}}}}}});
    o.reqstore_binary = binary;
    return o;
}

using cluster = std::array<std::unique_ptr<server>, node_count>;

cluster start_cluster(const std::string& schema, const std::string& binary = {})
{
    cluster nodes;
    for (int n = 0; n < node_count; ++n)
        nodes[n] = std::make_unique<server>(node_options(schema, n, binary));
    return nodes;
}

std::string logs_of(const cluster& nodes)
{
    std::string out;
    for (int n = 0; n < node_count; ++n)
        out += "--- node-" + std::to_string(n) + "\n" + nodes[n]->log();
    return out;
}

std::string schema_name(std::string_view test)
{
    return std::string(test) + "_" + std::to_string(::getpid());
}

} // namespace

TEST(PostgresEngine, ThreeNodesFanOutEveryEventOnceAndDeliverEveryVersionInOrderWhileNodesAreKilled)
{
    const std::string secret = fresh_secret();
    // Every fifth attempt fails (retried), and each answer takes 30 ms, so that two attempts of one
    // lane from two nodes would be seen overlapping.
    server sink = start_sink(secret, {"--fail-rate", "0.2", "--answer-delay-ms", "30", "--seed", "7"});
    auto sc = sink_client(sink);
    auto nodes = start_cluster(schema_name("webhooks_three"));
    std::string wid;
    {
        auto c = nodes[0]->connect();
        wid = text(subscribe(c, url_of(sink, "/hook"), {"*"}, secret), "id");
    }

    constexpr int records = 6;
    constexpr int versions = 12;
    std::vector<std::string> ids;
    auto write_round = [&](int version, int dead_node)
    {
        for (int r = 0; r < records; ++r)
        {
            int n = (r + version) % node_count;
            if (n == dead_node)
                n = (n + 1) % node_count;
            auto c = nodes[n]->connect();
            if (version == 1)
                ids.push_back(text(create_record(c, {{"n", 1}}), "id"));
            else
                patch_record(c, ids[r], {{"n", version}});
        }
    };
    // Kills and pauses between the rounds of writes, each while deliveries are under way: node 1
    // is killed and restarted, node 2 is paused for longer than a claim lasts and resumed (its
    // attempts' outcomes, if any, are refused), and node 0, the first to take the fan-out's
    // lease, is killed and stays down for the last rounds, so that another node must take the
    // fan-out over from the cursor it left.
    for (int version = 1; version <= versions; ++version)
    {
        if (version == 5)
            nodes[1]->restart();
        const int dead = version == 4 ? 1 : version >= 8 ? 0 : -1;
        write_round(version, dead);
        if (version == 3)
            nodes[1]->kill_hard();
        if (version == 6)
        {
            nodes[2]->send_signal(SIGSTOP);
            std::this_thread::sleep_for(3500ms);
            nodes[2]->send_signal(SIGCONT);
        }
        if (version == 7)
            nodes[0]->kill_hard();
    }
    // The fan-out's lease (five seconds) runs out and another node takes it over, from the
    // cursor node 0 left, before node 0 comes back.
    ASSERT_TRUE(eventually(
        [&]
        {
            return nodes[1]->log_contains("this node fans out webhook events", 0ms) ||
                   nodes[2]->log_contains("this node fans out webhook events", 0ms);
        },
        10s))
        << "no node took the fan-out over from node 0\n"
        << logs_of(nodes);
    nodes[0]->restart();

    ASSERT_TRUE(eventually(
        [&]
        {
            for (const auto& id : ids)
                if (!has_all_versions(sc, id, "/hook", versions))
                    return false;
            return true;
        },
        60s))
        << to_json(sink_stats(sc)) << "\n"
        << logs_of(nodes);

    for (const auto& id : ids)
        EXPECT_EQ(versions_of(first_arrivals(sc, id, "/hook")), one_to(versions))
            << dump(sink_deliveries(sc, id));
    const auto stats = sink_stats(sc);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "gaps"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "bad_signature"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "overlapping_attempts"), 0) << to_json(stats);

    // Fanned out exactly once: one delivery per event of the feed, each with its own webhook-id,
    // whichever node read the feed, and each settled as succeeded in the end.
    auto c = nodes[1]->connect();
    const auto feed = whole_feed(c);
    EXPECT_EQ(feed.size(), static_cast<std::size_t>(records * versions));
    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, feed.size(), "succeeded"); }, 30s))
        << dump(delivery_log(c, wid));
    std::set<std::string> webhook_ids;
    for (const auto& d : delivery_log(c, wid))
        webhook_ids.insert(text(d, "webhook_id"));
    std::set<std::string> expected;
    for (const auto& e : feed)
        expected.insert("evt_" + std::to_string(number(e, "seq")));
    EXPECT_EQ(webhook_ids, expected);
}

// Negative control: nodes whose claims take a lane from another node's live claim must be caught
// attempting one lane from two nodes at once. Every answer takes 400 ms, longer than a claim round
// (a quarter second), so that another node claims the lane while an attempt is under way.
TEST(PostgresEngine, NegativeControlUnfencedLaneClaimsAreCaughtAttemptingOneLaneFromTwoNodes)
{
    const std::string secret = fresh_secret();
    server sink = start_sink(secret, {"--answer-delay-ms", "400"});
    auto sc = sink_client(sink);
    auto nodes = start_cluster(schema_name("webhooks_unfenced"), REQSTORE_CONTROL_LANES_UNFENCED_BINARY);
    auto c = nodes[0]->connect();
    (void)subscribe(c, url_of(sink, "/hook"), {"*"}, secret);
    for (int r = 0; r < 4; ++r)
    {
        const std::string id = text(create_record(c, {{"n", 1}}), "id");
        for (int v = 2; v <= 4; ++v)
            patch_record(c, id, {{"n", v}});
    }
    EXPECT_TRUE(eventually([&] { return sink_count(sc, "overlapping_attempts") > 0; }, 20s))
        << to_json(sink_stats(sc)) << "\n"
        << logs_of(nodes);
}

namespace
{

// A box_file_request (a type whose expires_at schedules its move to inactive) expiring at `due`.
std::string expiring_box(client& c, std::chrono::system_clock::time_point due)
{
    json::object body{{"type", "box_file_request"},
                      {"title", "Contracts"},
                      {"folder", json::object{{"id", "42"}, {"type", "folder"}}},
                      {"expires_at", format_timestamp(due)}};
    auto r = c.post("/v1/requests", json::serialize(body));
    if (r.status() != 201)
        throw std::runtime_error("create failed:\n" + describe(r));
    return text(r.object(), "id");
}

// Whether the record moved to inactive by itself, once: version 2, by "system", two versions.
bool expired_once(client& c, const std::string& id)
{
    const auto rec = get_record(c, id);
    return text(rec, "status") == "inactive" && number(rec, "version") == 2 &&
           text(rec, "updated_by") == "system" && history_of(c, id).size() == 2;
}

int scanning_node(const cluster& nodes)
{
    for (int n = 0; n < node_count; ++n)
        if (nodes[n]->running() && nodes[n]->log_contains("this node scans the expiry timers", 0ms))
            return n;
    return -1;
}

} // namespace

TEST(PostgresEngine, TimersSetThroughAnyNodeFireOnceAndAnotherNodeTakesTheScanOverWhenItsHolderDies)
{
    auto nodes = start_cluster(schema_name("expiry_three"));
    int holder = -1;
    ASSERT_TRUE(eventually([&] { return (holder = scanning_node(nodes)) >= 0; }, 5s)) << logs_of(nodes);
    for (int n = 0; n < node_count; ++n)
    {
        if (n != holder)
        {
            EXPECT_FALSE(nodes[n]->log_contains("this node scans the expiry timers", 0ms))
                << "two nodes scan the timers\n"
                << logs_of(nodes);
        }
        // /metrics says who holds the lease, once each node has tried it.
        auto mc = nodes[n]->connect();
        const double expected = n == holder ? 1 : 0;
        EXPECT_TRUE(
            eventually([&] { return metric(mc, "reqstore_lease_held", "lease=\"expiry\"") == expected; }, 3s))
            << "node " << n << ": " << metric(mc, "reqstore_lease_held", "lease=\"expiry\"").value_or(-1);
    }

    // Set through the nodes that do not scan: the holder hears of them only from the store.
    std::vector<std::string> ids;
    for (int n = 0; n < node_count; ++n)
        if (n != holder)
        {
            auto c = nodes[n]->connect();
            for (int i = 0; i < 2; ++i)
                ids.push_back(expiring_box(c, std::chrono::system_clock::now() + 1500ms));
        }
    auto reader = nodes[holder]->connect();
    EXPECT_TRUE(eventually([&] { return expired_once(reader, ids.back()); }, 6s)) << logs_of(nodes);
    for (const auto& id : ids)
        EXPECT_TRUE(expired_once(reader, id)) << dump(history_of(reader, id));

    // The holder dies: within its lease (five seconds) another node scans, and fires what is due.
    nodes[holder]->kill_hard();
    const int other = (holder + 1) % node_count;
    auto c = nodes[other]->connect();
    const std::string late = expiring_box(c, std::chrono::system_clock::now() + 1s);
    EXPECT_TRUE(eventually([&] { return expired_once(c, late); }, 10s)) << logs_of(nodes);
    // (The log is written behind the server's work: the line may follow the transition.)
    EXPECT_TRUE(eventually([&] { return scanning_node(nodes) >= 0; }, 5s)) << logs_of(nodes);
}
