// The JSON:API requests surface (seed 003, API.md section 12): the documented PATCH example replayed
// against a record created natively, JSON:API content negotiation, 409/403/400 per member with
// source.pointer, the core's state rules and preconditions in the `errors` format, and the change seen
// natively and in the change feed.
#include "harness.hpp"

using namespace reqstore::test;

namespace
{

constexpr std::string_view jsonapi_media = "application/vnd.api+json";
constexpr std::string_view seed_note_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
constexpr std::string_view unknown_uuid = "0190f2a4-7c1e-7d3a-9b2c-4e5f6a7b8c9d";

// The attributes of the documented answer, in its order, then completed_at (docs/SURFACES.md).
const std::vector<std::string> documented_attributes{
    "request_id",          "requested_by", "status",           "note_id",      "community_server_id",
    "requested_at",        "created_at",   "updated_at",       "content",      "platform_message_id",
    "platform_channel_id", "metadata",     "similarity_score", "dataset_name", "dataset_item_id",
    "completed_at"};

std::string surface_path(std::string_view id)
{
    return "/api/public/v1/requests/" + std::string(id);
}

// A jsonapi_request created through the native API, with the read-only attributes set at creation.
json::object create_request(client& c, std::string_view status = "IN_PROGRESS")
{
    return create_record(c, json::object{{"type", "jsonapi_request"},
                                         {"status", status},
                                         {"request_id", "req-8812"},
                                         {"requested_by", "user-42"},
                                         {"community_server_id", "guild-7"},
                                         {"requested_at", "2023-11-07T05:31:56.000Z"},
                                         {"content", "Is this claim accurate?"},
                                         {"platform_message_id", "msg-991"},
                                         {"platform_channel_id", "chan-12"},
                                         {"similarity_score", 0.87},
                                         {"dataset_name", "claims"},
                                         {"dataset_item_id", "item-5"},
                                         {"metadata", json::object{{"source", "bot"}}}});
}

// The documented request body: the `<string>` placeholders for type and id filled in.
std::string seed_body(std::string_view type, std::string_view id)
{
    return R"(
{
  "data": {
    "type": ")" +
           std::string(type) + R"(",
    "id": ")" +
           std::string(id) +
           R"(",
    "attributes": {
      "status": "PENDING",
      "note_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    }
  }
}
)";
}

std::string update_body(std::string_view id, json::object attributes)
{
    return json::serialize(json::object{
        {"data", json::object{{"type", "requests"}, {"id", id}, {"attributes", std::move(attributes)}}}});
}

response patch_as(client& c, std::string_view id, std::string_view body, std::string_view content_type,
                  header_list extra = {})
{
    extra.emplace_back("Content-Type", std::string(content_type));
    return c.patch(surface_path(id), body, extra);
}

response patch_json(client& c, std::string_view id, json::object attributes, header_list extra = {})
{
    return patch_as(c, id, update_body(id, std::move(attributes)), "application/json", std::move(extra));
}

// The answer is a JSON:API error document with this status whose error objects, in order, have
// these statuses; returns its `errors` array.
json::array errors_of(const response& r, unsigned status, std::vector<std::string> statuses)
{
    if (r.status() != status)
        throw std::runtime_error("expected status " + std::to_string(status) + ":\n" + describe(r));
    if (r.header("Content-Type") != jsonapi_media)
        throw std::runtime_error("not application/vnd.api+json:\n" + describe(r));
    const auto doc = r.object();
    if (doc.at("jsonapi").at("version") != "1.1" || !doc.at("errors").is_array())
        throw std::runtime_error("not a JSON:API error document:\n" + describe(r));
    const auto& errors = doc.at("errors").as_array();
    std::vector<std::string> seen;
    for (const auto& e : errors)
    {
        const auto& o = e.as_object();
        if (text(o, "code").empty() || text(o, "title").empty())
            throw std::runtime_error("error object without code or title:\n" + describe(r));
        seen.push_back(text(o, "status"));
    }
    if (seen != statuses)
        throw std::runtime_error("unexpected error statuses:\n" + describe(r));
    return errors;
}

std::string pointer_of(const json::value& error)
{
    return text(error.as_object().at("source").as_object(), "pointer");
}

} // namespace

TEST(JsonapiSurface, SeedExampleUpdatesTheRecordAndAnswersTheDocumentedShape)
{
    server srv;
    auto c = srv.connect();
    const auto rec = create_request(c);
    const std::string id = text(rec, "id");

    // As curl sends it: Bearer credentials, Content-Type application/json, the documented body.
    const auto r =
        c.patch(surface_path(id), seed_body("requests", id),
                {{"Authorization", "Bearer dev.dev-secret"}, {"Content-Type", "application/json"}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("Content-Type"), jsonapi_media);
    EXPECT_EQ(r.header("ETag"), etag_of(2));

    const auto doc = r.object();
    EXPECT_EQ(keys_of(doc), (std::vector<std::string>{"data", "jsonapi", "links"}));
    const auto& data = doc.at("data").as_object();
    EXPECT_EQ(text(data, "id"), id);
    EXPECT_EQ(text(data, "type"), "requests");
    const auto& attributes = data.at("attributes").as_object();
    EXPECT_EQ(keys_of(attributes), documented_attributes);
    EXPECT_EQ(text(attributes, "status"), "PENDING");
    EXPECT_EQ(text(attributes, "note_id"), seed_note_id);
    EXPECT_EQ(text(attributes, "request_id"), "req-8812");
    EXPECT_EQ(text(attributes, "requested_by"), "user-42");
    EXPECT_EQ(text(attributes, "community_server_id"), "guild-7");
    EXPECT_EQ(text(attributes, "requested_at"), "2023-11-07T05:31:56.000Z");
    EXPECT_EQ(text(attributes, "created_at"), text(rec, "created_at"));
    EXPECT_TRUE(is_timestamp(text(attributes, "updated_at")));
    EXPECT_EQ(text(attributes, "content"), "Is this claim accurate?");
    EXPECT_EQ(text(attributes, "platform_message_id"), "msg-991");
    EXPECT_EQ(text(attributes, "platform_channel_id"), "chan-12");
    EXPECT_EQ(attributes.at("metadata"), (json::object{{"source", "bot"}}));
    EXPECT_DOUBLE_EQ(attributes.at("similarity_score").to_number<double>(), 0.87);
    EXPECT_EQ(text(attributes, "dataset_name"), "claims");
    EXPECT_EQ(text(attributes, "dataset_item_id"), "item-5");
    EXPECT_TRUE(attributes.at("completed_at").is_null());
    EXPECT_EQ(doc.at("jsonapi").at("version"), "1.1");
    EXPECT_EQ(text(doc.at("links").as_object(), "self"), surface_path(id));

    // The change is the core's: a new version, seen natively and in the change feed.
    const auto native = get_record(c, id);
    EXPECT_EQ(number(native, "version"), 2);
    EXPECT_EQ(text(native, "status"), "PENDING");
    EXPECT_EQ(text(native, "note_id"), seed_note_id);
    EXPECT_EQ(text(native, "updated_by"), "dev");

    const auto feed = c.get("/v1/events?limit=1000");
    ASSERT_EQ(feed.status(), 200u) << feed;
    const auto entries = feed.object().at("data").as_array();
    bool seen = false;
    for (const auto& entry : entries)
    {
        const auto& e = entry.as_object();
        if (text(e, "id") == id && number(e, "version") == 2)
        {
            seen = true;
            EXPECT_EQ(text(e, "event"), "request.status_changed");
            EXPECT_EQ(text(e, "status"), "PENDING");
        }
    }
    EXPECT_TRUE(seen) << feed;

    // The same document again changes nothing: no version, the same ETag.
    const auto again = patch_as(c, id, seed_body("requests", id), "application/json");
    ASSERT_EQ(again.status(), 200u) << again;
    EXPECT_EQ(again.header("ETag"), etag_of(2));
}

TEST(JsonapiSurface, AcceptsTheJsonapiMediaTypeAndXApiKeyCredentials)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_request(c), "id");
    c.set_credentials(std::pair<std::string, std::string>{"X-API-Key", "dev.dev-secret"});

    const auto r = patch_as(c, id, update_body(id, {{"status", "COMPLETED"}}), jsonapi_media);
    ASSERT_EQ(r.status(), 200u) << r;
    const auto attributes = r.object().at("data").at("attributes").as_object();
    EXPECT_EQ(text(attributes, "status"), "COMPLETED");
    EXPECT_TRUE(is_timestamp(text(attributes, "completed_at"))) << r;

    // A profile is ignorable; an id-less document is fine too (JSON:API 1.1 allows neither to matter).
    const auto profiled =
        c.patch(surface_path(id), R"({"data":{"type":"requests","attributes":{}}})",
                {{"Content-Type", R"(application/vnd.api+json; profile="https://example.com/profiles/x")"}});
    EXPECT_EQ(profiled.status(), 200u) << profiled;

    const auto read = c.get(surface_path(id), {{"Accept", std::string(jsonapi_media)}});
    ASSERT_EQ(read.status(), 200u) << read;
    EXPECT_EQ(read.header("Content-Type"), jsonapi_media);
    EXPECT_EQ(read.header("ETag"), etag_of(2));
    EXPECT_EQ(text(read.object().at("data").at("attributes").as_object(), "status"), "COMPLETED");
    EXPECT_EQ(number(get_record(c, id), "version"), 2);
}

TEST(JsonapiSurface, RefusesOtherMediaTypesAndJsonapiParametersWith415)
{
    server srv;
    auto c = srv.connect();
    const auto rec = create_request(c);
    const std::string id = text(rec, "id");
    const std::string body = update_body(id, {{"status", "PENDING"}});

    for (const std::string type : {"text/plain", "application/vnd.api+json; charset=utf-8",
                                   R"(application/vnd.api+json; ext="https://jsonapi.org/ext/atomic")",
                                   "application/x-www-form-urlencoded"})
    {
        const auto r = patch_as(c, id, body, type);
        const auto errors = errors_of(r, 415, {"415"});
        EXPECT_EQ(text(errors[0].as_object(), "code"), "unsupported-media-type") << type;
    }
    const auto without = c.request(boost::beast::http::verb::patch, surface_path(id), {}, {});
    errors_of(without, 415, {"415"});
    EXPECT_TRUE(unchanged(c, rec));

    // Accept naming the JSON:API media type only with a parameter it cannot honour: 406.
    const auto accept = c.get(surface_path(id), {{"Accept", "application/vnd.api+json; charset=utf-8"}});
    errors_of(accept, 406, {"406"});
    const auto mixed = c.get(
        surface_path(id), {{"Accept", "application/vnd.api+json; charset=utf-8, application/vnd.api+json"}});
    EXPECT_EQ(mixed.status(), 200u) << mixed;
}

TEST(JsonapiSurface, AnotherTypeOrIdInTheDocumentIsConflict)
{
    server srv;
    auto c = srv.connect();
    const auto rec = create_request(c);
    const std::string id = text(rec, "id");

    const auto wrong_type = patch_as(c, id, seed_body("notes", id), "application/json");
    auto errors = errors_of(wrong_type, 409, {"409"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/type");

    const auto wrong_id = patch_as(c, id, seed_body("requests", unknown_uuid), "application/json");
    errors = errors_of(wrong_id, 409, {"409"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/id");

    const auto no_type =
        patch_as(c, id, R"({"data":{"id":")" + id + R"(","attributes":{}}})", "application/json");
    errors = errors_of(no_type, 400, {"400"});
    EXPECT_EQ(pointer_of(errors[0]), "/data");

    for (const std::string body : {R"({"meta":{}})", R"({"data":[]})", R"({"data":null})"})
    {
        const auto r = patch_as(c, id, body, "application/json");
        errors = errors_of(r, 400, {"400"});
        EXPECT_EQ(pointer_of(errors[0]), "/data") << body;
    }
    const auto malformed = patch_as(c, id, R"({"data":)", "application/json");
    errors_of(malformed, 400, {"400"});
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(JsonapiSurface, ReadOnlyAttributesAreForbiddenWithOneErrorObjectEach)
{
    server srv;
    auto c = srv.connect();
    const auto rec = create_request(c);
    const std::string id = text(rec, "id");

    const auto one = patch_json(c, id, {{"status", "PENDING"}, {"request_id", "other"}});
    auto errors = errors_of(one, 403, {"403"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/request_id");
    EXPECT_EQ(text(errors[0].as_object(), "code"), "read-only-attribute");

    const auto two = patch_json(c, id, {{"content", "edited"}, {"similarity_score", 1}});
    errors = errors_of(two, 403, {"403", "403"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/content");
    EXPECT_EQ(pointer_of(errors[1]), "/data/attributes/similarity_score");

    const auto unknown = patch_json(c, id, {{"priority", "high"}});
    errors = errors_of(unknown, 400, {"400"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/priority");

    // Problems of different kinds together answer with the most general status, each object its own.
    const auto mixed = patch_json(c, id, {{"metadata", json::object{}}, {"priority", "high"}});
    errors = errors_of(mixed, 400, {"403", "400"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/metadata");
    EXPECT_EQ(pointer_of(errors[1]), "/data/attributes/priority");

    const auto relationship = patch_as(
        c, id, R"({"data":{"type":"requests","id":")" + id + R"(","relationships":{"note":{"data":null}}}})",
        "application/json");
    errors = errors_of(relationship, 403, {"403"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/relationships/note");
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(JsonapiSurface, CoreValidationFailuresPointIntoTheDocument)
{
    server srv;
    auto c = srv.connect();
    const auto rec = create_request(c);
    const std::string id = text(rec, "id");

    const auto status = patch_json(c, id, {{"status", "DONE"}});
    auto errors = errors_of(status, 400, {"400"});
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/status");
    EXPECT_EQ(text(errors[0].as_object(), "code"), "validation-failed");

    const auto both = patch_json(c, id, {{"status", 3}, {"note_id", "not-a-uuid"}});
    errors = errors_of(both, 400, {"400", "400"});
    std::vector<std::string> pointers{pointer_of(errors[0]), pointer_of(errors[1])};
    std::sort(pointers.begin(), pointers.end());
    EXPECT_EQ(pointers, (std::vector<std::string>{"/data/attributes/note_id", "/data/attributes/status"}));
    EXPECT_TRUE(unchanged(c, rec));
}

TEST(JsonapiSurface, FinalStateRefusesChangesWith409AndTheAllowedTargets)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_request(c), "id");
    const auto open = patch_json(c, id, {{"status", "IN_PROGRESS"}, {"note_id", std::string(seed_note_id)}});
    ASSERT_EQ(open.status(), 200u) << open;
    const auto completed = patch_json(c, id, {{"status", "COMPLETED"}});
    ASSERT_EQ(completed.status(), 200u) << completed;
    const auto before = get_record(c, id);
    EXPECT_EQ(text(before, "status"), "COMPLETED");

    // The documented example asks for PENDING: not a move out of a final state.
    const auto back = patch_as(c, id, seed_body("requests", id), "application/json");
    auto errors = errors_of(back, 409, {"409"});
    const auto& transition = errors[0].as_object();
    EXPECT_EQ(text(transition, "code"), "invalid-transition");
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/status");
    EXPECT_EQ(transition.at("meta").at("allowed"), json::array());
    EXPECT_EQ(transition.at("meta").at("from"), "COMPLETED");

    const auto note = patch_json(c, id, {{"note_id", "0190f2a4-0000-7000-8000-000000000001"}});
    errors = errors_of(note, 409, {"409"});
    EXPECT_EQ(text(errors[0].as_object(), "code"), "not-updatable-in-state");
    EXPECT_EQ(pointer_of(errors[0]), "/data/attributes/note_id");
    EXPECT_EQ(errors[0].at("meta").at("allowed"), json::array());
    EXPECT_TRUE(unchanged(c, before));
}

TEST(JsonapiSurface, IfMatchIsHonouredAndAStaleOneIs412)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_request(c), "id");
    ASSERT_EQ(patch_json(c, id, {{"status", "PENDING"}}).status(), 200u);
    const auto before = get_record(c, id);

    const auto stale = patch_json(c, id, {{"status", "FAILED"}}, {{"If-Match", etag_of(1)}});
    const auto errors = errors_of(stale, 412, {"412"});
    EXPECT_EQ(stale.header("ETag"), etag_of(2));
    EXPECT_EQ(text(errors[0].at("meta").as_object(), "current_etag"), etag_of(2));
    EXPECT_TRUE(unchanged(c, before));

    const auto current = patch_json(c, id, {{"status", "FAILED"}}, {{"If-Match", etag_of(2)}});
    ASSERT_EQ(current.status(), 200u) << current;
    EXPECT_EQ(current.header("ETag"), etag_of(3));

    // GET: If-None-Match with the current tag is 304.
    const auto cached = c.get(surface_path(id), {{"If-None-Match", etag_of(3)}});
    EXPECT_EQ(cached.status(), 304u) << cached;
    EXPECT_EQ(cached.header("ETag"), etag_of(3));
}

TEST(JsonapiSurface, IdsCredentialsAndRoutingRefuseInJsonapiFormat)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_request(c), "id");

    errors_of(c.get(surface_path("not-a-uuid")), 400, {"400"});
    std::string upper = id;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char ch) { return std::toupper(ch); });
    errors_of(patch_json(c, upper, {{"status", "PENDING"}}), 400, {"400"});
    errors_of(c.get(surface_path(unknown_uuid)), 404, {"404"});
    errors_of(patch_json(c, unknown_uuid, {{"status", "PENDING"}}), 404, {"404"});

    // A record of another type with a UUID id is not a `requests` resource.
    const auto other = c.post("/v1/requests", R"({"type":"autodesk_data_request",)"
                                              R"("account_id":"0190f2a4-0000-7000-8000-00000000000a"})");
    ASSERT_EQ(other.status(), 201u) << other;
    errors_of(c.get(surface_path(text(other.object(), "id"))), 404, {"404"});

    c.set_credentials(std::nullopt);
    const auto anonymous = patch_json(c, id, {{"status", "PENDING"}});
    errors_of(anonymous, 401, {"401"});
    EXPECT_TRUE(starts_with(anonymous.header("WWW-Authenticate"), "Bearer"));
    const auto basic = c.get(surface_path(id), {{"Authorization", "Basic " + base64("dev:dev-secret")}});
    errors_of(basic, 401, {"401"});
    const auto wrong = c.get(surface_path(id), {{"Authorization", "Bearer dev.wrong"}});
    errors_of(wrong, 401, {"401"});

    c.set_credentials(std::pair<std::string, std::string>{"Authorization", "Bearer dev.dev-secret"});
    const auto deleting = c.del(surface_path(id));
    errors_of(deleting, 405, {"405"});
    EXPECT_TRUE(contains(deleting.header("Allow"), "PATCH")) << deleting;
    errors_of(c.get("/api/public/v1/notes"), 404, {"404"});
    EXPECT_EQ(number(get_record(c, id), "version"), 1);
}

TEST(JsonapiSurface, GetHonoursSparseFieldsetsAndRefusesInclude)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_request(c), "id");

    const auto sparse = c.get(surface_path(id) + "?fields%5Brequests%5D=status,note_id");
    ASSERT_EQ(sparse.status(), 200u) << sparse;
    EXPECT_EQ(keys_of(sparse.object().at("data").at("attributes").as_object()),
              (std::vector<std::string>{"status", "note_id"}));

    const auto include = c.get(surface_path(id) + "?include=note");
    const auto errors = errors_of(include, 400, {"400"});
    EXPECT_EQ(text(errors[0].at("source").as_object(), "parameter"), "include");
    errors_of(c.get(surface_path(id) + "?fields[requests]=colour"), 400, {"400"});
}
