// Bad input (API.md section 9): each is answered with a precise problem and changes nothing.
#include "harness.hpp"

using namespace reqstore::test;

namespace
{
// Sends `body` as a PUT to an existing record and as a POST create; both must be 400 malformed-json and
// neither may change anything.
void expect_malformed_everywhere(const std::string& body)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));
    EXPECT_TRUE(is_problem(c.put(path, body), 400, "malformed-json", path)) << "PUT body: " << body;
    EXPECT_TRUE(is_problem(c.patch(path, body, {{"Content-Type", "application/merge-patch+json"}}), 400,
                           "malformed-json", path))
        << "PATCH body: " << body;
    EXPECT_TRUE(is_problem(c.post("/v1/requests", body), 400, "malformed-json", "/v1/requests"))
        << "POST body: " << body;
    EXPECT_TRUE(unchanged(c, rec));
    EXPECT_EQ(list_all(c).size(), 1u) << "a record was created";
}

std::string nested(int depth)
{
    // A body whose top-level object is depth 1 and whose innermost object is at `depth`.
    std::string s = R"({"type":"request","metadata":)";
    for (int i = 2; i < depth; ++i)
        s += R"({"d":)";
    s += "{}";
    for (int i = 2; i < depth; ++i)
        s += "}";
    s += "}";
    return s;
}
} // namespace

TEST(BadInput, MalformedJsonIs400MalformedJson)
{
    for (const char* body : {R"({"name":)", R"({"name":"a",})", R"({name:"a"})", R"({"name":"a"} trailing)",
                             R"({"name":'a'})", "{"})
        expect_malformed_everywhere(body);
}

TEST(BadInput, EmptyBodyIs400MalformedJson)
{
    server srv;
    auto c = srv.connect();
    auto r = c.post("/v1/requests", "", {{"Content-Type", "application/json"}});
    EXPECT_TRUE(is_problem(r, 400, "malformed-json", "/v1/requests"));
    EXPECT_TRUE(list_all(c).empty());
}

TEST(BadInput, NonObjectBodyIs400MalformedJson)
{
    for (const char* body : {R"([{"type":"request"}])", R"("request")", "42", "null", "true"})
        expect_malformed_everywhere(body);
}

TEST(BadInput, InvalidUtf8Is400MalformedJson)
{
    expect_malformed_everywhere("{\"type\":\"request\",\"name\":\"\xff\xfe\"}");
    expect_malformed_everywhere("{\"type\":\"request\",\"name\":\"\xc0\xaf\"}"); // overlong encoding
    expect_malformed_everywhere(
        "{\"type\":\"request\",\"na\xe2\x82me\":\"x\"}"); // truncated sequence in a key
    expect_malformed_everywhere("{\"type\":\"request\",\"name\":\"\xed\xa0\x80\"}"); // encoded surrogate
}

TEST(BadInput, NestingDeeperThan64Is400MalformedJson)
{
    expect_malformed_everywhere(nested(65));
    expect_malformed_everywhere(nested(200));
}

TEST(BadInput, NestingOf64IsAccepted)
{
    server srv;
    auto c = srv.connect();
    auto r = c.post("/v1/requests", nested(64));
    EXPECT_EQ(r.status(), 201u) << r;
}

TEST(BadInput, NumbersOutOfRangeAre400MalformedJson)
{
    expect_malformed_everywhere(R"({"type":"request","n":1e999})");
    expect_malformed_everywhere(R"({"type":"request","n":-1e999})");
}

TEST(BadInput, TransferEncodingNotEndingInChunkedIs400AndClosesTheConnection)
{
    for (const char* coding : {"chunked, gzip", "gzip", "identity"})
    {
        server srv;
        auto c = srv.connect();
        auto rec = create_record(c);
        client raw = srv.connect(5s);
        const std::string body = R"({"type":"request"})";
        raw.send_raw(std::string("POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 "Authorization: Bearer dev.dev-secret\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: ") +
                     coding + "\r\n\r\n" + body);
        auto got = raw.drain(5s);
        auto r = parse_response(got.data);
        ASSERT_TRUE(r.has_value()) << "Transfer-Encoding: " << coding << "; no answer, got: " << got.data;
        EXPECT_EQ(r->status(), 400u) << "Transfer-Encoding: " << coding << *r;
        EXPECT_TRUE(starts_with(r->header("Content-Type"), "application/problem+json")) << *r;
        EXPECT_TRUE(got.closed) << "Transfer-Encoding: " << coding << ": the connection stays open";
        EXPECT_EQ(list_all(c).size(), 1u) << "Transfer-Encoding: " << coding;
    }
}

TEST(BadInput, ChunkedBodyIsAccepted)
{
    server srv;
    auto c = srv.connect();
    const std::string body = R"({"type":"request","name":"chunked"})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    c.send_raw(std::string(
                   "POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n") +
               size + "\r\n" + body + "\r\n0\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status(), 201u) << r;
    EXPECT_EQ(text(r.object(), "name"), "chunked");
}

TEST(BadInput, GarbageRequestLineIs400WithConnectionClose)
{
    for (const char* garbage :
         {"this is not http\r\n\r\n", "GET\r\n\r\n", "\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n",
          "GET /v1/requests HTTP/1.1 extra\r\nHost: x\r\n\r\n"})
    {
        server srv;
        auto c = srv.connect(5s);
        c.send_raw(garbage);
        auto got = c.drain(5s);
        auto r = parse_response(got.data);
        ASSERT_TRUE(r.has_value()) << "no answer to garbage, got: " << got.data;
        EXPECT_EQ(r->status(), 400u) << *r;
        EXPECT_TRUE(contains(r->header("Connection"), "close")) << *r;
        EXPECT_TRUE(got.closed) << "the connection stays open after garbage";
        // The server is still fine.
        auto fresh = srv.connect();
        EXPECT_EQ(fresh.get("/healthz").status(), 200u);
    }
}

TEST(BadInput, UnknownRouteIs404)
{
    server srv;
    auto c = srv.connect();
    for (const char* path : {"/v1/nothing", "/v1/requests/req_00000000000000000000/extra", "/nothing",
                             "/v2/requests", "/v1/requests/req_00000000000000000000/versions/1/more"})
    {
        auto r = c.get(path);
        EXPECT_TRUE(is_problem(r, 404, "not-found", path)) << path;
    }
}

TEST(BadInput, UnsupportedMethodIs405WithAllow)
{
    server srv;
    auto c = srv.connect();
    const std::string item = path_of(text(create_record(c), "id"));

    auto r = c.post(item, R"({"name":"x"})");
    EXPECT_TRUE(is_problem(r, 405, "method-not-allowed", item));
    for (const char* m : {"GET", "PUT", "PATCH", "DELETE"})
        EXPECT_TRUE(contains(r.header("Allow"), m)) << "Allow lacks " << m << r;

    auto coll = c.del("/v1/requests");
    EXPECT_TRUE(is_problem(coll, 405, "method-not-allowed", "/v1/requests"));
    EXPECT_TRUE(contains(coll.header("Allow"), "GET")) << coll;
    EXPECT_TRUE(contains(coll.header("Allow"), "POST")) << coll;

    auto versions = c.post(item + "/versions", "{}");
    EXPECT_TRUE(is_problem(versions, 405, "method-not-allowed", item + "/versions"));
    EXPECT_TRUE(contains(versions.header("Allow"), "GET")) << versions;

    auto unknown_verb = c.request(http::verb::trace, item);
    EXPECT_EQ(unknown_verb.status(), 405u) << unknown_verb;
    EXPECT_TRUE(unknown_verb.has_header("Allow")) << unknown_verb;
    EXPECT_EQ(number(get_record(c, item.substr(13)), "version"), 1);
}

TEST(BadInput, ProblemDocumentsHaveTheContractShape)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(unknown_id);
    auto r = c.get(path);
    ASSERT_TRUE(is_problem(r, 404, "not-found", path));
    auto o = r.object();
    EXPECT_EQ(r.header("Content-Type").substr(0, 24), "application/problem+json");
    EXPECT_EQ(o.at("status"), json::value(404));
    EXPECT_FALSE(o.at("title").as_string().empty());
    // The instance is the path, without the query.
    auto q = c.get("/v1/requests?stauts=x");
    EXPECT_TRUE(is_problem(q, 400, "bad-request", "/v1/requests"));
}
