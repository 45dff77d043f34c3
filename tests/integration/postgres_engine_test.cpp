// The server on PostgreSQL while its database goes away and comes back (docs/API.md section 13):
// every call answers 503 store-unavailable with Retry-After, /readyz answers 503, and the server
// reconnects by itself. Each test runs a PostgreSQL of its own (tests/pg/instance), since it
// crashes it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{

// A PostgreSQL 15 cluster of this test's own, stopped and removed by the destructor.
class own_postgres
{
public:
    own_postgres()
        : dir_(std::filesystem::temp_directory_path() / ("reqstore-pg-it-" + std::to_string(::getpid())))
    {
        run("start", "crash-safe");
        std::ifstream in(dir_ / "conninfo");
        std::getline(in, conninfo_);
        if (conninfo_.empty())
            throw std::runtime_error("tests/pg/instance start wrote no conninfo");
    }
    ~own_postgres()
    {
        run("stop", {}, false);
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    const std::string& conninfo() const { return conninfo_; }
    void crash() { run("crash"); }
    void restart() { run("restart"); }

private:
    void run(const std::string& command, const std::string& option = {}, bool must_succeed = true)
    {
        const std::string line = std::string(REQSTORE_SOURCE_DIR) + "/tests/pg/instance " + command + " " +
                                 dir_.string() + " " + option + " >/dev/null";
        if (std::system(line.c_str()) != 0 && must_succeed)
            throw std::runtime_error("failed: " + line);
    }

    std::filesystem::path dir_;
    std::string conninfo_;
};

std::string postgres_config(const std::string& conninfo, const std::string& schema = "outage",
                            const std::string& node = "")
{
    return json::serialize(json::object{
        {"node", json::object{{"id", node}}},
        {"store", json::object{{"engine", "postgres"},
                               {"postgres", json::object{{"conninfo", conninfo}, {"schema", schema}}}}}});
}

// Asks `path` until it answers `status` or `within` passes; the last answer.
response wait_for_status(client& c, std::string_view path, unsigned status, millis within)
{
    const auto until = steady::now() + within;
    for (;;)
    {
        auto r = c.get(path);
        if (r.status() == status || steady::now() >= until)
            return r;
        std::this_thread::sleep_for(100ms);
    }
}

} // namespace

TEST(PostgresEngine, WhileTheDatabaseIsGoneEveryCallAnswers503StoreUnavailableAndTheServerRecoversByItself)
{
    own_postgres db;
    server srv(server_options{.config = postgres_config(db.conninfo(), "outage", "node-a")});
    auto c = srv.connect();
    auto created = c.post("/v1/requests", R"({"type":"request","email":"a@example.com","name":"A"})");
    ASSERT_EQ(created.status(), 201u) << created;
    const std::string path = "/v1/requests/" + std::string(created.object().at("id").as_string());
    ASSERT_EQ(c.get("/readyz").status(), 200u);

    db.crash();

    const auto read = c.get(path);
    EXPECT_EQ(read.status(), 503u) << read;
    EXPECT_EQ(read.object().at("type"), "/problems/store-unavailable") << read;
    EXPECT_FALSE(read.header("Retry-After").empty()) << read;
    const auto write =
        c.put(path, R"({"type":"request","email":"b@example.com","name":"B"})", {{"If-Match", "\"1\""}});
    EXPECT_EQ(write.status(), 503u) << write;
    EXPECT_EQ(write.object().at("type"), "/problems/store-unavailable") << write;
    EXPECT_FALSE(write.header("Retry-After").empty()) << write;
    const auto listing = c.get("/v1/requests");
    EXPECT_EQ(listing.status(), 503u) << listing;
    const auto ready = wait_for_status(c, "/readyz", 503, 5s);
    EXPECT_EQ(ready.status(), 503u) << ready;
    const auto metrics = c.get("/metrics").body();
    EXPECT_NE(metrics.find("\nreqstore_store_reachable 0\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("\nreqstore_node_info{node=\"node-a\"} 1\n"), std::string::npos) << metrics;

    db.restart();

    // Ready again by itself, before any request needs the database (a proxy that took the node out
    // of rotation sends none): the node reconnects with backoff, at most 5 s between attempts.
    EXPECT_EQ(wait_for_status(c, "/readyz", 200, 20s).status(), 200u);
    const auto back = wait_for_status(c, path, 200, 20s);
    ASSERT_EQ(back.status(), 200u) << back;
    EXPECT_EQ(back.header("ETag"), "\"1\"")
        << "the write answered 503 while the database was gone was applied";
    const auto updated =
        c.put(path, R"({"type":"request","email":"c@example.com","name":"C"})", {{"If-Match", "\"1\""}});
    EXPECT_EQ(updated.status(), 200u) << updated << updated.body();
    EXPECT_EQ(updated.header("ETag"), "\"2\"") << updated;
    const auto after = c.get("/metrics").body();
    EXPECT_NE(after.find("\nreqstore_store_reachable 1\n"), std::string::npos) << after;
    EXPECT_NE(after.find("\nreqstore_store_reconnects_total "), std::string::npos) << after;
}

// Two nodes on one database: a request sent with one Idempotency-Key to both at once makes one
// record, and both answer it. The store refuses the commit of whichever comes second (its lock on
// the key made it wait for the first), and that node replays the first one's answer.
TEST(PostgresEngine, AnIdempotencyKeySentToTwoNodesAtOnceMakesOneRecord)
{
    const std::string config =
        postgres_config(shared_test_postgres(), "two_nodes_" + std::to_string(::getpid()));
    server first(server_options{.config = config});
    server second(server_options{.config = config});
    constexpr int keys = 24;
    const std::string body = R"({"type":"request","email":"a@example.com","name":"A"})";
    std::set<std::string> ids;
    for (int k = 0; k < keys; ++k)
    {
        const header_list key{{"Idempotency-Key", "\"twice-" + std::to_string(k) + "\""}};
        std::array<client, 2> clients{first.connect(), second.connect()};
        for (auto& c : clients)
            c.open();
        std::array<response, 2> answers;
        std::array<std::string, 2> failures;
        std::latch start(2);
        std::vector<std::thread> senders;
        for (int n = 0; n < 2; ++n)
            senders.emplace_back(
                [&, n]
                {
                    start.arrive_and_wait();
                    try
                    {
                        answers[n] = clients[n].post("/v1/requests", body, key);
                    }
                    catch (const std::exception& e)
                    {
                        failures[n] = e.what();
                    }
                });
        for (auto& t : senders)
            t.join();
        for (int n = 0; n < 2; ++n)
        {
            ASSERT_TRUE(failures[n].empty()) << failures[n];
            ASSERT_EQ(answers[n].status(), 201u) << "node " << n << ", key " << k << ": " << answers[n];
        }
        const auto id = text(answers[0].object(), "id");
        EXPECT_EQ(text(answers[1].object(), "id"), id) << "key " << k << " made two records";
        ids.insert(id);
    }
    auto c = first.connect();
    const auto listed = c.get("/v1/requests?limit=100");
    ASSERT_EQ(listed.status(), 200u) << listed;
    EXPECT_EQ(listed.object().at("data").as_array().size(), static_cast<std::size_t>(keys)) << listed.body();
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(keys));
}

// A node keeps the versions it wrote as hints for its next writes, and another node may have
// replaced any of them: each answer must still be the one the database's own version gives. Each
// step below is answered wrongly if a node takes its hint's word (a stale 412, a stale 200 for a
// write that changes nothing, a stale read) or if a commit built on a stale hint is let through.
TEST(PostgresEngine, TwoNodesAnswerFromTheDatabasesVersionNotFromTheVersionEachWroteLast)
{
    const std::string config = postgres_config(shared_test_postgres(), "hints_" + std::to_string(::getpid()));
    server first(server_options{.config = config});
    server second(server_options{.config = config});
    auto a = first.connect();
    auto b = second.connect();
    const std::string id = text(create_record(a), "id");
    const std::string path = path_of(id);
    const auto if_match = [](int version)
    {
        return header_list{{"If-Match", etag_of(version)}};
    };

    // The first node writes version 2 (its hint); the second, which never saw it, builds 3 on it.
    ASSERT_EQ(a.put(path, R"({"name":"two"})", if_match(1)).status(), 200u);
    auto r = b.put(path, R"({"name":"three"})", if_match(2));
    ASSERT_EQ(r.status(), 200u) << r;

    // A read on the first node shows 3, not its hint.
    r = a.get(path);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(3));
    EXPECT_EQ(text(r.object(), "name"), "three");

    // Its hint (2) would refuse If-Match: "3"; the database's version accepts it.
    r = a.put(path, R"({"name":"four"})", if_match(3));
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(4));

    // The second node's hint (3) would accept If-Match: "3"; the database refuses the commit, and
    // the 412 names 4.
    r = b.put(path, R"({"name":"stale"})", if_match(3));
    ASSERT_EQ(r.status(), 412u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(4));

    // The second node writes 5; then a write to the first node that changes nothing against its
    // hint (4) is refused against 5, not answered 200 with 4.
    ASSERT_EQ(b.put(path, R"({"name":"five"})", if_match(4)).status(), 200u);
    r = a.put(path, R"({"name":"four"})", if_match(4));
    ASSERT_EQ(r.status(), 412u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(5));

    // Every version is there once, in order.
    EXPECT_EQ(history_of(a, id).size(), 5u);
}

// The nodes of every schema in a database hear each other's notifications (the channel is the
// database's): a node must wake its long-polls only for its own schema's commits.
TEST(PostgresEngine, AnotherSchemasCommitsDoNotWakeALongPoll)
{
    const std::string suffix = std::to_string(::getpid());
    server quiet(server_options{.config = postgres_config(shared_test_postgres(), "quiet_" + suffix)});
    server busy(server_options{.config = postgres_config(shared_test_postgres(), "busy_" + suffix)});
    auto q = quiet.connect();
    create_record(q);
    std::atomic<bool> polling = true;
    std::thread writer(
        [&]
        {
            auto b = busy.connect();
            while (polling.load())
            {
                create_record(b);
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        });
    const auto started = steady::now();
    const auto r = q.get("/v1/events?after=1&wait=2");
    const double took = std::chrono::duration<double>(steady::now() - started).count();
    polling = false;
    writer.join();
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(r.object().at("data").as_array().empty()) << r.body();
    EXPECT_EQ(number(r.object(), "next_after"), 1) << r.body();
    EXPECT_GE(took, 1.9) << "the long-poll answered early, woken by the other schema's commits";
}

// Backups of the PostgreSQL engine are PostgreSQL's own (docs/OPERATIONS.md): the backup routes say so
// with 501, and write nothing.
TEST(PostgresEngine, BackupRoutesAnswer501AndPointToPostgresqlsTools)
{
    server srv(server_options{
        .config = postgres_config(shared_test_postgres(), "backups_" + std::to_string(::getpid()))});
    auto c = srv.connect();
    const auto made = c.post("/v1/admin/backup", "");
    EXPECT_TRUE(is_problem(made, 501, "not-implemented")) << made;
    EXPECT_TRUE(contains(made.body(), "docs/OPERATIONS.md")) << made;
    EXPECT_TRUE(is_problem(c.get("/v1/admin/backups"), 501, "not-implemented"));
}
