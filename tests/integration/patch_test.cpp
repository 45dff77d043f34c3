// PATCH: RFC 7396 merge patch and RFC 6902 JSON Patch (atomic), media types and patch errors.
#include "harness.hpp"

using namespace reqstore::test;

namespace
{
const header_list merge_patch{{"Content-Type", "application/merge-patch+json"}};
const header_list json_patch{{"Content-Type", "application/json-patch+json"}};

json::object sample(client& c)
{
    return create_record(c, {{"name", "John Doe"},
                             {"email", "jdoe@example.com"},
                             {"metadata", {{"a", 1}, {"b", 2}}},
                             {"tags", json::array{"x", "y"}}});
}
} // namespace

TEST(Patch, MergePatchReplacesAddsAndRemovesMembers)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.patch(path, R"({"name":"Jane","email":null,"phone":"555","metadata":{"a":null,"c":3}})",
                     merge_patch);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    auto now = r.object();
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(text(now, "etag"), "\"2\"");
    EXPECT_EQ(text(now, "name"), "Jane");
    EXPECT_FALSE(now.contains("email")) << "null removes a member in a merge patch";
    EXPECT_EQ(text(now, "phone"), "555");
    EXPECT_EQ(now.at("metadata"), parse_json(R"({"b":2,"c":3})"));
    EXPECT_EQ(now.at("tags"), rec.at("tags"));
    EXPECT_EQ(get_record(c, text(rec, "id")), now);
}

TEST(Patch, PlainJsonIsMergePatch)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.patch(path, R"({"email":null,"metadata":{"b":20}})", {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status(), 200u) << r;
    auto now = r.object();
    EXPECT_FALSE(now.contains("email"));
    EXPECT_EQ(now.at("metadata"), parse_json(R"({"a":1,"b":20})"));
    EXPECT_EQ(text(now, "name"), "John Doe");
}

TEST(Patch, MergePatchCanChangeStatus)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    auto r = c.patch(path_of(text(rec, "id")), R"({"status":"active"})", merge_patch);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "status"), "active");
}

TEST(Patch, JsonPatchAppliesEveryOperation)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.patch(path, R"([
        {"op":"test","path":"/name","value":"John Doe"},
        {"op":"replace","path":"/name","value":"Jane"},
        {"op":"add","path":"/metadata/c","value":3},
        {"op":"remove","path":"/metadata/a"},
        {"op":"add","path":"/tags/-","value":"z"},
        {"op":"copy","from":"/email","path":"/contact"},
        {"op":"move","from":"/contact","path":"/backup_email"}
    ])",
                     json_patch);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    auto now = r.object();
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(text(now, "name"), "Jane");
    EXPECT_EQ(now.at("metadata"), parse_json(R"({"b":2,"c":3})"));
    EXPECT_EQ(now.at("tags"), parse_json(R"(["x","y","z"])"));
    EXPECT_EQ(text(now, "backup_email"), "jdoe@example.com");
    EXPECT_FALSE(now.contains("contact"));
    EXPECT_EQ(text(now, "email"), "jdoe@example.com");
    EXPECT_EQ(get_record(c, text(rec, "id")), now);
    EXPECT_EQ(history_of(c, text(rec, "id")).size(), 2u) << "one patch is one version";
}

TEST(Patch, JsonPatchWithFailingTestIs409AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.patch(path, R"([
        {"op":"replace","path":"/name","value":"changed"},
        {"op":"add","path":"/metadata/z","value":true},
        {"op":"test","path":"/email","value":"someone-else@example.com"}
    ])",
                     json_patch);
    EXPECT_TRUE(is_problem(r, 409, "patch-test-failed", path));
    EXPECT_TRUE(unchanged(c, rec)) << "a JSON Patch is atomic";
}

TEST(Patch, JsonPatchWithMissingPathIs422AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* patch :
         {R"([{"op":"replace","path":"/name","value":"x"},{"op":"remove","path":"/nope"}])",
          R"([{"op":"replace","path":"/metadata/missing/deeper","value":1}])",
          R"([{"op":"add","path":"/absent/child","value":1}])",
          R"([{"op":"move","from":"/nope","path":"/name"}])",
          R"([{"op":"replace","path":"/tags/7","value":"q"}])"})
    {
        auto r = c.patch(path, patch, json_patch);
        EXPECT_TRUE(is_problem(r, 422, "invalid-patch-path", path)) << patch;
    }
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Patch, MalformedJsonPatchIs400AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* patch : {R"({"op":"add","path":"/a","value":1})", R"([{"op":"jump","path":"/a"}])",
                              R"([{"op":"add","path":"/a"}])", R"([{"path":"/a","value":1}])",
                              R"([{"op":"move","path":"/a"}])", R"([42])"})
    {
        auto r = c.patch(path, patch, json_patch);
        EXPECT_TRUE(is_problem(r, 400, "malformed-patch", path)) << patch;
    }
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Patch, JsonPatchThatIsNotJsonIs400MalformedJson)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    auto r = c.patch(path, R"([{"op":"add",)", json_patch);
    EXPECT_EQ(r.status(), 400u) << r;
    const std::string slug = slug_of(r);
    EXPECT_TRUE(slug == "malformed-json" || slug == "malformed-patch") << r;
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Patch, MalformedMergePatchIs400MalformedJsonAndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* body : {R"({"name":)", R"(["name"])", "42", "null"})
    {
        auto r = c.patch(path, body, merge_patch);
        EXPECT_TRUE(is_problem(r, 400, "malformed-json", path)) << body;
    }
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Patch, JsonPatchOnSystemFieldIsReadOnlyField)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* patch : {R"([{"op":"replace","path":"/version","value":9}])",
                              R"([{"op":"replace","path":"/created_by","value":"mallory"}])",
                              R"([{"op":"remove","path":"/updated_at"}])"})
    {
        auto r = c.patch(path, patch, json_patch);
        EXPECT_TRUE(is_problem(r, 400, "read-only-field", path)) << patch;
    }
    auto merge = c.patch(path, R"({"id":"req_01JDE8Z1W8M4Q6Q1V0GJ"})", merge_patch);
    EXPECT_TRUE(is_problem(merge, 400, "read-only-field", path));
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Patch, OtherMediaTypeIs415WithAcceptPatch)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    for (const char* type : {"text/plain", "application/xml", "application/x-www-form-urlencoded"})
    {
        auto r = c.patch(path, R"({"name":"x"})", {{"Content-Type", type}});
        EXPECT_TRUE(is_problem(r, 415, "unsupported-media-type", path)) << type;
        const std::string accept = r.header("Accept-Patch");
        EXPECT_TRUE(contains(accept, "application/merge-patch+json")) << r;
        EXPECT_TRUE(contains(accept, "application/json-patch+json")) << r;
    }
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(Patch, WithoutContentTypeIs415)
{
    server srv;
    auto c = srv.connect();
    auto rec = sample(c);
    const std::string path = path_of(text(rec, "id"));
    ASSERT_TRUE(c.send_raw("PATCH " + path +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
                           "Content-Length: 12\r\n\r\n{\"name\":\"x\"}"));
    auto r = c.read_response();
    EXPECT_TRUE(is_problem(r, 415, "unsupported-media-type", path));
    EXPECT_TRUE(r.has_header("Accept-Patch")) << r;
    c.close();
    EXPECT_TRUE(unchanged(c, rec));
}
