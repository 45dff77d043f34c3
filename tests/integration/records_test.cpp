// Records: create, read (GET, HEAD, conditional reads), list and PUT, as docs/API.md describes them.
#include <algorithm>
#include <regex>
#include <set>
#include <thread>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
const std::regex generated_id{"^req_[0-9A-HJKMNP-TV-Z]{20}$"};
} // namespace

// ---------------------------------------------------------------------------------------------
// POST /v1/requests

TEST(Records, CreateAnswers201WithLocationAndEtag)
{
    server srv;
    auto c = srv.connect();
    const auto before = std::chrono::system_clock::now();
    auto r = c.post("/v1/requests", R"({"type":"request","email":"jdoe@example.com","name":"John Doe",)"
                                    R"("metadata":{"user_id":42}})");
    ASSERT_EQ(r.status(), 201u) << r;
    auto rec = r.object();
    const std::string id = text(rec, "id");
    EXPECT_TRUE(std::regex_match(id, generated_id)) << id;
    EXPECT_EQ(r.header("Location"), "/v1/requests/" + id);
    EXPECT_EQ(r.header("ETag"), "\"1\"");
    EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/json")) << r;
    EXPECT_EQ(text(rec, "type"), "request");
    EXPECT_EQ(text(rec, "status"), "pending");
    EXPECT_EQ(number(rec, "version"), 1);
    EXPECT_EQ(text(rec, "etag"), "\"1\"");
    EXPECT_TRUE(is_timestamp(text(rec, "created_at"))) << text(rec, "created_at");
    EXPECT_EQ(text(rec, "updated_at"), text(rec, "created_at"));
    auto created = parse_timestamp(text(rec, "created_at"));
    ASSERT_TRUE(created.has_value());
    EXPECT_LT(std::chrono::abs(*created - before), std::chrono::seconds(60)) << text(rec, "created_at");
    EXPECT_EQ(text(rec, "created_by"), "dev");
    EXPECT_EQ(text(rec, "updated_by"), "dev");
    ASSERT_TRUE(rec.contains("callback_url"));
    EXPECT_TRUE(rec.at("callback_url").is_null());
    EXPECT_EQ(rec.at("metadata"), parse_json(R"({"user_id":42})"));
    EXPECT_EQ(text(rec, "email"), "jdoe@example.com");
    EXPECT_EQ(text(rec, "name"), "John Doe");
}

TEST(Records, CreateDefaultsCallbackUrlToNullAndMetadataToEmptyObject)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    ASSERT_TRUE(rec.contains("callback_url"));
    EXPECT_TRUE(rec.at("callback_url").is_null());
    ASSERT_TRUE(rec.contains("metadata"));
    EXPECT_EQ(rec.at("metadata"), json::value(json::object{}));
}

TEST(Records, MembersComeInDocumentedOrderThenAttributesAsFirstWritten)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"type", "request"}, {"zeta", 1}, {"alpha", 2}});
    const std::vector<std::string> system{"id",         "type",         "status",     "version",
                                          "etag",       "created_at",   "updated_at", "created_by",
                                          "updated_by", "callback_url", "metadata"};
    auto expected = system;
    expected.insert(expected.end(), {"zeta", "alpha"});
    EXPECT_EQ(keys_of(rec), expected) << json::serialize(rec);

    auto r = c.put(path_of(text(rec, "id")), R"({"beta":3,"alpha":5})");
    ASSERT_EQ(r.status(), 200u) << r;
    expected.push_back("beta");
    EXPECT_EQ(keys_of(r.object()), expected) << r;
}

TEST(Records, CreateWithStatusStartsInThatState)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"type", "request"}, {"status", "active"}});
    EXPECT_EQ(text(rec, "status"), "active");
    EXPECT_EQ(number(rec, "version"), 1);
    // Any declared state, final ones included.
    EXPECT_EQ(text(create_record(c, {{"status", "completed"}}), "status"), "completed");
    EXPECT_EQ(text(create_record(c, {{"status", "pending"}}), "status"), "pending");
}

TEST(Records, CreateKeepsCallbackUrlMetadataAndUnknownAttributes)
{
    server srv;
    auto c = srv.connect();
    auto body = parse_json(R"({"type":"request","callback_url":"https://hooks.example.com/reqstore",
        "metadata":{"user_id":42,"tags":["a","b"]},"order":{"lines":[1,2,3],"total":12.5},"flag":true})");
    auto r = c.post("/v1/requests", to_json(body));
    ASSERT_EQ(r.status(), 201u) << r;
    auto rec = r.object();
    EXPECT_EQ(text(rec, "callback_url"), "https://hooks.example.com/reqstore");
    EXPECT_EQ(rec.at("metadata"), body.at("metadata"));
    EXPECT_EQ(rec.at("order"), body.at("order"));
    EXPECT_EQ(rec.at("flag"), json::value(true));
    EXPECT_EQ(get_record(c, text(rec, "id")), rec);
}

TEST(Records, CreateWithSystemFieldIsReadOnlyFieldAndCreatesNothing)
{
    server srv;
    auto c = srv.connect();
    const std::vector<std::pair<std::string, std::string>> fields{
        {"id", R"("req_01JDE8Z1W8M4Q6Q1V0GJ")"},
        {"version", "1"},
        {"etag", R"("\"1\"")"},
        {"created_at", R"("2026-11-22T04:46:31.991Z")"},
        {"updated_at", R"("2026-11-22T04:46:31.991Z")"},
        {"created_by", R"("dev")"},
        {"updated_by", R"("dev")"}};
    for (const auto& [name, value] : fields)
    {
        auto r = c.post("/v1/requests", R"({"type":"request",")" + name + "\":" + value + "}");
        EXPECT_TRUE(is_problem(r, 400, "read-only-field", "/v1/requests")) << "member " << name;
    }
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Records, CreateWithoutTypeOrWithUnknownTypeIs400AndCreatesNothing)
{
    server srv;
    auto c = srv.connect();
    for (const char* body : {R"({"email":"a@example.com"})", R"({"type":"no_such_type"})", R"({"type":42})"})
    {
        auto r = c.post("/v1/requests", body);
        EXPECT_EQ(r.status(), 400u) << body << r;
        EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/problem+json")) << r;
    }
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Records, CreateWithUndeclaredStatusIs400AndCreatesNothing)
{
    server srv;
    auto c = srv.connect();
    auto r = c.post("/v1/requests", R"({"type":"request","status":"archived"})");
    EXPECT_EQ(r.status(), 400u) << r;
    EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/problem+json")) << r;
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Records, CreatedIdsAreDistinctAndSortByCreationTime)
{
    server srv;
    auto c = srv.connect();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
    {
        ids.push_back(text(create_record(c), "id"));
        std::this_thread::sleep_for(3ms); // distinct milliseconds, so the time part must grow
    }
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
    for (std::size_t i = 1; i < ids.size(); ++i)
        EXPECT_LT(ids[i - 1].substr(0, 14), ids[i].substr(0, 14)) << ids[i - 1] << " then " << ids[i];
}

// ---------------------------------------------------------------------------------------------
// GET and HEAD /v1/requests/{id}

TEST(Records, GetAnswers200WithEtagAndLastModified)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"email", "a@example.com"}});
    auto r = c.get(path_of(text(rec, "id")));
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"1\"");
    EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/json")) << r;
    EXPECT_EQ(r.object(), rec);
    auto lm = parse_http_date(r.header("Last-Modified"));
    ASSERT_TRUE(lm.has_value()) << "Last-Modified: " << r.header("Last-Modified");
    auto updated = parse_timestamp(text(rec, "updated_at"));
    ASSERT_TRUE(updated.has_value());
    EXPECT_EQ(*lm, std::chrono::floor<std::chrono::seconds>(*updated))
        << r.header("Last-Modified") << " vs " << text(rec, "updated_at");
}

TEST(Records, HeadAnswersHeadersWithoutBody)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    ASSERT_TRUE(c.send_raw("HEAD " + path +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n\r\n"));
    auto r = c.read_response(true);
    EXPECT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"1\"");
    EXPECT_TRUE(parse_http_date(r.header("Last-Modified")).has_value()) << r;
    auto extra = c.drain(300ms);
    EXPECT_EQ(extra.data, "") << "HEAD answer carried body bytes";
    EXPECT_FALSE(extra.closed);
    // The connection is still in step: a GET on it reads the record.
    auto g = c.get(path);
    EXPECT_EQ(g.status(), 200u) << g;
    EXPECT_EQ(g.object(), rec);
    EXPECT_EQ(c.connections_opened(), 1);
}

TEST(Records, GetWithMatchingIfNoneMatchAnswers304)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    for (const char* inm : {"\"1\"", "W/\"1\"", "\"7\", \"1\"", "*"})
    {
        auto r = c.get(path, {{"If-None-Match", inm}});
        EXPECT_EQ(r.status(), 304u) << "If-None-Match: " << inm << r;
        EXPECT_EQ(r.header("ETag"), "\"1\"") << r;
        EXPECT_EQ(r.body(), "");
        auto h = c.head(path, {{"If-None-Match", inm}});
        EXPECT_EQ(h.status(), 304u) << "HEAD If-None-Match: " << inm << h;
    }
    auto r = c.get(path, {{"If-None-Match", "\"2\""}});
    EXPECT_EQ(r.status(), 200u) << r;
}

TEST(Records, GetHonoursIfModifiedSinceOnlyWithoutIfNoneMatch)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    auto first = c.get(path);
    ASSERT_EQ(first.status(), 200u) << first;
    const std::string lm = first.header("Last-Modified");
    auto lm_time = parse_http_date(lm);
    ASSERT_TRUE(lm_time.has_value()) << lm;

    auto same = c.get(path, {{"If-Modified-Since", lm}});
    EXPECT_EQ(same.status(), 304u) << same;
    auto older = c.get(path, {{"If-Modified-Since", format_http_date(*lm_time - std::chrono::hours(24))}});
    EXPECT_EQ(older.status(), 200u) << older;
    auto with_inm = c.get(path, {{"If-None-Match", "\"5\""}, {"If-Modified-Since", lm}});
    EXPECT_EQ(with_inm.status(), 200u)
        << "If-Modified-Since must be ignored when If-None-Match is sent" << with_inm;
}

TEST(Records, GetWithFailingIfMatchIs412)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    auto r = c.get(path, {{"If-Match", "\"9\""}});
    EXPECT_TRUE(is_problem(r, 412, "precondition-failed", path));
    auto ok = c.get(path, {{"If-Match", "\"1\""}});
    EXPECT_EQ(ok.status(), 200u) << ok;
}

TEST(Records, UnknownIdOfRightFormatIs404NotFound)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(unknown_id);
    EXPECT_TRUE(is_problem(c.get(path), 404, "not-found", path));
    EXPECT_EQ(c.head(path).status(), 404u);
    EXPECT_TRUE(is_problem(c.put(path, R"({"name":"x"})"), 404, "not-found", path));
    EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"x"})"), 404, "not-found", path));
    EXPECT_TRUE(is_problem(c.del(path), 404, "not-found", path));
    EXPECT_TRUE(is_problem(c.get(path + "/versions"), 404, "not-found", path + "/versions"));
    EXPECT_TRUE(is_problem(c.get(path + "/versions/1"), 404, "not-found", path + "/versions/1"));
    // A ULID-length id (26 characters) fits the accepted path format too.
    const std::string ulid_path = path_of("req_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    EXPECT_TRUE(is_problem(c.get(ulid_path), 404, "not-found", ulid_path));
}

TEST(Records, PathIdsOf16To26CrockfordCharactersFitTheFormat)
{
    server srv;
    auto c = srv.connect();
    for (std::size_t n : {16u, 20u, 26u})
    {
        const std::string path = path_of("req_" + std::string(n, '0'));
        EXPECT_TRUE(is_problem(c.get(path), 404, "not-found", path)) << n << " characters";
    }
    for (std::size_t n : {15u, 27u})
    {
        const std::string path = path_of("req_" + std::string(n, '0'));
        EXPECT_TRUE(is_problem(c.get(path), 400, "invalid-id", path)) << n << " characters";
    }
}

TEST(Records, IdOfWrongFormatIs400InvalidId)
{
    server srv;
    auto c = srv.connect();
    for (const char* id : {"req_12", "req_UUUUUUUUUUUUUUUUUUUU", "hello", "req_0000000000000000000000000000"})
    {
        const std::string path = path_of(id);
        EXPECT_TRUE(is_problem(c.get(path), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.put(path, R"({"name":"x"})"), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"x"})"), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.del(path), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.get(path + "/versions"), 400, "invalid-id", path + "/versions")) << id;
    }
}

// ---------------------------------------------------------------------------------------------
// GET /v1/requests

TEST(Records, ListAnswersDataInIdOrderAndNullCursorWhenComplete)
{
    server srv;
    auto c = srv.connect();
    std::vector<json::object> created;
    for (int i = 0; i < 3; ++i)
        created.push_back(create_record(c, {{"n", i}}));
    auto r = c.get("/v1/requests");
    ASSERT_EQ(r.status(), 200u) << r;
    auto o = r.object();
    ASSERT_TRUE(o.contains("data") && o.at("data").is_array()) << r;
    ASSERT_TRUE(o.contains("next_cursor")) << r;
    EXPECT_TRUE(o.at("next_cursor").is_null()) << r;
    std::vector<std::string> ids;
    for (const auto& e : o.at("data").as_array())
        ids.push_back(text(e.as_object(), "id"));
    std::vector<std::string> expected;
    for (const auto& rec : created)
        expected.push_back(text(rec, "id"));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(ids, expected);
    // Entries are full records.
    for (const auto& e : o.at("data").as_array())
    {
        auto it = std::find_if(created.begin(), created.end(),
                               [&](const json::object& x) { return x.at("id") == e.as_object().at("id"); });
        ASSERT_NE(it, created.end());
        EXPECT_EQ(e.as_object(), *it);
    }
}

TEST(Records, ListPagesThroughMoreRecordsThanLimit)
{
    server srv;
    auto c = srv.connect();
    std::set<std::string> created;
    for (int i = 0; i < 7; ++i)
        created.insert(text(create_record(c, {{"n", i}}), "id"));

    auto first = c.get("/v1/requests?limit=3");
    ASSERT_EQ(first.status(), 200u) << first;
    auto page = first.object();
    EXPECT_EQ(page.at("data").as_array().size(), 3u) << first;
    EXPECT_TRUE(page.at("next_cursor").is_string()) << first;

    auto all = list_all(c, "limit=3");
    std::vector<std::string> ids;
    for (const auto& e : all)
        ids.push_back(text(e, "id"));
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), created);
    EXPECT_EQ(ids.size(), created.size()) << "a record was listed twice";
}

TEST(Records, ListPagesAreAtMostLimitLong)
{
    server srv;
    auto c = srv.connect();
    for (int i = 0; i < 5; ++i)
        create_record(c);
    std::string target = "/v1/requests?limit=2";
    int pages = 0;
    std::size_t seen = 0;
    for (; pages < 10; ++pages)
    {
        auto r = c.get(target);
        ASSERT_EQ(r.status(), 200u) << r;
        auto o = r.object();
        EXPECT_LE(o.at("data").as_array().size(), 2u) << r;
        seen += o.at("data").as_array().size();
        if (o.at("next_cursor").is_null())
            break;
        target = "/v1/requests?limit=2&cursor=" + url_encode(std::string(o.at("next_cursor").as_string()));
    }
    EXPECT_EQ(seen, 5u);
    EXPECT_GE(pages, 2);
}

TEST(Records, ListDefaultsToAHundredEntries)
{
    server srv({.durability = "buffered"});
    auto c = srv.connect();
    for (int i = 0; i < 101; ++i)
        create_record(c);
    auto r = c.get("/v1/requests");
    ASSERT_EQ(r.status(), 200u) << r;
    auto o = r.object();
    EXPECT_EQ(o.at("data").as_array().size(), 100u);
    EXPECT_TRUE(o.at("next_cursor").is_string()) << "a 101st record remains";
    EXPECT_EQ(list_all(c).size(), 101u);
}

TEST(Records, ListFiltersByStatusAndType)
{
    server srv;
    auto c = srv.connect();
    std::set<std::string> active;
    for (int i = 0; i < 4; ++i)
    {
        auto rec = create_record(c, {{"status", i % 2 == 0 ? "active" : "pending"}});
        if (i % 2 == 0)
            active.insert(text(rec, "id"));
    }
    std::set<std::string> listed;
    for (const auto& e : list_all(c, "status=active"))
    {
        EXPECT_EQ(text(e, "status"), "active");
        listed.insert(text(e, "id"));
    }
    EXPECT_EQ(listed, active);
    EXPECT_TRUE(list_all(c, "status=completed").empty());
    EXPECT_EQ(list_all(c, "type=request").size(), 4u);
    EXPECT_EQ(list_all(c, "type=request&status=pending").size(), 2u);
}

TEST(Records, ListFiltersByUpdatedSince)
{
    server srv;
    auto c = srv.connect();
    auto a = create_record(c, {{"name", "a"}});
    std::this_thread::sleep_for(20ms); // so that the two records' timestamps differ
    auto b = create_record(c, {{"name", "b"}});
    auto a_time = parse_timestamp(text(a, "updated_at"));
    auto b_time = parse_timestamp(text(b, "updated_at"));
    ASSERT_TRUE(a_time && b_time);
    ASSERT_LT(*a_time + 1ms, *b_time);
    const std::string between = format_timestamp(*a_time + 1ms);

    auto listed = list_all(c, "updated_since=" + between);
    ASSERT_EQ(listed.size(), 1u) << "updated_since=" << between;
    EXPECT_EQ(text(listed[0], "id"), text(b, "id"));

    // Updating a moves it past the threshold.
    auto r = c.put(path_of(text(a, "id")), R"({"name":"a2"})");
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(list_all(c, "updated_since=" + between).size(), 2u);
    EXPECT_TRUE(list_all(c, "updated_since=2999-01-01T00:00:00.000Z").empty());
    EXPECT_EQ(list_all(c, "updated_since=2000-01-01T00:00:00.000Z").size(), 2u);
}

TEST(Records, ListRejectsBadQueryParameters)
{
    server srv;
    auto c = srv.connect();
    create_record(c);
    for (const char* q : {"stauts=active", "limit=0", "limit=1001", "limit=abc", "limit=-1",
                          "updated_since=yesterday", "cursor=%00garbage%FF"})
    {
        auto r = c.get(std::string("/v1/requests?") + q);
        EXPECT_EQ(r.status(), 400u) << q << r;
        EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/problem+json")) << q << r;
    }
    auto unknown = c.get("/v1/requests?stauts=active");
    EXPECT_TRUE(is_problem(unknown, 400, "bad-request", "/v1/requests"));
    EXPECT_EQ(c.get("/v1/requests?limit=1000").status(), 200u);
    EXPECT_EQ(c.get("/v1/requests?limit=1").status(), 200u);
}

TEST(Records, ListLeavesOutDeletedRecords)
{
    server srv;
    auto c = srv.connect();
    auto keep = create_record(c);
    auto gone = create_record(c);
    auto d = c.del(path_of(text(gone, "id")));
    ASSERT_EQ(d.status(), 204u) << d;
    auto listed = list_all(c);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(text(listed[0], "id"), text(keep, "id"));
}

// ---------------------------------------------------------------------------------------------
// PUT /v1/requests/{id}

TEST(Records, PutReplacesPresentMembersAndKeepsAbsentOnes)
{
    server srv;
    auto c = srv.connect();
    auto rec =
        create_record(c, {{"email", "jdoe@example.com"}, {"name", "John Doe"}, {"metadata", {{"a", 1}}}});
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"name":"Jane Doe","phone":"555"})", {{"If-Match", "\"1\""}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    EXPECT_EQ(r.header("Content-Location"), path);
    auto now = r.object();
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(text(now, "etag"), "\"2\"");
    EXPECT_EQ(text(now, "name"), "Jane Doe");
    EXPECT_EQ(text(now, "phone"), "555");
    EXPECT_EQ(text(now, "email"), "jdoe@example.com");
    EXPECT_EQ(now.at("metadata"), rec.at("metadata"));
    EXPECT_EQ(text(now, "created_at"), text(rec, "created_at"));
    EXPECT_GE(*parse_timestamp(text(now, "updated_at")), *parse_timestamp(text(rec, "updated_at")));
    EXPECT_EQ(get_record(c, text(rec, "id")), now) << "the answer is the stored record";
}

TEST(Records, PutWithNullStoresNull)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "John"}});
    auto r = c.put(path_of(text(rec, "id")), R"({"name":null})");
    ASSERT_EQ(r.status(), 200u) << r;
    auto now = get_record(c, text(rec, "id"));
    ASSERT_TRUE(now.contains("name")) << json::serialize(now);
    EXPECT_TRUE(now.at("name").is_null());
}

TEST(Records, PutEtagChainsCompareAndSwapWithoutGet)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"n", 0}});
    const std::string path = path_of(text(rec, "id"));
    std::string etag = "\"1\"";
    for (int i = 1; i <= 5; ++i)
    {
        auto r = c.put(path, "{\"n\":" + std::to_string(i) + "}", {{"If-Match", etag}});
        ASSERT_EQ(r.status(), 200u) << r;
        etag = r.header("ETag");
        EXPECT_EQ(etag, etag_of(i + 1));
    }
    EXPECT_EQ(number(get_record(c, text(rec, "id")), "n"), 5);
}

TEST(Records, PutWithIfNoneMatchStarCreatesUnderThatId)
{
    server srv;
    auto c = srv.connect();
    const std::string id = fresh_id();
    const std::string path = path_of(id);
    auto r = c.put(path, R"({"type":"request","email":"a@example.com"})", {{"If-None-Match", "*"}});
    ASSERT_EQ(r.status(), 201u) << r;
    EXPECT_EQ(r.header("Location"), path);
    EXPECT_EQ(r.header("ETag"), "\"1\"");
    auto rec = r.object();
    EXPECT_EQ(text(rec, "id"), id);
    EXPECT_EQ(text(rec, "type"), "request");
    EXPECT_EQ(text(rec, "status"), "pending");
    EXPECT_EQ(number(rec, "version"), 1);
    EXPECT_EQ(text(rec, "email"), "a@example.com");
    EXPECT_EQ(get_record(c, id), rec);
}

TEST(Records, PutWithIfNoneMatchStarOnExistingRecordIs412AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"email", "a@example.com"}});
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"type":"request","email":"b@example.com"})", {{"If-None-Match", "*"}});
    EXPECT_TRUE(is_problem(r, 412, "precondition-failed", path));
    EXPECT_EQ(r.header("ETag"), "\"1\"");
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Records, PutWithIfNoneMatchStarOnDeletedRecordIs410)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(text(create_record(c), "id"));
    ASSERT_EQ(c.del(path).status(), 204u);
    auto r = c.put(path, R"({"type":"request"})", {{"If-None-Match", "*"}});
    EXPECT_TRUE(is_problem(r, 410, "gone", path));
    EXPECT_EQ(c.get(path).status(), 410u);
}

TEST(Records, PutCreateWithoutTypeIs400AndCreatesNothing)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(fresh_id());
    auto r = c.put(path, R"({"email":"a@example.com"})", {{"If-None-Match", "*"}});
    EXPECT_EQ(r.status(), 400u) << r;
    EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/problem+json")) << r;
    EXPECT_EQ(c.get(path).status(), 404u);
}

TEST(Records, PutCreateWithIdOfWrongFormatIs400InvalidId)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of("req_12");
    auto r = c.put(path, R"({"type":"request"})", {{"If-None-Match", "*"}});
    EXPECT_TRUE(is_problem(r, 400, "invalid-id", path));
    EXPECT_TRUE(list_all(c).empty());
}

TEST(Records, PutOnMissingRecordIs404AndCreatesNothing)
{
    server srv;
    auto c = srv.connect();
    const std::string path = path_of(fresh_id());
    auto r = c.put(path, R"({"type":"request","name":"x"})");
    EXPECT_TRUE(is_problem(r, 404, "not-found", path));
    EXPECT_EQ(c.get(path).status(), 404u);
    EXPECT_TRUE(list_all(c).empty());
}
