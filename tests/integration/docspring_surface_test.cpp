// The DocSpring data requests surface (docs/SURFACES.md "DocSpring data requests", seed 000): the
// documented Bash example replayed as written, the success/error envelope, Basic credentials only, and
// 422 for a request already viewed or completed or for an update the type refuses.
#include "harness.hpp"

using namespace reqstore::test;

namespace
{
// The body of the seed's Bash example, byte for byte as `-d` sends it.
constexpr std::string_view example_body =
    R"({ "auth_type": "oauth", "auth_provider": "google", "auth_session_started_at": "2018-10-23T13:00:00Z" })";

// What curl sends with -u dev:dev-secret and -d (no -H Content-Type).
const header_list curl_headers{{"Authorization", "Basic " + base64("dev:dev-secret")},
                               {"Content-Type", "application/x-www-form-urlencoded"}};

constexpr std::string_view unknown_data_request = "drq_00000000000000000000";

std::string surface_path(std::string_view id)
{
    return "/api/v1/data_requests/" + std::string(id);
}

client basic_client(const server& srv)
{
    auto c = srv.connect();
    c.set_credentials(
        std::pair<std::string, std::string>{"Authorization", "Basic " + base64("dev:dev-secret")});
    return c;
}

// Creates a data request through the native API, as in DocSpring's example; returns its id.
std::string create_data_request(client& c)
{
    auto r = c.post("/v1/requests", R"({"type":"docspring_data_request","email":"jdoe@example.com",
                                        "name":"John Doe","metadata":{"user_id":42}})");
    if (r.status() != 201)
        throw std::runtime_error("native create failed:\n" + describe(r));
    return text(r.object(), "id");
}

// {"status":"success","data_request":{...}}; returns the data request.
json::object success_data_request(const response& r)
{
    if (r.status() != 200)
        throw std::runtime_error("expected 200:\n" + describe(r));
    const auto body = r.object();
    if (keys_of(body) != std::vector<std::string>{"status", "data_request"} ||
        body.at("status") != json::value("success") || !body.at("data_request").is_object())
        throw std::runtime_error("not the success envelope:\n" + describe(r));
    return body.at("data_request").as_object();
}

// {"status":"error","error":"<non-empty>", optional "errors"} with this HTTP status.
testing::AssertionResult is_error_envelope(const response& r, unsigned status)
{
    if (r.status() != status)
        return testing::AssertionFailure() << "expected " << status << ", got:\n" << describe(r);
    if (!starts_with(r.header("Content-Type"), "application/json"))
        return testing::AssertionFailure() << "not JSON:\n" << describe(r);
    json::object body;
    try
    {
        body = r.object();
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
    const auto* st = body.if_contains("status");
    const auto* error = body.if_contains("error");
    if (!st || *st != json::value("error"))
        return testing::AssertionFailure() << "status is not \"error\": " << r.body();
    if (!error || !error->is_string() || error->as_string().empty())
        return testing::AssertionFailure() << "no error message: " << r.body();
    for (const auto& member : body)
        if (member.key() != "status" && member.key() != "error" && member.key() != "errors")
            return testing::AssertionFailure() << "unexpected member " << member.key() << ": " << r.body();
    return testing::AssertionSuccess();
}

// The member names of the answer's `errors` (JSON Pointers).
std::vector<std::string> error_pointers(const response& r)
{
    std::vector<std::string> out;
    const auto body = r.object();
    if (const auto* errors = body.if_contains("errors"); errors && errors->is_object())
        for (const auto& member : errors->as_object())
            out.emplace_back(member.key());
    return out;
}

// Moves the record natively (the surface has no route for it) and returns the native answer.
response move_natively(client& c, const std::string& id, std::string_view status)
{
    return c.patch(path_of(id), R"({"status":")" + std::string(status) + R"("})");
}
} // namespace

TEST(DocSpringSurface, DocumentedBashExampleUpdatesAPendingRequest)
{
    server srv;
    auto c = srv.connect();
    // The documented id, chosen through the native API.
    const std::string id = "drq_000000000000000001";
    auto created = c.put(path_of(id), R"({"type":"docspring_data_request","email":"jdoe@example.com",
                                          "name":"John Doe","metadata":{"user_id":42}})",
                         {{"If-None-Match", "*"}});
    ASSERT_EQ(created.status(), 201u) << created;

    // export DATA_REQUEST_ID=...; curl -s -X PUT ".../api/v1/data_requests/$DATA_REQUEST_ID" -u ... -d '...'
    auto r = c.put("/api/v1/data_requests/drq_000000000000000001", example_body, curl_headers);
    const auto request = success_data_request(r);
    EXPECT_EQ(r.header("ETag"), "\"2\"");

    // The documented members first, in the documented order, then the auth_* members.
    const auto keys = keys_of(request);
    const std::vector<std::string> documented{"id",       "email", "name",      "order",       "fields",
                                              "metadata", "state", "viewed_at", "completed_at"};
    ASSERT_GE(keys.size(), documented.size());
    EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + documented.size()), documented);
    EXPECT_EQ(request.at("id"), json::value(id));
    EXPECT_EQ(request.at("email"), json::value("jdoe@example.com"));
    EXPECT_EQ(request.at("name"), json::value("John Doe"));
    EXPECT_TRUE(request.at("order").is_int64()) << json::serialize(request);
    EXPECT_TRUE(request.at("fields").is_array()) << json::serialize(request);
    EXPECT_EQ(request.at("metadata"), parse_json(R"({"user_id":42})"));
    EXPECT_EQ(request.at("state"), json::value("pending"));
    EXPECT_TRUE(request.at("viewed_at").is_null());
    EXPECT_TRUE(request.at("completed_at").is_null());
    EXPECT_EQ(request.at("auth_type"), json::value("oauth"));
    EXPECT_EQ(request.at("auth_provider"), json::value("google"));
    EXPECT_EQ(request.at("auth_session_started_at"), json::value("2018-10-23T13:00:00Z"));

    // The core recorded it: a version by dev with the values sent.
    const auto record = get_record(c, id);
    EXPECT_EQ(number(record, "version"), 2);
    EXPECT_EQ(text(record, "updated_by"), "dev");
    EXPECT_EQ(text(record, "auth_provider"), "google");
}

TEST(DocSpringSurface, GetAnswersTheSuccessEnvelope)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    auto first = c.get(surface_path(id));
    const auto before = success_data_request(first);
    EXPECT_EQ(first.header("ETag"), "\"1\"");
    EXPECT_EQ(before.at("state"), json::value("pending"));
    EXPECT_TRUE(before.at("auth_type").is_null());

    auto put = c.put(surface_path(id), example_body, curl_headers);
    const auto updated = success_data_request(put);
    auto read = c.get(surface_path(id));
    EXPECT_EQ(success_data_request(read), updated);
    EXPECT_EQ(read.header("ETag"), "\"2\"");
}

TEST(DocSpringSurface, BearerOrMissingCredentialsAre401Envelope)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    const auto before = get_record(c, id);

    auto bearer = srv.connect(); // the harness's default is Bearer dev.dev-secret
    for (const auto& r :
         {bearer.get(surface_path(id)), bearer.put(surface_path(id), example_body,
                                                   {{"Content-Type", "application/x-www-form-urlencoded"}})})
    {
        EXPECT_TRUE(is_error_envelope(r, 401));
        EXPECT_TRUE(starts_with(r.header("WWW-Authenticate"), "Basic")) << r;
    }
    auto anonymous = srv.connect();
    anonymous.set_credentials(std::nullopt);
    EXPECT_TRUE(is_error_envelope(anonymous.get(surface_path(id)), 401));
    auto wrong = srv.connect();
    wrong.set_credentials(
        std::pair<std::string, std::string>{"Authorization", "Basic " + base64("dev:wrong")});
    EXPECT_TRUE(is_error_envelope(wrong.put(surface_path(id), example_body), 401));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(DocSpringSurface, ViewedRequestCannotBeUpdated)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    auto viewed = move_natively(c, id, "viewed");
    ASSERT_EQ(viewed.status(), 200u) << viewed;

    const auto request = success_data_request(c.get(surface_path(id)));
    EXPECT_EQ(request.at("state"), json::value("viewed"));
    ASSERT_TRUE(request.at("viewed_at").is_string()) << json::serialize(request);
    EXPECT_TRUE(is_timestamp(request.at("viewed_at").as_string())) << json::serialize(request);
    EXPECT_TRUE(request.at("completed_at").is_null());

    const auto before = get_record(c, id);
    auto refused = c.put(surface_path(id), example_body, curl_headers);
    EXPECT_TRUE(is_error_envelope(refused, 422));
    EXPECT_TRUE(contains(std::string(refused.object().at("error").as_string()), "viewed")) << refused;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(DocSpringSurface, CompletedRequestHasCompletedAtAndCannotBeUpdated)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    // Entering completed requires auth_type.
    auto early = move_natively(c, id, "completed");
    EXPECT_EQ(early.status(), 422u) << early;
    success_data_request(c.put(surface_path(id), example_body, curl_headers));
    auto completed = move_natively(c, id, "completed");
    ASSERT_EQ(completed.status(), 200u) << completed;

    const auto request = success_data_request(c.get(surface_path(id)));
    EXPECT_EQ(request.at("state"), json::value("completed"));
    ASSERT_TRUE(request.at("completed_at").is_string()) << json::serialize(request);
    EXPECT_TRUE(is_timestamp(request.at("completed_at").as_string())) << json::serialize(request);

    const auto before = get_record(c, id);
    auto refused = c.put(surface_path(id), R"({"auth_provider":"github"})", curl_headers);
    EXPECT_TRUE(is_error_envelope(refused, 422));
    EXPECT_TRUE(contains(std::string(refused.object().at("error").as_string()), "completed")) << refused;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(DocSpringSurface, InvalidAuthTypeIs422WithErrors)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    const auto before = get_record(c, id);
    auto r =
        c.put(surface_path(id), R"({"auth_type":"carrier_pigeon","auth_provider":"google"})", curl_headers);
    EXPECT_TRUE(is_error_envelope(r, 422));
    EXPECT_EQ(error_pointers(r), std::vector<std::string>{"/auth_type"}) << r;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(DocSpringSurface, MemberItCannotSetIs422AndChangesNothing)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    const auto before = get_record(c, id);
    for (std::string_view member : {"email", "state", "viewed_at", "id", "color"})
    {
        const std::string body =
            R"({"auth_provider":"google",")" + std::string(member) + R"(":"x@example.com"})";
        auto r = c.put(surface_path(id), body, curl_headers);
        EXPECT_TRUE(is_error_envelope(r, 422)) << member;
        EXPECT_EQ(error_pointers(r), std::vector<std::string>{"/" + std::string(member)}) << r;
    }
    EXPECT_TRUE(unchanged(c, before));
    EXPECT_EQ(success_data_request(c.get(surface_path(id))).at("email"), json::value("jdoe@example.com"));
}

TEST(DocSpringSurface, IdOfTheWrongFormatIs400)
{
    server srv;
    auto c = basic_client(srv);
    for (std::string_view id : {"123", "req_00000000000000000000", "drq_!!"})
    {
        EXPECT_TRUE(is_error_envelope(c.get(surface_path(id)), 400)) << id;
        EXPECT_TRUE(is_error_envelope(c.put(surface_path(id), example_body, curl_headers), 400)) << id;
    }
}

TEST(DocSpringSurface, UnknownIdIs404Envelope)
{
    server srv;
    auto c = basic_client(srv);
    EXPECT_TRUE(is_error_envelope(c.get(surface_path(unknown_data_request)), 404));
    EXPECT_TRUE(
        is_error_envelope(c.put(surface_path(unknown_data_request), example_body, curl_headers), 404));
    // A record of another type is not a data request.
    auto other = create_record(c, {{"name", "generic"}});
    EXPECT_TRUE(is_error_envelope(c.get(surface_path(text(other, "id"))), 400));
}

TEST(DocSpringSurface, MalformedJsonIs400Envelope)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    const auto before = get_record(c, id);
    for (std::string_view body : {"{ \"auth_type\": ", "[\"oauth\"]", "auth_type=oauth"})
        EXPECT_TRUE(is_error_envelope(c.put(surface_path(id), body, curl_headers), 400)) << body;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(DocSpringSurface, StaleIfMatchIs412WithTheCurrentETag)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    success_data_request(c.put(surface_path(id), example_body, curl_headers));
    const auto before = get_record(c, id);
    header_list stale = curl_headers;
    stale.emplace_back("If-Match", "\"1\"");
    auto r = c.put(surface_path(id), R"({"auth_provider":"github"})", stale);
    EXPECT_TRUE(is_error_envelope(r, 412));
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    EXPECT_TRUE(unchanged(c, before));

    header_list current = curl_headers;
    current.emplace_back("If-Match", "\"2\"");
    const auto updated =
        success_data_request(c.put(surface_path(id), R"({"auth_provider":"github"})", current));
    EXPECT_EQ(updated.at("auth_provider"), json::value("github"));
}

TEST(DocSpringSurface, RouteAndMethodRefusalsAreEnvelopes)
{
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    auto deleted = c.del(surface_path(id));
    EXPECT_TRUE(is_error_envelope(deleted, 405));
    EXPECT_TRUE(contains(deleted.header("Allow"), "PUT")) << deleted;
    EXPECT_TRUE(is_error_envelope(c.get("/api/v1/data_requests"), 404));
    EXPECT_EQ(get_record(c, id).at("version"), json::value(1));
}

TEST(DocSpringSurface, ABodyItRefusesLosesToAMissingRecordAndAStaleIfMatch)
{
    // The contract's order (section 5): the record exists, then the preconditions, then the body.
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    EXPECT_TRUE(is_error_envelope(c.put(surface_path(unknown_data_request), "{not json"), 404));
    EXPECT_TRUE(is_error_envelope(c.put(surface_path(unknown_data_request), R"({"email":"x@y.z"})"), 404));
    auto stale = c.put(surface_path(id), R"({"email":"x@y.z"})", {{"If-Match", "\"7\""}});
    EXPECT_TRUE(is_error_envelope(stale, 412));
    EXPECT_EQ(stale.header("ETag"), "\"1\"");
    EXPECT_TRUE(
        is_error_envelope(c.put(surface_path(id), R"({"email":"x@y.z"})", {{"If-Match", "\"1\""}}), 422));
}

TEST(DocSpringSurface, AnUpdateThatChangesNothingIsStillRefusedOnceViewed)
{
    // DocSpring refuses every update of a request that is no longer pending, even one the core would
    // let pass as a no-op.
    server srv;
    auto c = basic_client(srv);
    const std::string id = create_data_request(c);
    ASSERT_EQ(c.put(surface_path(id), R"({"auth_type":"oauth"})").status(), 200u);
    ASSERT_EQ(c.patch("/v1/requests/" + id, R"({"status":"viewed"})").status(), 200u);
    const auto before = get_record(c, id);
    auto empty = c.put(surface_path(id), "{}");
    EXPECT_TRUE(is_error_envelope(empty, 422)) << empty;
    EXPECT_TRUE(contains(empty.body(), "Only pending data requests can be updated")) << empty;
    EXPECT_TRUE(is_error_envelope(c.put(surface_path(id), R"({"auth_type":"oauth"})"), 422));
    EXPECT_TRUE(unchanged(c, before));
}
