// Graceful shutdown: SIGTERM/SIGINT drain, exit 0, and every acknowledged write survives a restart.
#include <csignal>
#include <thread>

#include "workload.hpp"

using namespace reqstore::test;

TEST(Shutdown, SigtermWhileIdleExitsZero)
{
    server srv;
    EXPECT_EQ(srv.stop(), 0) << srv.log();
}

TEST(Shutdown, SigintWhileIdleExitsZero)
{
    server srv;
    EXPECT_EQ(srv.stop_with(SIGINT), 0) << srv.log();
}

TEST(Shutdown, SigtermWithIdleKeepAliveConnectionsExitsZeroPromptly)
{
    server srv;
    std::vector<client> idle;
    for (int i = 0; i < 3; ++i)
    {
        idle.push_back(srv.connect());
        ASSERT_EQ(idle.back().get("/healthz").status(), 200u);
    }
    const auto start = steady::now();
    EXPECT_EQ(srv.stop(25s), 0) << srv.log();
    EXPECT_LE(steady::now() - start, 10s) << "idle connections held the shutdown back";
}

TEST(Shutdown, WritesAcknowledgedBeforeSigtermSurviveARestart)
{
    server srv;
    auto c = srv.connect();
    std::vector<json::object> records;
    for (int i = 0; i < 10; ++i)
    {
        auto rec = create_record(c, {{"i", i}});
        auto r = c.put(path_of(text(rec, "id")), R"({"done":true})");
        ASSERT_EQ(r.status(), 200u) << r;
        records.push_back(r.object());
    }
    auto gone = create_record(c);
    ASSERT_EQ(c.del(path_of(text(gone, "id"))).status(), 204u);
    ASSERT_EQ(srv.stop(), 0) << srv.log();

    srv.restart();
    c = srv.connect();
    for (const auto& rec : records)
        EXPECT_EQ(get_record(c, text(rec, "id")), rec);
    EXPECT_EQ(c.get(path_of(text(gone, "id"))).status(), 410u);
    EXPECT_EQ(list_all(c).size(), records.size());
}

TEST(Shutdown, BufferedWritesSurviveAGracefulRestart)
{
    server srv({.durability = "buffered"});
    auto c = srv.connect();
    auto rec = create_record(c, {{"n", 0}});
    const std::string id = text(rec, "id");
    std::string etag = "\"1\"";
    json::object last;
    for (int i = 1; i <= 50; ++i)
    {
        auto r = c.put(path_of(id), "{\"n\":" + std::to_string(i) + "}", {{"If-Match", etag}});
        ASSERT_EQ(r.status(), 200u) << r;
        etag = r.header("ETag");
        last = r.object();
    }
    ASSERT_EQ(srv.stop(), 0) << srv.log();
    srv.restart();
    c = srv.connect();
    EXPECT_EQ(get_record(c, id), last);
    EXPECT_EQ(history_of(c, id).size(), 51u);
}

TEST(Shutdown, SigtermWhileRequestsAreInFlightExitsZeroAndKeepsAcknowledgedWrites)
{
    server srv({.durability = "fsync"});
    std::string shared_id;
    {
        auto c = srv.connect();
        shared_id = text(create_record(c, {{"counter", 0}}), "id");
    }
    write_load load(srv, 4, 2, shared_id);
    ASSERT_TRUE(load.wait_for_acks(100, 20s))
        << "only " << load.acks().size() << " writes acknowledged in 20 s";
    srv.send_signal(SIGTERM); // the writers keep going until the server stops answering
    int status = -1;
    EXPECT_NO_THROW(status = srv.wait_exit(25s));
    EXPECT_EQ(status, 0) << srv.log();
    load.stop_and_join();
    auto unexpected = load.unexpected();
    EXPECT_TRUE(unexpected.empty()) << unexpected.front();
    auto acks = load.acks();

    srv.restart();
    auto c = srv.connect();
    expect_acknowledged_writes_kept(c, acks);
}

TEST(Shutdown, RequestBeingReceivedAtSigtermIsFinished)
{
    server srv;
    auto c = srv.connect(15s);
    const std::string body = R"({"type":"request","name":"late"})";
    const std::string head =
        "POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    ASSERT_TRUE(c.send_raw(head + body.substr(0, 10)));
    // Give the server time to read the head, so that the request is in flight when the signal comes, and
    // then to begin its drain while the body is still arriving.
    std::this_thread::sleep_for(300ms);
    srv.send_signal(SIGTERM);
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(c.send_raw(body.substr(10))) << "the connection was dropped with a request in flight";
    auto r = c.read_response();
    EXPECT_EQ(r.status(), 201u) << r;
    EXPECT_EQ(srv.wait_exit(25s), 0) << srv.log();

    srv.restart();
    auto fresh = srv.connect();
    auto listed = list_all(fresh);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(text(listed[0], "name"), "late");
}
