// The web console's routes (contract section 15, docs/CONSOLE.md): the page and its assets are the
// repository's console/dist byte for byte, the page carries a strict Content-Security-Policy and is
// revalidated, the hashed assets are immutable, conditional GETs answer 304, and the console can be
// turned off. What the page does in a browser is console/tests (Chromium).
#include <regex>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{

std::string dist_file(const std::string& relative)
{
    return read_file(std::string(REQSTORE_SOURCE_DIR) + "/console/dist/" + relative);
}

// The module script the page loads: "/console/assets/index-<hash>.js".
std::string script_of(const std::string& page)
{
    std::smatch found;
    if (!std::regex_search(page, found, std::regex(R"re(<script type="module"[^>]* src="([^"]+)")re")))
        return {};
    return found[1];
}

} // namespace

TEST(Console, ThePageIsTheCommittedBuildWithAStrictPolicy)
{
    server srv;
    auto c = anonymous(srv);
    const auto r = c.get("/console/");
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(r.body() == dist_file("index.html")) << "GET /console/ differs from console/dist/index.html";
    EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.header("Cache-Control"), "no-cache");
    const std::string policy = r.header("Content-Security-Policy");
    EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << policy;
    EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << policy;
    EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
    EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer");
    EXPECT_FALSE(r.header("ETag").empty());
}

TEST(Console, AssetsAreTheCommittedFilesAndImmutable)
{
    server srv;
    auto c = anonymous(srv);
    const std::string script = script_of(c.get("/console/").body());
    ASSERT_TRUE(starts_with(script, "/console/assets/")) << script;
    const auto r = c.get(script);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(r.body() == dist_file(script.substr(std::string("/console/").size())));
    EXPECT_EQ(r.header("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(r.header("Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
}

TEST(Console, AConditionalGetWithTheETagIs304WithoutABody)
{
    server srv;
    auto c = anonymous(srv);
    const auto first = c.get("/console/");
    const std::string etag = first.header("ETag");
    ASSERT_FALSE(etag.empty());
    const auto again = c.get("/console/", {{"If-None-Match", "\"other\", " + etag}});
    EXPECT_EQ(again.status(), 304u) << again;
    EXPECT_TRUE(again.body().empty());
    EXPECT_EQ(again.header("ETag"), etag);
    const auto weak = c.get("/console/", {{"If-None-Match", "W/" + etag}});
    EXPECT_EQ(weak.status(), 304u) << "If-None-Match compares weakly";
    const auto other = c.get("/console/", {{"If-None-Match", "\"other\""}});
    EXPECT_EQ(other.status(), 200u);
}

TEST(Console, TheBarePathRedirectsAndUnknownFilesAre404)
{
    server srv;
    auto c = anonymous(srv);
    const auto bare = c.get("/console");
    EXPECT_EQ(bare.status(), 301u) << bare;
    EXPECT_EQ(bare.header("Location"), "/console/");
    const auto missing = c.get("/console/assets/none-00000000.js");
    EXPECT_EQ(missing.status(), 404u) << missing;
    EXPECT_EQ(missing.header("Content-Type"), "application/problem+json");
    const auto head = c.head("/console/");
    EXPECT_EQ(head.status(), 200u);
    EXPECT_TRUE(head.body().empty());
    EXPECT_EQ(c.post("/console/", "{}").status(), 405u);
}

TEST(Console, TurnedOffItIsNotServed)
{
    server srv({.config = R"({"console": {"enabled": false}})"});
    auto c = anonymous(srv);
    EXPECT_EQ(c.get("/console/").status(), 404u);
    EXPECT_EQ(c.get("/console").status(), 404u);
    EXPECT_EQ(c.get("/healthz").status(), 200u) << "the rest of the server is unchanged";
}
