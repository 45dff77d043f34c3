// Durability: with --durability fsync every acknowledged write survives kill -9, with no gap.
#include "workload.hpp"

using namespace reqstore::test;

TEST(Durability, AcknowledgedWritesSurviveKill9)
{
    server srv({.durability = "fsync"});
    std::string shared_id;
    {
        auto c = srv.connect();
        shared_id = text(create_record(c, {{"counter", 0}}), "id");
    }
    write_load load(srv, 4, 2, shared_id);
    ASSERT_TRUE(load.wait_for_acks(400, 20s))
        << "only " << load.acks().size() << " writes acknowledged in 20 s";
    srv.kill_hard(); // mid-stream: the writers are still going
    load.stop_and_join();
    auto unexpected = load.unexpected();
    EXPECT_TRUE(unexpected.empty()) << unexpected.front();
    auto acks = load.acks();

    srv.restart();
    auto c = srv.connect();
    expect_acknowledged_writes_kept(c, acks);
}

TEST(Durability, RestartedServerContinuesVersionsWithoutGap)
{
    server srv({.durability = "fsync"});
    auto c = srv.connect();
    auto rec = create_record(c, {{"n", 0}});
    const std::string id = text(rec, "id");
    std::string etag = "\"1\"";
    for (int i = 1; i <= 5; ++i)
    {
        auto r = c.put(path_of(id), "{\"n\":" + std::to_string(i) + "}", {{"If-Match", etag}});
        ASSERT_EQ(r.status(), 200u) << r;
        etag = r.header("ETag");
    }
    srv.kill_hard();
    srv.restart();
    c = srv.connect();
    auto now = get_record(c, id);
    EXPECT_EQ(number(now, "version"), 6);
    EXPECT_EQ(number(now, "n"), 5);
    auto r = c.put(path_of(id), R"({"n":6})", {{"If-Match", "\"6\""}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"7\"");
    EXPECT_EQ(history_of(c, id).size(), 7u);
    // New ids after the restart do not collide with old ones.
    auto fresh = create_record(c);
    EXPECT_NE(text(fresh, "id"), id);
    EXPECT_EQ(list_all(c).size(), 2u);
}

TEST(Durability, DeletionSurvivesKill9)
{
    server srv({.durability = "fsync"});
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "x"}});
    const std::string id = text(rec, "id");
    ASSERT_EQ(c.del(path_of(id)).status(), 204u);
    srv.kill_hard();
    srv.restart();
    c = srv.connect();
    EXPECT_TRUE(is_problem(c.get(path_of(id)), 410, "gone", path_of(id)));
    auto h = history_of(c, id);
    ASSERT_EQ(h.size(), 2u);
    auto v1 = c.get(path_of(id) + "/versions/1");
    ASSERT_EQ(v1.status(), 200u) << v1;
    EXPECT_EQ(v1.object(), rec);
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Durability, AcknowledgedWritesSurviveRepeatedKills)
{
    server srv({.durability = "fsync"});
    std::string shared_id;
    {
        auto c = srv.connect();
        shared_id = text(create_record(c, {{"counter", 0}}), "id");
    }
    std::vector<ack> all;
    for (int round = 0; round < 3; ++round)
    {
        write_load load(srv, 3, 2, shared_id);
        ASSERT_TRUE(load.wait_for_acks(150, 20s)) << "round " << round;
        srv.kill_hard();
        load.stop_and_join();
        auto unexpected = load.unexpected();
        EXPECT_TRUE(unexpected.empty()) << unexpected.front();
        auto acks = load.acks();
        all.insert(all.end(), acks.begin(), acks.end());
        srv.restart();
    }
    auto c = srv.connect();
    expect_acknowledged_writes_kept(c, all);
}
