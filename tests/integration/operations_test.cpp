// Operations: health, readiness, metrics, request ids, logs, the command line, keep-alive and pipelining.
#include <algorithm>
#include <fstream>
#include <set>
#include <unistd.h>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
bool any_sample(const std::vector<metric_sample>& samples, std::string_view name_part,
                std::string_view label_part = {}, double at_least = 0)
{
    return std::any_of(samples.begin(), samples.end(),
                       [&](const metric_sample& s) {
                           return contains(s.name, name_part) && contains(s.labels, label_part) &&
                                  s.value >= at_least;
                       });
}
} // namespace

TEST(Operations, PrintsListeningLineWithTheRealPort)
{
    server srv;
    EXPECT_EQ(srv.listening_line(), "listening on 127.0.0.1:" + std::to_string(srv.port()));
    EXPECT_NE(srv.port(), 0);
    auto c = srv.connect();
    EXPECT_EQ(c.get("/healthz").status(), 200u);
}

TEST(Operations, HealthzAndReadyzAnswer200)
{
    server srv;
    auto c = srv.connect();
    auto h = c.get("/healthz");
    EXPECT_EQ(h.status(), 200u) << h;
    auto r = c.get("/readyz");
    EXPECT_EQ(r.status(), 200u) << r;
    EXPECT_FALSE(h.header("X-Request-Id").empty()) << h;
}

TEST(Operations, MetricsExposeRequestsLatencyCommitsFsyncsConflictsAndConnections)
{
    server srv({.durability = "fsync"});
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    ASSERT_EQ(c.get(path).status(), 200u);
    ASSERT_EQ(c.put(path, R"({"name":"a"})", {{"If-Match", "\"1\""}}).status(), 200u);
    ASSERT_EQ(c.put(path, R"({"name":"b"})", {{"If-Match", "\"1\""}}).status(), 412u);
    ASSERT_EQ(c.get(path_of(unknown_id)).status(), 404u);
    auto extra1 = srv.connect();
    auto extra2 = srv.connect();
    ASSERT_EQ(extra1.get("/healthz").status(), 200u);
    ASSERT_EQ(extra2.get("/healthz").status(), 200u);

    auto m = c.get("/metrics");
    ASSERT_EQ(m.status(), 200u) << m;
    EXPECT_TRUE(starts_with(m.header("Content-Type"), "text/plain")) << m.header("Content-Type");
    const std::string& body = m.body();
    auto samples = parse_metrics(body);
    ASSERT_FALSE(samples.empty()) << body;

    // Request counts by route, method and status.
    EXPECT_TRUE(any_sample(samples, "requests_total", "201", 1)) << body;
    EXPECT_TRUE(any_sample(samples, "requests_total", "200", 1)) << body;
    EXPECT_TRUE(any_sample(samples, "requests_total", "412", 1)) << body;
    EXPECT_TRUE(any_sample(samples, "requests_total", "404", 1)) << body;
    EXPECT_TRUE(any_sample(samples, "requests_total", "route")) << body;
    EXPECT_TRUE(any_sample(samples, "requests_total", "PUT")) << body;
    // A latency histogram.
    EXPECT_TRUE(any_sample(samples, "duration_seconds_bucket", "le=")) << body;
    EXPECT_TRUE(any_sample(samples, "duration_seconds_count", "", 1)) << body;
    EXPECT_TRUE(any_sample(samples, "duration_seconds_sum")) << body;
    // Commit batch sizes and fsync latency.
    EXPECT_TRUE(any_sample(samples, "commit_batch_size", "", 0)) << body;
    EXPECT_TRUE(any_sample(samples, "batch", "", 1)) << "no batch metric counts the commits" << body;
    EXPECT_TRUE(any_sample(samples, "fsync", "", 1)) << "no fsync metric counts the fsyncs" << body;
    // CAS conflicts (412s).
    EXPECT_TRUE(any_sample(samples, "cas_conflicts", "", 1)) << body;
    // Open connections: c, extra1 and extra2 at least.
    EXPECT_TRUE(any_sample(samples, "open_connections", "", 3)) << body;
    // RocksDB's background work: gauges, present from the start (a tiny store needs none).
    EXPECT_TRUE(any_sample(samples, "reqstore_store_compactions_running")) << body;
    EXPECT_TRUE(any_sample(samples, "reqstore_store_pending_compaction_bytes")) << body;
}

TEST(Operations, MetricsCountEveryConflict)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(c.put(path, R"({"name":"b"})", {{"If-Match", "\"9\""}}).status(), 412u);
    auto samples = parse_metrics(c.get("/metrics").body());
    double conflicts = 0;
    for (const auto& s : samples)
        if (contains(s.name, "cas_conflicts") && !contains(s.name, "created"))
            conflicts += s.value;
    EXPECT_EQ(conflicts, 3);
}

TEST(Operations, RequestIdIsEchoedWhenSane)
{
    server srv;
    auto c = srv.connect();
    for (const std::string& id : {std::string("it-abc_1.2:3"), std::string(128, 'a')})
    {
        EXPECT_EQ(c.get("/healthz", {{"X-Request-Id", id}}).header("X-Request-Id"), id);
        EXPECT_EQ(c.get("/v1/requests", {{"X-Request-Id", id}}).header("X-Request-Id"), id);
        EXPECT_EQ(c.get(path_of(unknown_id), {{"X-Request-Id", id}}).header("X-Request-Id"), id);
        EXPECT_EQ(c.post("/v1/requests", "{", {{"X-Request-Id", id}}).header("X-Request-Id"), id);
    }
}

TEST(Operations, RequestIdIsGeneratedWhenAbsentOrInsane)
{
    server srv;
    auto c = srv.connect();
    std::set<std::string> seen;
    for (int i = 0; i < 3; ++i)
    {
        auto r = c.get("/healthz");
        const std::string id = r.header("X-Request-Id");
        EXPECT_FALSE(id.empty()) << r;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 3u) << "generated request ids repeat";
    for (const std::string& insane : {std::string(129, 'a'), std::string("has space"),
                                      std::string("semi;colon"), std::string("quote\"d")})
    {
        auto r = c.get("/healthz", {{"X-Request-Id", insane}});
        const std::string id = r.header("X-Request-Id");
        EXPECT_FALSE(id.empty()) << r;
        EXPECT_NE(id, insane);
        EXPECT_LE(id.size(), 128u);
    }
    auto unauthorized = srv.connect();
    unauthorized.set_credentials(std::nullopt);
    EXPECT_FALSE(unauthorized.get("/v1/requests").header("X-Request-Id").empty());
}

TEST(Operations, EveryAnswerCarriesARequestId)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    std::vector<response> answers;
    answers.push_back(c.post("/v1/requests", R"({"type":"request"})"));                // 201
    answers.push_back(c.get(path));                                                    // 200
    answers.push_back(c.get(path, {{"If-None-Match", "\"1\""}}));                      // 304
    answers.push_back(c.put(path, R"({"a":1})", {{"Prefer", "return=minimal"}}));      // 204
    answers.push_back(c.put(path, R"({"a":2})", {{"If-Match", "\"1\""}}));             // 412
    answers.push_back(c.post("/v1/requests", "{"));                                    // 400
    answers.push_back(c.get(path_of(unknown_id)));                                     // 404
    answers.push_back(c.post(path, "{}"));                                             // 405
    answers.push_back(c.get("/v1/requests", {{"Authorization", "Bearer dev.wrong"}})); // 401
    answers.push_back(c.del(path));                                                    // 204
    answers.push_back(c.get(path));                                                    // 410
    for (const auto& r : answers)
        EXPECT_FALSE(r.header("X-Request-Id").empty()) << r;

    auto raw = srv.connect(5s);
    raw.send_raw("POST /v1/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev.dev-secret\r\n"
                 "Content-Type: application/json\r\nContent-Length: 99999999\r\n\r\n");
    auto got = raw.drain(5s);
    auto too_large = parse_response(got.data);
    ASSERT_TRUE(too_large.has_value()) << got.data;
    EXPECT_EQ(too_large->status(), 413u);
    EXPECT_FALSE(too_large->header("X-Request-Id").empty()) << *too_large;
}

TEST(Operations, EveryRequestIsLoggedWithItsRequestId)
{
    server srv;
    auto c = srv.connect();
    ASSERT_EQ(c.get("/v1/requests", {{"X-Request-Id", "log-probe-4711"}}).status(), 200u);
    EXPECT_TRUE(srv.log_contains("log-probe-4711")) << srv.log();
    ASSERT_EQ(c.get(path_of(unknown_id), {{"X-Request-Id", "log-probe-4712"}}).status(), 404u);
    EXPECT_TRUE(srv.log_contains("log-probe-4712")) << srv.log();
}

TEST(Operations, BufferedDurabilityIsStatedInTheStartupLog)
{
    server srv({.durability = "buffered"});
    EXPECT_TRUE(srv.log_contains("buffered")) << srv.log();
}

TEST(Operations, ThreadsFlagIsAccepted)
{
    server srv({.threads = 1});
    auto c = srv.connect();
    create_record(c);
    EXPECT_EQ(list_all(c).size(), 1u);
}

TEST(Operations, RefusesANonLoopbackAddressWhileTheDevKeyIsConfigured)
{
    auto root = std::filesystem::temp_directory_path() / ("reqstore-it-nl-" + std::to_string(::getpid()));
    auto result = run_to_exit({"--listen", "0.0.0.0:0", "--data-dir", (root / "data").string()});
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    EXPECT_EQ(result.status, 2) << "stderr: " << result.err;
    EXPECT_FALSE(contains(result.out, "listening on")) << result.out;
    EXPECT_FALSE(result.err.empty()) << "no message says how to replace the dev key";
}

TEST(Operations, RefusesABadCommandLineOrConfig)
{
    auto root = std::filesystem::temp_directory_path() / ("reqstore-it-bad-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    {
        std::ofstream(root / "bad.json") << "{ not json";
    }
    const std::vector<std::vector<std::string>> cases{
        {"--listen", "127.0.0.1:0", "--data-dir", (root / "d1").string(), "--durability", "sometimes"},
        {"--listen", "127.0.0.1:0", "--data-dir", (root / "d2").string(), "--config",
         (root / "bad.json").string()},
        {"--listen", "127.0.0.1:0", "--data-dir", (root / "d3").string(), "--config",
         (root / "missing.json").string()},
        {"--listen", "127.0.0.1:0", "--data-dir", (root / "d4").string(), "--no-such-flag"},
    };
    for (const auto& args : cases)
    {
        auto result = run_to_exit(args);
        EXPECT_NE(result.status, 0) << args.back();
        EXPECT_FALSE(contains(result.out, "listening on")) << args.back();
    }
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
}

// ---------------------------------------------------------------------------------------------
// Connections

TEST(Connections, KeepAliveServesManyRequestsOnOneConnection)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    for (int i = 0; i < 50; ++i)
    {
        auto r = i % 2 == 0 ? c.get(path) : c.put(path, "{\"i\":" + std::to_string(i) + "}");
        ASSERT_EQ(r.status(), 200u) << r;
    }
    EXPECT_EQ(c.connections_opened(), 1);
}

TEST(Connections, PipelinedRequestsAreAnsweredInOrder)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    const std::string auth = "Authorization: Bearer dev.dev-secret\r\n";
    const std::string body = R"({"name":"piped"})";
    std::string batch = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: p1\r\n\r\n";
    batch += "PUT " + path + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: p2\r\n" + auth +
             "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
             body;
    batch += "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: p3\r\n" + auth + "\r\n";
    batch += "GET " + path_of(unknown_id) + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: p4\r\n" + auth + "\r\n";
    auto raw = srv.connect();
    ASSERT_TRUE(raw.send_raw(batch));
    auto r1 = raw.read_response();
    auto r2 = raw.read_response();
    auto r3 = raw.read_response();
    auto r4 = raw.read_response();
    EXPECT_EQ(r1.header("X-Request-Id"), "p1");
    EXPECT_EQ(r1.status(), 200u);
    EXPECT_EQ(r2.header("X-Request-Id"), "p2");
    EXPECT_EQ(r2.status(), 200u) << r2;
    EXPECT_EQ(r3.header("X-Request-Id"), "p3");
    EXPECT_EQ(r3.status(), 200u);
    EXPECT_EQ(text(r3.object(), "name"), "piped") << "the GET after the PUT sees it";
    EXPECT_EQ(r4.header("X-Request-Id"), "p4");
    EXPECT_EQ(r4.status(), 404u);
}

TEST(Connections, ConnectionCloseIsHonoured)
{
    server srv;
    auto c = srv.connect(5s);
    ASSERT_TRUE(c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto got = c.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << got.data;
    EXPECT_EQ(r->status(), 200u);
    EXPECT_TRUE(got.closed);
}

TEST(Connections, Http10IsAnsweredAndClosed)
{
    server srv;
    auto c = srv.connect(5s);
    ASSERT_TRUE(c.send_raw("GET /healthz HTTP/1.0\r\n\r\n"));
    auto got = c.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << got.data;
    EXPECT_EQ(r->status(), 200u);
    EXPECT_TRUE(got.closed);
}
