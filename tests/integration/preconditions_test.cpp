// Preconditions on writes (RFC 9110 section 13.2.2): If-Match, If-Unmodified-Since, If-None-Match,
// require_if_match, and the 412 answer's shape.
#include "harness.hpp"

using namespace reqstore::test;

namespace
{
// The 412 of the contract: problem precondition-failed, current ETag header, current_etag member.
testing::AssertionResult is_412(const response& r, std::string_view path, std::string_view current)
{
    auto p = is_problem(r, 412, "precondition-failed", path);
    if (!p)
        return p;
    if (r.header("ETag") != current)
        return testing::AssertionFailure() << "ETag header is not " << current << r;
    auto o = r.object();
    if (!o.contains("current_etag") ||
        o.at("current_etag") != json::value(json::string_view(current.data(), current.size())))
        return testing::AssertionFailure() << "current_etag is not " << current << r;
    return testing::AssertionSuccess();
}
} // namespace

TEST(Preconditions, IfMatchWithTheCurrentEtagSucceeds)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"name":"a"})", {{"If-Match", "\"1\""}});
    EXPECT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
}

TEST(Preconditions, IfMatchMismatchIs412WithCurrentEtagAndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    ASSERT_EQ(c.put(path, R"({"name":"a"})").status(), 200u);
    auto before = get_record(c, text(rec, "id"));
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"b"})", {{"If-Match", "\"1\""}}), path, "\"2\""));
    EXPECT_TRUE(is_412(c.patch(path, R"({"name":"b"})", {{"If-Match", "\"3\""}}), path, "\"2\""));
    EXPECT_TRUE(is_412(c.patch(path, R"([{"op":"replace","path":"/name","value":"b"}])",
                               {{"If-Match", "\"1\""}, {"Content-Type", "application/json-patch+json"}}),
                       path, "\"2\""));
    EXPECT_TRUE(is_412(c.del(path, {{"If-Match", "\"1\""}}), path, "\"2\""));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(Preconditions, IfMatchListMatchesWhenAnyMemberMatches)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"name":"a"})", {{"If-Match", "\"5\", \"1\", \"9\""}});
    EXPECT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"b"})", {{"If-Match", "\"5\", \"1\""}}), path, "\"2\""));
    auto r3 = c.put(path, R"({"name":"c"})", {{"If-Match", "\"1\",\"2\""}});
    EXPECT_EQ(r3.status(), 200u) << r3;
}

TEST(Preconditions, IfMatchStarMatchesAnExistingRecordOnly)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"name":"a"})", {{"If-Match", "*"}});
    EXPECT_EQ(r.status(), 200u) << r;
    const std::string missing = path_of(fresh_id());
    EXPECT_TRUE(
        is_problem(c.put(missing, R"({"type":"request"})", {{"If-Match", "*"}}), 404, "not-found", missing));
    EXPECT_EQ(c.get(missing).status(), 404u);
}

TEST(Preconditions, WeakEtagNeverMatchesIfMatch)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"a"})", {{"If-Match", "W/\"1\""}}), path, "\"1\""));
    EXPECT_TRUE(is_412(c.del(path, {{"If-Match", "W/\"1\""}}), path, "\"1\""));
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Preconditions, IfMatchThatIsNoEntityTagIs400AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* value : {"1", "\"1", "W/1", "\"1\" \"2\""})
    {
        auto r = c.put(path, R"({"name":"a"})", {{"If-Match", value}});
        EXPECT_TRUE(is_problem(r, 400, "bad-request", path)) << "If-Match: " << value;
    }
    auto inm = c.put(path, R"({"name":"a"})", {{"If-None-Match", "1"}});
    EXPECT_TRUE(is_problem(inm, 400, "bad-request", path));
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Preconditions, DeleteWithMatchingIfMatchSucceeds)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.del(path, {{"If-Match", "\"1\""}});
    EXPECT_EQ(r.status(), 204u) << r;
    EXPECT_EQ(c.get(path).status(), 410u);
}

TEST(Preconditions, IfUnmodifiedSinceBeforeTheLastChangeIs412)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto updated = *parse_timestamp(text(rec, "updated_at"));
    const std::string yesterday = format_http_date(updated - std::chrono::hours(24));
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"a"})", {{"If-Unmodified-Since", yesterday}}), path, "\"1\""));
    EXPECT_TRUE(is_412(c.del(path, {{"If-Unmodified-Since", yesterday}}), path, "\"1\""));
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Preconditions, IfUnmodifiedSinceAtOrAfterTheLastChangeSucceeds)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    const std::string last_modified = c.get(path).header("Last-Modified");
    ASSERT_TRUE(parse_http_date(last_modified).has_value()) << last_modified;
    // Equal to Last-Modified (which has one-second precision) is not "modified since".
    auto same = c.put(path, R"({"name":"a"})", {{"If-Unmodified-Since", last_modified}});
    EXPECT_EQ(same.status(), 200u) << same;
    auto later = c.put(path, R"({"name":"b"})",
                       {{"If-Unmodified-Since",
                         format_http_date(std::chrono::system_clock::now() + std::chrono::hours(24))}});
    EXPECT_EQ(later.status(), 200u) << later;
}

TEST(Preconditions, IfUnmodifiedSinceIsIgnoredWithIfMatchOrWhenInvalid)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    const std::string old = "Sat, 01 Jan 2000 00:00:00 GMT";
    auto with_match = c.put(path, R"({"name":"a"})", {{"If-Match", "\"1\""}, {"If-Unmodified-Since", old}});
    EXPECT_EQ(with_match.status(), 200u) << with_match;
    auto invalid = c.put(path, R"({"name":"b"})", {{"If-Unmodified-Since", "not a date"}});
    EXPECT_EQ(invalid.status(), 200u) << invalid;
}

TEST(Preconditions, IfNoneMatchOnAWriteThatMatchesIs412)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"a"})", {{"If-None-Match", "\"1\""}}), path, "\"1\""));
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"a"})", {{"If-None-Match", "W/\"1\""}}), path, "\"1\""))
        << "If-None-Match uses the weak comparison";
    EXPECT_TRUE(is_412(c.patch(path, R"({"name":"a"})", {{"If-None-Match", "*"}}), path, "\"1\""));
    EXPECT_TRUE(unchanged(c, rec));
    auto other = c.put(path, R"({"name":"a"})", {{"If-None-Match", "\"7\""}});
    EXPECT_EQ(other.status(), 200u) << other;
}

TEST(Preconditions, PreconditionsAreJudgedBeforeTheBody)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    EXPECT_TRUE(is_412(c.put(path, "{not json", {{"If-Match", "\"4\""}}), path, "\"1\""));
    EXPECT_TRUE(
        is_412(c.patch(path, "x", {{"If-Match", "\"4\""}, {"Content-Type", "text/plain"}}), path, "\"1\""));
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Preconditions, RequireIfMatchAnswers428WithoutIfMatch)
{
    server srv({.config = R"({"require_if_match": true})"});
    auto c = srv.connect();
    auto rec = create_record(c); // a create has nothing to match
    const std::string path = path_of(text(rec, "id"));
    EXPECT_TRUE(is_problem(c.put(path, R"({"name":"a"})"), 428, "precondition-required", path));
    EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"a"})"), 428, "precondition-required", path));
    EXPECT_TRUE(is_problem(c.del(path), 428, "precondition-required", path));
    EXPECT_TRUE(
        is_problem(c.put(path, R"({"name":"a"})", {{"If-Unmodified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}}),
                   428, "precondition-required", path));
    EXPECT_TRUE(unchanged(c, rec));

    auto put = c.put(path, R"({"name":"a"})", {{"If-Match", "\"1\""}});
    EXPECT_EQ(put.status(), 200u) << put;
    auto patch = c.patch(path, R"({"name":"b"})", {{"If-Match", "*"}});
    EXPECT_EQ(patch.status(), 200u) << patch;
    EXPECT_TRUE(is_412(c.put(path, R"({"name":"c"})", {{"If-Match", "\"1\""}}), path, "\"3\""));
    auto del = c.del(path, {{"If-Match", "\"3\""}});
    EXPECT_EQ(del.status(), 204u) << del;

    auto created = c.put(path_of(fresh_id()), R"({"type":"request"})", {{"If-None-Match", "*"}});
    EXPECT_EQ(created.status(), 201u)
        << "creating with If-None-Match: * is no write of an existing record" << created;
}

TEST(Preconditions, RequireIfMatchStillAnswers404ForMissingRecords)
{
    server srv({.config = R"({"require_if_match": true})"});
    auto c = srv.connect();
    const std::string path = path_of(unknown_id);
    EXPECT_TRUE(is_problem(c.put(path, R"({"name":"a"})"), 404, "not-found", path));
}
