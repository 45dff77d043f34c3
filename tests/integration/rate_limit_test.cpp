// Per-key rate limits (docs/CONFIG.md "API keys"): a token bucket with RateLimit / RateLimit-Policy headers
// on every answer to the limited key, 429 rate-limited with Retry-After, other keys untouched, refill over
// time.
#include <regex>
#include <thread>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
// dev is unlimited; slow may send a burst of 3 and then 1 a second.
const std::string limited_config = R"({"auth":{"keys":[
  {"id":"dev","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["admin"]},
  {"id":"slow","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["admin"],"rate_limit":{"per_second":1,"burst":3}},
  {"id":"slowreader","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["requests:read"],"rate_limit":{"per_second":1,"burst":3}}]}})";

server_options limited()
{
    server_options o;
    o.config = limited_config;
    return o;
}

client slow_client(const server& srv)
{
    auto c = srv.connect();
    c.set_credentials(std::make_pair(std::string("Authorization"), std::string("Bearer slow.dev-secret")));
    return c;
}

// The integer after `name=` in a structured header such as `"key";r=2;t=1`, or -1.
long long parameter(const std::string& header, const std::string& name)
{
    std::smatch m;
    const std::regex re{";\\s*" + name + "=([0-9]+)"};
    if (!std::regex_search(header, m, re))
        return -1;
    return std::stoll(m[1].str());
}

testing::AssertionResult has_rate_headers(const response& r, long long remaining)
{
    const auto policy = r.header("RateLimit-Policy");
    if (policy != "\"key\";q=3;w=3")
        return testing::AssertionFailure() << "RateLimit-Policy is \"" << policy << "\"" << r;
    const auto limit = r.header("RateLimit");
    if (!starts_with(limit, "\"key\";"))
        return testing::AssertionFailure() << "RateLimit is \"" << limit << "\"" << r;
    if (parameter(limit, "r") != remaining)
        return testing::AssertionFailure()
               << "RateLimit is \"" << limit << "\", expected r=" << remaining << r;
    const auto t = parameter(limit, "t");
    if (t < 0 || t > 3)
        return testing::AssertionFailure() << "RateLimit t is not 0..3: \"" << limit << "\"" << r;
    return testing::AssertionSuccess();
}
} // namespace

TEST(RateLimit, BurstPassesThen429WithRetryAfterAndRefills)
{
    server srv(limited());
    auto dev = srv.connect();
    auto slow = slow_client(srv);

    // Three requests pass (the burst), each showing what is left.
    for (long long left : {2, 1, 0})
    {
        auto r = slow.get("/v1/requests");
        ASSERT_EQ(r.status(), 200u) << r;
        EXPECT_TRUE(has_rate_headers(r, left));
    }

    // The fourth is 429, and changes nothing when it is a write.
    auto r = slow.post("/v1/requests", R"({"type":"request"})");
    ASSERT_TRUE(is_problem(r, 429, "rate-limited", "/v1/requests"));
    const auto retry = r.header("Retry-After");
    ASSERT_FALSE(retry.empty()) << r;
    for (char ch : retry)
        ASSERT_TRUE(ch >= '0' && ch <= '9') << "Retry-After is not an integer: " << retry;
    EXPECT_GE(std::stoll(retry), 1);
    EXPECT_LE(std::stoll(retry), 3);
    EXPECT_TRUE(has_rate_headers(r, 0));

    // The rate limit comes before the route: an unknown route of the limited key is 429 too.
    EXPECT_EQ(slow.get("/v1/nothing-here").status(), 429u);

    // Another key is not affected.
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(dev.get("/v1/requests").status(), 200u);
    EXPECT_EQ(list_all(dev).size(), 0u);

    // A token comes back after a second.
    std::this_thread::sleep_for(1200ms);
    r = slow.post("/v1/requests", R"({"type":"request"})");
    EXPECT_EQ(r.status(), 201u) << r;
    EXPECT_TRUE(has_rate_headers(r, 0));
    EXPECT_EQ(list_all(dev).size(), 1u);
    EXPECT_EQ(slow.get("/v1/requests").status(), 429u);
}

TEST(RateLimit, RefusedCredentialsDoNotSpendTheKeysTokens)
{
    server srv(limited());
    auto slow = slow_client(srv);
    auto anon = srv.connect();
    anon.set_credentials(std::make_pair(std::string("Authorization"), std::string("Bearer slow.wrong")));
    // 401 is judged before the rate limit, whatever the bucket holds.
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(is_problem(anon.get("/v1/requests"), 401, "unauthorized"));
    for (long long left : {2, 1, 0})
    {
        auto r = slow.get("/v1/requests");
        ASSERT_EQ(r.status(), 200u) << r;
        EXPECT_TRUE(has_rate_headers(r, left));
    }
    EXPECT_TRUE(is_problem(anon.get("/v1/requests"), 401, "unauthorized"));
    EXPECT_EQ(slow.get("/v1/requests").status(), 429u);
}

TEST(RateLimit, ScopeIsJudgedBeforeTheRateLimit)
{
    server srv(limited());
    auto reader = srv.connect();
    reader.set_credentials(
        std::make_pair(std::string("Authorization"), std::string("Bearer slowreader.dev-secret")));
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(reader.get("/v1/requests").status(), 200u);
    EXPECT_EQ(reader.get("/v1/requests").status(), 429u);
    // The bucket is empty, but a write is refused for the scope first.
    EXPECT_TRUE(is_problem(reader.post("/v1/requests", R"({"type":"request"})"), 403, "forbidden"));
    // The limited keys have separate buckets.
    auto slow = slow_client(srv);
    EXPECT_EQ(slow.get("/v1/requests").status(), 200u);
}
