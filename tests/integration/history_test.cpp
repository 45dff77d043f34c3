// History (versions, newest first) and DELETE (a tombstone version, then 410).
#include "harness.hpp"

using namespace reqstore::test;

namespace
{
std::vector<std::string> changed_of(const json::object& entry)
{
    std::vector<std::string> out;
    if (!entry.contains("changed") || !entry.at("changed").is_array())
        throw std::runtime_error("history entry without a changed array: " + json::serialize(entry));
    for (const auto& v : entry.at("changed").as_array())
        out.emplace_back(v.as_string());
    return out;
}
} // namespace

TEST(History, ListsVersionsNewestFirstWithDocumentedMembers)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"email", "a@example.com"}});
    const std::string id = text(rec, "id");
    ASSERT_EQ(c.put(path_of(id), R"({"name":"N"})").status(), 200u);
    ASSERT_EQ(c.patch(path_of(id), R"({"status":"active"})").status(), 200u);

    auto r = c.get(path_of(id) + "/versions");
    ASSERT_EQ(r.status(), 200u) << r;
    auto o = r.object();
    ASSERT_TRUE(o.contains("data") && o.at("data").is_array()) << r;
    const auto& data = o.at("data").as_array();
    ASSERT_EQ(data.size(), 3u) << r;
    for (std::size_t i = 0; i < 3; ++i)
    {
        const auto& e = data[i].as_object();
        const std::int64_t v = 3 - static_cast<std::int64_t>(i);
        EXPECT_EQ(number(e, "version"), v);
        EXPECT_EQ(text(e, "etag"), etag_of(v));
        EXPECT_TRUE(is_timestamp(text(e, "updated_at")));
        EXPECT_EQ(text(e, "updated_by"), "dev");
        EXPECT_NO_THROW(changed_of(e));
    }
    EXPECT_EQ(text(data[0].as_object(), "status"), "active");
    EXPECT_EQ(text(data[1].as_object(), "status"), "pending");
    EXPECT_EQ(text(data[2].as_object(), "status"), "pending");
    ASSERT_TRUE(o.contains("next_cursor")) << r;
    EXPECT_TRUE(o.at("next_cursor").is_null());
}

TEST(History, ChangedNamesTheTopLevelMembersEachVersionChanged)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"email", "a@example.com"}, {"name", "A"}});
    const std::string id = text(rec, "id");
    ASSERT_EQ(c.put(path_of(id), R"({"name":"B","email":"a@example.com"})").status(), 200u);
    ASSERT_EQ(c.patch(path_of(id), R"({"status":"active","metadata":{"k":1}})").status(), 200u);
    auto h = history_of(c, id);
    ASSERT_EQ(h.size(), 3u);

    auto v3 = changed_of(h[0]);
    EXPECT_TRUE(contains(v3, "status"));
    EXPECT_TRUE(contains(v3, "metadata"));
    EXPECT_FALSE(contains(v3, "name"));
    EXPECT_FALSE(contains(v3, "email"));

    auto v2 = changed_of(h[1]);
    EXPECT_TRUE(contains(v2, "name"));
    EXPECT_FALSE(contains(v2, "email")) << "email was sent with its current value";
    EXPECT_FALSE(contains(v2, "status"));

    // The first version lists every member; like the later entries, it need not name the system fields,
    // which every version changes (version, etag, updated_at) or no write can change (id, type).
    auto v1 = changed_of(h[2]);
    for (const char* member : {"status", "callback_url", "metadata", "email", "name"})
        EXPECT_TRUE(contains(v1, member)) << "the first version lists every member; missing " << member;
}

TEST(History, PagesWithLimitAndCursor)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"n", 0}});
    const std::string id = text(rec, "id");
    for (int i = 1; i < 5; ++i)
        ASSERT_EQ(c.put(path_of(id), "{\"n\":" + std::to_string(i) + "}").status(), 200u);

    auto first = c.get(path_of(id) + "/versions?limit=2");
    ASSERT_EQ(first.status(), 200u) << first;
    auto o = first.object();
    ASSERT_EQ(o.at("data").as_array().size(), 2u) << first;
    EXPECT_EQ(number(o.at("data").as_array()[0].as_object(), "version"), 5);
    EXPECT_EQ(number(o.at("data").as_array()[1].as_object(), "version"), 4);
    ASSERT_TRUE(o.at("next_cursor").is_string()) << first;

    std::vector<std::int64_t> versions;
    std::string target = path_of(id) + "/versions?limit=2";
    for (int page = 0; page < 10; ++page)
    {
        auto r = c.get(target);
        ASSERT_EQ(r.status(), 200u) << r;
        auto p = r.object();
        EXPECT_LE(p.at("data").as_array().size(), 2u);
        for (const auto& e : p.at("data").as_array())
            versions.push_back(number(e.as_object(), "version"));
        if (p.at("next_cursor").is_null())
            break;
        target = path_of(id) +
                 "/versions?limit=2&cursor=" + url_encode(std::string(p.at("next_cursor").as_string()));
    }
    EXPECT_EQ(versions, (std::vector<std::int64_t>{5, 4, 3, 2, 1}));
}

TEST(History, BadLimitIs400)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_record(c), "id");
    for (const char* q : {"limit=0", "limit=1001", "limit=x"})
    {
        auto r = c.get(path_of(id) + "/versions?" + q);
        EXPECT_EQ(r.status(), 400u) << q << r;
    }
}

TEST(History, VersionReturnsTheFullRecordAsItWas)
{
    server srv;
    auto c = srv.connect();
    auto v1 = create_record(c, {{"name", "first"}});
    const std::string id = text(v1, "id");
    auto put = c.put(path_of(id), R"({"name":"second"})");
    ASSERT_EQ(put.status(), 200u) << put;
    auto v2 = put.object();

    auto r1 = c.get(path_of(id) + "/versions/1");
    ASSERT_EQ(r1.status(), 200u) << r1;
    EXPECT_EQ(r1.object(), v1);
    auto r2 = c.get(path_of(id) + "/versions/2");
    ASSERT_EQ(r2.status(), 200u) << r2;
    EXPECT_EQ(r2.object(), v2);
}

TEST(History, VersionThatDoesNotExistIs404AndBadNumberIs400)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_record(c), "id");
    const std::string base = path_of(id) + "/versions/";
    EXPECT_TRUE(is_problem(c.get(base + "2"), 404, "not-found", base + "2"));
    EXPECT_TRUE(is_problem(c.get(base + "999999"), 404, "not-found", base + "999999"));
    for (const char* n : {"0", "-1", "abc", "1.5", "1e3", "+1"})
    {
        auto r = c.get(base + n);
        EXPECT_EQ(r.status(), 400u) << "versions/" << n << r;
        EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/problem+json")) << r;
    }
}

TEST(Delete, Answers204WithTombstoneEtag)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "x"}});
    auto r = c.del(path_of(text(rec, "id")));
    EXPECT_EQ(r.status(), 204u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    EXPECT_EQ(r.body(), "");
}

TEST(Delete, DeletedRecordIs410ForEveryReadAndWrite)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    ASSERT_EQ(c.del(path).status(), 204u);
    EXPECT_TRUE(is_problem(c.get(path), 410, "gone", path));
    EXPECT_EQ(c.head(path).status(), 410u);
    EXPECT_TRUE(is_problem(c.put(path, R"({"name":"y"})"), 410, "gone", path));
    EXPECT_TRUE(is_problem(c.put(path, R"({"name":"y"})", {{"If-Match", "\"2\""}}), 410, "gone", path));
    EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"y"})"), 410, "gone", path));
    EXPECT_TRUE(is_problem(c.del(path), 410, "gone", path));
}

TEST(Delete, HistoryStaysReadableAfterDeletion)
{
    server srv;
    auto c = srv.connect();
    auto v1 = create_record(c, {{"name", "x"}});
    const std::string id = text(v1, "id");
    ASSERT_EQ(c.del(path_of(id)).status(), 204u);

    auto h = history_of(c, id);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(number(h[0], "version"), 2);
    ASSERT_TRUE(h[0].contains("deleted")) << json::serialize(h[0]);
    EXPECT_EQ(h[0].at("deleted"), json::value(true));
    EXPECT_EQ(number(h[1], "version"), 1);

    auto r1 = c.get(path_of(id) + "/versions/1");
    ASSERT_EQ(r1.status(), 200u) << r1;
    EXPECT_EQ(r1.object(), v1);
    auto r2 = c.get(path_of(id) + "/versions/2");
    ASSERT_EQ(r2.status(), 200u) << r2;
    auto tomb = r2.object();
    EXPECT_TRUE(is_timestamp(text(tomb, "deleted_at"))) << r2;
    EXPECT_EQ(number(tomb, "version"), 2);
    EXPECT_EQ(text(tomb, "name"), "x") << "the tombstone is the last record with deleted_at set";
}

TEST(Delete, UnknownRecordIs404)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(unknown_id);
    EXPECT_TRUE(is_problem(c.del(path), 404, "not-found", path));
}
