// Request limits (body and header size, JSON depth) and connection deadlines (slow and idle clients).
#include "harness.hpp"

using namespace reqstore::test;

namespace
{
std::string request_head(std::string_view method, std::string_view target, std::size_t content_length)
{
    return std::string(method) + " " + std::string(target) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
           "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(content_length) + "\r\n\r\n";
}

// A JSON create body of exactly `size` bytes.
std::string body_of_size(std::size_t size)
{
    std::string prefix = R"({"type":"request","pad":")";
    std::string suffix = "\"}";
    return prefix + std::string(size - prefix.size() - suffix.size(), 'x') + suffix;
}
} // namespace

TEST(Limits, BodyOverTheDefaultLimitIs413FromContentLengthAlone)
{
    server srv;
    auto c = srv.connect();
    auto raw = srv.connect(5s);
    // Only the head: the declared length alone must be refused, without waiting for 1 MiB.
    raw.send_raw(request_head("POST", "/v1/requests", 1048577));
    auto got = raw.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << "no answer; got: " << got.data;
    EXPECT_TRUE(is_problem(*r, 413, "payload-too-large", "/v1/requests"));
    EXPECT_TRUE(got.closed) << "the connection is closed after a 413";
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Limits, BodyAtTheDefaultLimitIsAccepted)
{
    server srv;
    auto c = srv.connect(20s);
    auto r = c.post("/v1/requests", body_of_size(1048576));
    EXPECT_EQ(r.status(), 201u) << r;
}

TEST(Limits, BodyOverAConfiguredLimitIs413AndChangesNothing)
{
    server srv({.config = R"({"limits": {"max_body_bytes": 1024}})"});
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));

    auto put = srv.connect(5s);
    const std::string big = R"({"name":")" + std::string(2000, 'y') + "\"}";
    put.send_raw(request_head("PUT", path, big.size()) + big);
    auto got = put.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << "no answer; got: " << got.data;
    EXPECT_TRUE(is_problem(*r, 413, "payload-too-large", path));
    EXPECT_TRUE(got.closed);

    auto post = srv.connect(5s);
    const std::string create = body_of_size(1025);
    post.send_raw(request_head("POST", "/v1/requests", create.size()) + create);
    auto got2 = post.drain(5s);
    auto r2 = parse_response(got2.data);
    ASSERT_TRUE(r2.has_value()) << "no answer; got: " << got2.data;
    EXPECT_TRUE(is_problem(*r2, 413, "payload-too-large", "/v1/requests"));

    EXPECT_TRUE(unchanged(c, rec));
    EXPECT_EQ(list_all(c).size(), 1u);
    auto fits = c.post("/v1/requests", body_of_size(1024));
    EXPECT_EQ(fits.status(), 201u) << fits;
}

TEST(Limits, ChunkedBodyOverTheLimitIs413)
{
    server srv({.config = R"({"limits": {"max_body_bytes": 1024}})"});
    auto c = srv.connect();
    auto raw = srv.connect(5s);
    const std::string body = body_of_size(3000);
    std::string msg =
        "POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < body.size(); at += 500)
    {
        auto part = body.substr(at, 500);
        char size[16];
        std::snprintf(size, sizeof size, "%zx", part.size());
        msg += std::string(size) + "\r\n" + part + "\r\n";
    }
    msg += "0\r\n\r\n";
    raw.send_raw(msg);
    auto got = raw.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << "no answer; got: " << got.data;
    EXPECT_TRUE(is_problem(*r, 413, "payload-too-large", "/v1/requests"));
    EXPECT_TRUE(got.closed);
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Limits, HeadersOverTheDefaultLimitAre431AndCloseTheConnection)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));
    auto raw = srv.connect(5s);
    const std::string body = R"({"name":"b"})";
    raw.send_raw("PUT " + path +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
                 "Content-Type: application/json\r\nX-Filler: " +
                 std::string(20000, 'f') + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                 body);
    auto got = raw.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << "no answer; got: " << got.data.substr(0, 500);
    EXPECT_EQ(r->status(), 431u) << *r;
    EXPECT_EQ(slug_of(*r), "headers-too-large") << *r;
    EXPECT_TRUE(got.closed) << "the connection is closed after a 431";
    EXPECT_TRUE(unchanged(c, rec));
    EXPECT_EQ(c.get("/healthz").status(), 200u);
}

TEST(Limits, ManyHeadersOverTheLimitAre431)
{
    server srv;
    auto raw = srv.connect(5s);
    std::string msg = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (int i = 0; i < 400; ++i)
        msg += "X-H" + std::to_string(i) + ": " + std::string(50, 'v') + "\r\n";
    raw.send_raw(msg + "\r\n");
    auto got = raw.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << "no answer; got: " << got.data.substr(0, 500);
    EXPECT_EQ(r->status(), 431u) << *r;
    EXPECT_TRUE(got.closed);
}

TEST(Limits, HeadersUnderTheLimitAreServed)
{
    server srv;
    auto c = srv.connect();
    auto r = c.get("/v1/requests", {{"X-Filler", std::string(8000, 'f')}});
    EXPECT_EQ(r.status(), 200u) << r;
}

TEST(Limits, HeaderLimitIsConfigurable)
{
    server srv({.config = R"({"limits": {"max_header_bytes": 2048}})"});
    auto raw = srv.connect(5s);
    raw.send_raw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + std::string(3000, 'f') +
                 "\r\n\r\n");
    auto got = raw.drain(5s);
    auto r = parse_response(got.data);
    ASSERT_TRUE(r.has_value()) << "no answer; got: " << got.data.substr(0, 500);
    EXPECT_EQ(r->status(), 431u) << *r;
    auto c = srv.connect();
    EXPECT_EQ(c.get("/healthz", {{"X-Filler", std::string(500, 'f')}}).status(), 200u);
}

TEST(Limits, JsonDepthLimitIsConfigurable)
{
    server srv({.config = R"({"limits": {"max_json_depth": 8}})"});
    auto c = srv.connect();
    // Depth 9: the top-level object and eight nested ones.
    std::string deep = R"({"type":"request","m":)" + std::string(7, '[') + "{}" + std::string(7, ']') + "}";
    EXPECT_TRUE(is_problem(c.post("/v1/requests", deep), 400, "malformed-json", "/v1/requests"));
    std::string ok = R"({"type":"request","m":)" + std::string(6, '[') + "{}" + std::string(6, ']') + "}";
    EXPECT_EQ(c.post("/v1/requests", ok).status(), 201u);
    EXPECT_EQ(list_all(c).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST(Limits, ClientThatStallsInTheHeaderIsCutOff)
{
    server srv({.config = R"({"limits": {"header_timeout": 1}})"});
    auto slow = srv.connect(10s);
    const auto start = steady::now();
    ASSERT_TRUE(slow.send_raw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: "));

    // Others are served meanwhile.
    auto other = srv.connect(2s);
    EXPECT_EQ(other.get("/healthz").status(), 200u);

    auto got = slow.drain(8s);
    const auto waited = steady::now() - start;
    EXPECT_TRUE(got.closed) << "a client stalled in its header was not cut off within 8 s";
    EXPECT_LE(waited, 5s);
    EXPECT_GE(waited, 500ms) << "cut off before the header timeout";
    if (!got.data.empty())
    {
        auto r = parse_response(got.data);
        ASSERT_TRUE(r.has_value()) << got.data;
        EXPECT_EQ(r->status(), 408u) << *r;
    }
    EXPECT_EQ(other.get("/healthz").status(), 200u);
}

TEST(Limits, ClientThatTricklesItsHeaderIsCutOffByTheHeaderDeadline)
{
    server srv({.config = R"({"limits": {"header_timeout": 1}})"});
    auto slow = srv.connect(10s);
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(100, 's');
    const auto start = steady::now();
    bool cut = false;
    for (std::size_t i = 0; i < head.size(); ++i)
    {
        if (!slow.send_raw(head.substr(i, 1)))
        {
            cut = true;
            break;
        }
        auto got = slow.drain(200ms); // one byte every 200 ms: each read is quick, the header never ends
        if (got.closed)
        {
            cut = true;
            break;
        }
        if (steady::now() - start > 8s)
            break;
    }
    EXPECT_TRUE(cut) << "a header trickled byte by byte was not cut off";
    EXPECT_LE(steady::now() - start, 5s);
}

TEST(Limits, ClientThatStallsInTheBodyIsCutOffAndNothingIsCreated)
{
    server srv({.config = R"({"limits": {"body_timeout": 1}})"});
    auto slow = srv.connect(10s);
    const auto start = steady::now();
    ASSERT_TRUE(slow.send_raw(request_head("POST", "/v1/requests", 100) + R"({"type":"request",)"));
    auto got = slow.drain(8s);
    const auto waited = steady::now() - start;
    EXPECT_TRUE(got.closed) << "a client stalled in its body was not cut off within 8 s";
    EXPECT_LE(waited, 5s);
    if (!got.data.empty())
    {
        auto r = parse_response(got.data);
        ASSERT_TRUE(r.has_value()) << got.data;
        EXPECT_TRUE(is_problem(*r, 408, "request-timeout"));
    }
    auto c = srv.connect();
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Limits, IdleKeepAliveConnectionIsClosed)
{
    server srv({.config = R"({"limits": {"idle_timeout": 1}})"});
    auto c = srv.connect(10s);
    ASSERT_EQ(c.get("/healthz").status(), 200u);
    const auto start = steady::now();
    auto got = c.drain(8s);
    EXPECT_TRUE(got.closed) << "an idle connection was not closed within 8 s";
    EXPECT_LE(steady::now() - start, 5s);
    EXPECT_GE(steady::now() - start, 500ms);
}

TEST(Limits, BusyKeepAliveConnectionIsNotCutByTheIdleTimeout)
{
    server srv({.config = R"({"limits": {"idle_timeout": 1}})"});
    auto c = srv.connect(10s);
    const auto start = steady::now();
    while (steady::now() - start < 2500ms)
    {
        ASSERT_EQ(c.get("/healthz").status(), 200u);
        auto quiet = c.drain(200ms);
        ASSERT_FALSE(quiet.closed) << "closed while in use";
    }
    EXPECT_EQ(c.connections_opened(), 1);
}
