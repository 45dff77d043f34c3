// Authentication: the three credential forms of the dev key, 401 with WWW-Authenticate, and 401 first.
#include "harness.hpp"

using namespace reqstore::test;

TEST(Auth, EveryCredentialFormOfTheDevKeyIsAccepted)
{
    server srv;
    auto c = anonymous(srv);
    const header_list forms[] = {
        {{"Authorization", "Basic " + base64("dev:dev-secret")}},
        {{"Authorization", "Bearer dev.dev-secret"}},
        {{"X-API-Key", "dev.dev-secret"}},
    };
    for (const auto& form : forms)
    {
        auto r = c.get("/v1/requests", form);
        EXPECT_EQ(r.status(), 200u) << form[0].first << ": " << form[0].second << r;
        auto created = c.post("/v1/requests", R"({"type":"request"})", form);
        EXPECT_EQ(created.status(), 201u) << form[0].first << ": " << form[0].second << created;
    }
}

TEST(Auth, MissingCredentialsAre401WithWwwAuthenticate)
{
    server srv;
    auto c = anonymous(srv);
    for (const char* path : {"/v1/requests", "/v1/requests/req_00000000000000000000",
                             "/v1/requests/req_00000000000000000000/versions"})
    {
        auto r = c.get(path);
        EXPECT_TRUE(is_problem(r, 401, "unauthorized", path)) << path;
        EXPECT_TRUE(r.has_header("WWW-Authenticate")) << r;
    }
}

TEST(Auth, WrongCredentialsAre401)
{
    server srv;
    auto c = anonymous(srv);
    const header_list wrong[] = {
        {{"Authorization", "Basic " + base64("dev:wrong")}},
        {{"Authorization", "Basic " + base64("nobody:dev-secret")}},
        {{"Authorization", "Basic not-base64!!"}},
        {{"Authorization", "Bearer dev.wrong"}},
        {{"Authorization", "Bearer dev-secret"}},
        {{"Authorization", "Bearer "}},
        {{"Authorization", "Digest username=\"dev\""}},
        {{"X-API-Key", "dev.wrong"}},
        {{"X-API-Key", "dev"}},
    };
    for (const auto& form : wrong)
    {
        auto r = c.get("/v1/requests", form);
        EXPECT_TRUE(is_problem(r, 401, "unauthorized", "/v1/requests"))
            << form[0].first << ": " << form[0].second;
        EXPECT_TRUE(r.has_header("WWW-Authenticate")) << r;
    }
}

TEST(Auth, AuthenticationIsJudgedFirstAndUnauthenticatedWritesChangeNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));
    auto a = anonymous(srv);
    EXPECT_TRUE(
        is_problem(a.post("/v1/requests", R"({"type":"request"})"), 401, "unauthorized", "/v1/requests"));
    EXPECT_TRUE(is_problem(a.post("/v1/requests", "{not json"), 401, "unauthorized", "/v1/requests"));
    EXPECT_TRUE(is_problem(a.put(path, R"({"name":"b"})"), 401, "unauthorized", path));
    EXPECT_TRUE(
        is_problem(a.put(path, R"({"name":"b"})", {{"If-Match", "\"9\""}}), 401, "unauthorized", path));
    EXPECT_TRUE(is_problem(a.patch(path, R"({"name":"b"})"), 401, "unauthorized", path));
    EXPECT_TRUE(is_problem(a.del(path), 401, "unauthorized", path));
    EXPECT_TRUE(is_problem(a.get(path_of("req_12")), 401, "unauthorized", path_of("req_12")));
    EXPECT_TRUE(is_problem(a.get(path_of(unknown_id)), 401, "unauthorized", path_of(unknown_id)));
    EXPECT_TRUE(unchanged(c, rec));
    EXPECT_EQ(list_all(c).size(), 1u);
}

TEST(Auth, OperationalEndpointsNeedNoCredentials)
{
    server srv;
    auto a = anonymous(srv);
    EXPECT_EQ(a.get("/healthz").status(), 200u);
    EXPECT_EQ(a.get("/readyz").status(), 200u);
    EXPECT_EQ(a.get("/metrics").status(), 200u);
}
