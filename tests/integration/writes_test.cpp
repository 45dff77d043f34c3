// Writes: Prefer: return=minimal, no-op writes, read-only fields, validation, media types, state rules.
#include "harness.hpp"

using namespace reqstore::test;

TEST(Writes, PreferReturnMinimalOnPutAnswers204WithEtag)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string id = text(rec, "id");
    auto r = c.put(path_of(id), R"({"name":"b"})", {{"Prefer", "return=minimal"}});
    EXPECT_EQ(r.status(), 204u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    EXPECT_TRUE(contains(r.header("Preference-Applied"), "return=minimal")) << r;
    EXPECT_EQ(r.body(), "");
    auto now = get_record(c, id);
    EXPECT_EQ(text(now, "name"), "b");
    EXPECT_EQ(number(now, "version"), 2);
}

TEST(Writes, PreferReturnMinimalOnPatchAnswers204WithEtag)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string id = text(rec, "id");
    auto r = c.patch(path_of(id), R"({"name":"b"})",
                     {{"Content-Type", "application/merge-patch+json"}, {"Prefer", "return=minimal"}});
    EXPECT_EQ(r.status(), 204u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    EXPECT_TRUE(contains(r.header("Preference-Applied"), "return=minimal")) << r;
    EXPECT_EQ(r.body(), "");
    auto j = c.patch(path_of(id), R"([{"op":"replace","path":"/name","value":"c"}])",
                     {{"Content-Type", "application/json-patch+json"}, {"Prefer", "return=minimal"}});
    EXPECT_EQ(j.status(), 204u) << j;
    EXPECT_EQ(j.header("ETag"), "\"3\"");
    EXPECT_EQ(text(get_record(c, id), "name"), "c");
}

TEST(Writes, NoOpPutAnswers200WithSameEtagAndCommitsNoVersion)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}, {"email", "a@example.com"}, {"metadata", {{"k", 1}}}});
    const std::string path = path_of(text(rec, "id"));
    for (const char* body : {R"({"name":"a"})", R"({"name":"a","email":"a@example.com","metadata":{"k":1}})",
                             R"({"status":"pending"})", "{}"})
    {
        auto r = c.put(path, body, {{"If-Match", "\"1\""}});
        EXPECT_EQ(r.status(), 200u) << body << r;
        EXPECT_EQ(r.header("ETag"), "\"1\"") << body;
        EXPECT_EQ(r.object(), rec) << body;
    }
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Writes, NoOpPatchAnswers200WithSameEtagAndCommitsNoVersion)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}, {"metadata", {{"k", 1}}}});
    const std::string path = path_of(text(rec, "id"));
    auto merge = c.patch(path, R"({"name":"a","metadata":{"k":1},"absent":null})",
                         {{"Content-Type", "application/merge-patch+json"}});
    EXPECT_EQ(merge.status(), 200u) << merge;
    EXPECT_EQ(merge.header("ETag"), "\"1\"");
    auto jp = c.patch(
        path, R"([{"op":"replace","path":"/name","value":"a"},{"op":"test","path":"/name","value":"a"}])",
        {{"Content-Type", "application/json-patch+json"}});
    EXPECT_EQ(jp.status(), 200u) << jp;
    EXPECT_EQ(jp.header("ETag"), "\"1\"");
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Writes, ChangingASystemFieldIs400ReadOnlyFieldAndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));
    const std::vector<std::pair<std::string, std::string>> fields{
        {"id", json::serialize(json::value(fresh_id()))},
        {"type", R"("other_type")"},
        {"version", "9"},
        {"etag", R"("\"9\"")"},
        {"created_at", R"("2000-01-01T00:00:00.000Z")"},
        {"updated_at", R"("2000-01-01T00:00:00.000Z")"},
        {"created_by", R"("mallory")"},
        {"updated_by", R"("mallory")"}};
    for (const auto& [name, value] : fields)
    {
        auto r = c.put(path, R"({"name":"b",")" + name + "\":" + value + "}");
        EXPECT_TRUE(is_problem(r, 400, "read-only-field", path)) << "member " << name;
        auto p = c.patch(path, "{\"" + name + "\":" + value + "}");
        EXPECT_TRUE(is_problem(p, 400, "read-only-field", path)) << "member " << name;
    }
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Writes, SendingBackSystemFieldsUnchangedIsAllowed)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    auto body = rec;
    body["name"] = "b";
    auto r = c.put(path_of(text(rec, "id")), json::serialize(body), {{"If-Match", "\"1\""}});
    ASSERT_EQ(r.status(), 200u) << r;
    auto now = r.object();
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(text(now, "name"), "b");
}

TEST(Writes, WrongMemberTypesAre400ValidationFailedListingEveryMember)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"metadata":"not an object","callback_url":"not a url"})");
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", path));
    auto o = r.object();
    ASSERT_TRUE(o.contains("errors") && o.at("errors").is_object()) << r;
    const auto& errors = o.at("errors").as_object();
    EXPECT_TRUE(errors.contains("/metadata")) << r;
    EXPECT_TRUE(errors.contains("/callback_url")) << r;
    for (const auto& e : errors)
        EXPECT_TRUE(e.value().is_string()) << r;
    EXPECT_TRUE(unchanged(c, rec));

    auto created = c.post("/v1/requests", R"({"type":"request","metadata":[1],"callback_url":5})");
    ASSERT_TRUE(is_problem(created, 400, "validation-failed", "/v1/requests"));
    EXPECT_TRUE(created.object().at("errors").as_object().contains("/metadata")) << created;
    EXPECT_TRUE(created.object().at("errors").as_object().contains("/callback_url")) << created;
    EXPECT_EQ(list_all(c).size(), 1u);
}

TEST(Writes, CallbackUrlMustBeAnAbsoluteHttpUrlOrNull)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* bad :
         {R"("ftp://example.com/x")", R"("/relative/path")", R"("hooks.example.com")", "[]"})
    {
        auto r = c.put(path, std::string(R"({"callback_url":)") + bad + "}");
        EXPECT_TRUE(is_problem(r, 400, "validation-failed", path)) << bad;
    }
    EXPECT_TRUE(unchanged(c, rec));
    auto https = c.put(path, R"({"callback_url":"https://hooks.example.com/reqstore"})");
    EXPECT_EQ(https.status(), 200u) << https;
    auto http_url = c.put(path, R"({"callback_url":"http://127.0.0.1:9/cb"})");
    EXPECT_EQ(http_url.status(), 200u) << http_url;
    auto cleared = c.put(path, R"({"callback_url":null})");
    ASSERT_EQ(cleared.status(), 200u) << cleared;
    EXPECT_TRUE(cleared.object().at("callback_url").is_null());
}

TEST(Writes, PostAndPutNeedJsonMediaType)
{
    server srv;
    auto c = srv.connect();
    auto post = c.post("/v1/requests", R"({"type":"request"})", {{"Content-Type", "text/plain"}});
    EXPECT_TRUE(is_problem(post, 415, "unsupported-media-type", "/v1/requests"));
    EXPECT_TRUE(list_all(c).empty());

    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto put = c.put(path, R"({"name":"x"})", {{"Content-Type", "application/xml"}});
    EXPECT_TRUE(is_problem(put, 415, "unsupported-media-type", path));
    auto merge = c.put(path, R"({"name":"x"})", {{"Content-Type", "application/merge-patch+json"}});
    EXPECT_TRUE(is_problem(merge, 415, "unsupported-media-type", path));
    EXPECT_TRUE(unchanged(c, rec));

    auto charset = c.put(path, R"({"name":"x"})", {{"Content-Type", "application/json; charset=utf-8"}});
    EXPECT_EQ(charset.status(), 200u) << charset;
    auto created =
        c.post("/v1/requests", R"({"type":"request"})", {{"Content-Type", "application/json;charset=UTF-8"}});
    EXPECT_EQ(created.status(), 201u) << created;
}

// ---------------------------------------------------------------------------------------------
// States of the generic type: pending (initial), active, completed, canceled; the last two final.

TEST(States, AnyMoveBetweenNonFinalStatesIsAllowed)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    std::int64_t version = 1;
    for (const char* to : {"active", "pending", "active", "completed"})
    {
        auto r = c.put(path, std::string(R"({"status":")") + to + "\"}");
        ASSERT_EQ(r.status(), 200u) << "to " << to << r;
        EXPECT_EQ(text(r.object(), "status"), to);
        EXPECT_EQ(number(r.object(), "version"), ++version);
    }
    auto canceled = create_record(c);
    auto r = c.put(path_of(text(canceled, "id")), R"({"status":"canceled"})");
    EXPECT_EQ(r.status(), 200u) << r;
}

TEST(States, WritesToARecordInAFinalStateAre409NotUpdatableInState)
{
    server srv;
    auto c = srv.connect();
    for (const char* final_state : {"completed", "canceled"})
    {
        auto rec = create_record(c, {{"name", "a"}});
        const std::string path = path_of(text(rec, "id"));
        auto done = c.put(path, std::string(R"({"status":")") + final_state + "\"}");
        ASSERT_EQ(done.status(), 200u) << done;
        auto before = done.object();

        EXPECT_TRUE(is_problem(c.put(path, R"({"name":"b"})"), 409, "not-updatable-in-state", path))
            << final_state;
        EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"b"})"), 409, "not-updatable-in-state", path))
            << final_state;
        EXPECT_TRUE(is_problem(c.patch(path, R"([{"op":"add","path":"/extra","value":1}])",
                                       {{"Content-Type", "application/json-patch+json"}}),
                               409, "not-updatable-in-state", path))
            << final_state;
        EXPECT_TRUE(unchanged(c, before)) << final_state;
    }
}

TEST(States, LeavingAFinalStateIs409AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto done = c.put(path, R"({"status":"completed"})");
    ASSERT_EQ(done.status(), 200u) << done;
    for (const char* to : {"active", "pending", "canceled"})
    {
        auto r = c.put(path, std::string(R"({"status":")") + to + "\"}");
        ASSERT_EQ(r.status(), 409u) << "completed -> " << to << r;
        const std::string slug = slug_of(r);
        EXPECT_TRUE(slug == "invalid-transition" || slug == "not-updatable-in-state") << r;
        if (slug == "invalid-transition")
        {
            auto o = r.object();
            ASSERT_TRUE(o.contains("allowed") && o.at("allowed").is_array()) << r;
            EXPECT_TRUE(o.at("allowed").as_array().empty()) << "nothing follows a final state" << r;
        }
    }
    EXPECT_TRUE(unchanged(c, done.object()));
}

TEST(States, MoveToAnUndeclaredStateIsRefusedAndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.put(path, R"({"status":"archived"})");
    EXPECT_TRUE(r.status() == 400u || r.status() == 409u) << r;
    if (r.status() == 409u)
    {
        EXPECT_EQ(slug_of(r), "invalid-transition") << r;
        auto o = r.object();
        ASSERT_TRUE(o.contains("allowed") && o.at("allowed").is_array()) << r;
        std::vector<std::string> allowed;
        for (const auto& s : o.at("allowed").as_array())
            allowed.emplace_back(s.as_string());
        for (const char* s : {"active", "completed", "canceled"})
            EXPECT_TRUE(contains(allowed, s)) << "allowed lacks " << s << r;
    }
    else
    {
        EXPECT_EQ(slug_of(r), "validation-failed") << r;
    }
    EXPECT_TRUE(unchanged(c, rec));
}
