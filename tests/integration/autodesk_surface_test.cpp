// The Autodesk Data Connector requests surface (seed 002) against the real binary: the documented PATCH
// replayed as written, account ownership, 415, isActive as the state, projectIdList, the error format,
// preconditions, and the Data Connector callback body sent to callbackUrl on a state change.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "harness.hpp"
#include "webhook_support.hpp"

using namespace reqstore::test;
using namespace reqstore::test::hooks_it;

namespace
{

const std::string seed_id = "ce9bc188-1e18-11eb-adc1-0242ac120002";
const std::string seed_account = "f9abf4c8-1f51-4b26-a6b7-6ac0639cb138";
const std::string other_account = "0b8d2a7e-5c1f-4e0a-9d3b-2f6a7c8e9d10";
const std::string project_a = "ffffffff-1f51-4b26-a6b7-6ac0639cb138";
const std::string project_b = "aaaaaaaa-1f51-4b26-a6b7-6ac0639cb138";
// The server's callback secret when the config does not set one (src/app/config_defaults.cpp).
const std::string dev_callback_secret = "whsec_cmVxc3RvcmUtZGV2ZWxvcG1lbnQtY2FsbGJhY2trZXk=";

// The body of the documented example, byte for byte.
const std::string documented_body = R"({
"isActive": true,
"description": "My Company Data Extract",
"scheduleInterval": "ONE_TIME",
"reoccuringInterval": null,
"effectiveFrom": "2020-11-06T19:09:40.106Z",
"effectiveTo": "2020-11-12T19:09:40.106Z",
"serviceGroups": [
"admin",
"issues"
],
"callbackUrl": "https://api.mycompany.com/autodesk/jobinfo",
"sendEmail": true,
"projectId": null,
"projectIdList": "[ \"ffffffff-1f51-4b26-a6b7-6ac0639cb138\", \"aaaaaaaa-1f51-4b26-a6b7-6ac0639cb138\" ]",
"startDate": "2023-06-06T00:00:00.000Z",
"endDate": "2023-06-06T12:00:00.000Z"
})";

// The documented response.
const std::string documented_response = R"({
"id": "ce9bc188-1e18-11eb-adc1-0242ac120002",
"description": "My Company Data Extract",
"isActive": true,
"accountId": "f9abf4c8-1f51-4b26-a6b7-6ac0639cb138",
"projectId": null,
"projectIdList": "[ \"ffffffff-1f51-4b26-a6b7-6ac0639cb138\", \"aaaaaaaa-1f51-4b26-a6b7-6ac0639cb138\" ]",
"createdBy": "ABCDEFGHI",
"createdByEmail": "joe.user@mycompany.com",
"createdAt": "2020-11-06T19:09:40.106Z",
"updatedBy": "ABCDEFGHI",
"updatedAt": "2020-11-06T19:09:40.106Z",
"scheduleInterval": "ONE_TIME",
"reoccuringInterval": null,
"effectiveFrom": "2020-11-06T19:09:40.106Z",
"effectiveTo": "2020-11-12T19:09:40.106Z",
"lastQueuedAt": null,
"serviceGroups": [
"admin",
"issues"
],
"callbackUrl": "https://api.mycompany.com/autodesk/jobinfo",
"sendEmail": true,
"startDate": "2023-06-06T00:00:00.000Z",
"endDate": "2023-06-06T12:00:00.000Z",
"dateRange": "LAST_MONTH",
"projectStatus": "active"
})";

std::string surface_path(std::string_view account, std::string_view id)
{
    return "/data-connector/v1/accounts/" + std::string(account) + "/requests/" + std::string(id);
}

const header_list json_type{{"Content-Type", "application/json"}};

// Creates a request natively under `id` (PUT with If-None-Match: *); returns the native record.
json::object create_request(client& c, std::string_view id, std::string_view account,
                            const json::object& extra = {})
{
    json::object body{{"type", "autodesk_data_request"}, {"account_id", account}};
    for (const auto& m : extra)
        body[m.key()] = m.value();
    auto r = c.put(path_of(id), to_json(body), {{"If-None-Match", "*"}});
    if (r.status() != 201)
        throw std::runtime_error("creating " + std::string(id) + " failed:\n" + describe(r));
    return r.object();
}

// The request as the documented example's account created it, with the members only the
// service sets filled in natively.
json::object create_seed_request(client& c)
{
    return create_request(c, seed_id, seed_account,
                          {{"created_by_email", "joe.user@mycompany.com"},
                           {"date_range", "LAST_MONTH"},
                           {"project_status", "active"}});
}

response patch_surface(client& c, std::string_view account, std::string_view id, const json::object& body,
                       const header_list& headers = json_type)
{
    return c.patch(surface_path(account, id), to_json(body), headers);
}

// The answer is in the surface's error format with this status and errorCode; returns its body.
testing::AssertionResult is_autodesk_error(const response& r, unsigned status, std::string_view code)
{
    if (r.status() != status)
        return testing::AssertionFailure() << "status " << r.status() << ", expected " << status << "\n"
                                           << describe(r);
    if (!starts_with(r.header("Content-Type"), "application/json"))
        return testing::AssertionFailure() << "not JSON:\n" << describe(r);
    json::object o;
    try
    {
        o = r.object();
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
    for (const char* member : {"developerMessage", "errorCode", "moreInfo"})
        if (!o.contains(member) || !o.at(member).is_string())
            return testing::AssertionFailure() << "no string member " << member << ":\n" << describe(r);
    if (o.at("errorCode").get_string() != code)
        return testing::AssertionFailure() << "errorCode " << o.at("errorCode") << ", expected " << code;
    if (o.contains("type") || o.contains("title"))
        return testing::AssertionFailure() << "a problem document, not Autodesk's format:\n" << describe(r);
    return testing::AssertionSuccess();
}

// The camelCase field names of an error answer's `errors` list.
std::vector<std::string> error_fields(const response& r)
{
    std::vector<std::string> out;
    const auto o = r.object();
    if (const auto* errors = o.if_contains("errors"))
        for (const auto& e : errors->as_array())
            out.push_back(text(e.as_object(), "field"));
    return out;
}

} // namespace

TEST(AutodeskSurface, DocumentedPatchReplayedAsWrittenAnswersTheDocumentedRequestObject)
{
    server srv;
    auto c = srv.connect();
    create_seed_request(c);

    auto r = c.patch(surface_path(seed_account, seed_id), documented_body,
                     {{"Authorization", "Bearer dev.dev-secret"}, {"Content-Type", "application/json"}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/json")) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(2)) << r;
    const auto got = r.object();
    const auto documented = parse_json(documented_response).as_object();

    // Every documented member, in the documented order, and nothing else.
    EXPECT_EQ(keys_of(got), keys_of(documented)) << to_json(got);
    // The members the service or the caller's identity set differ by nature; the rest are as documented,
    // except projectIdList, which the response structure documents as an array.
    for (const auto& m : documented)
    {
        const std::string name(m.key());
        if (name == "createdBy" || name == "updatedBy" || name == "createdAt" || name == "updatedAt" ||
            name == "projectIdList")
            continue;
        EXPECT_EQ(got.at(name), m.value()) << name << " in " << to_json(got);
    }
    EXPECT_EQ(got.at("projectIdList"), (json::array{project_a, project_b})) << to_json(got);
    EXPECT_EQ(got.at("isActive"), json::value(true));
    EXPECT_EQ(text(got, "createdBy"), "dev");
    EXPECT_EQ(text(got, "updatedBy"), "dev");
    EXPECT_TRUE(is_timestamp(text(got, "createdAt"))) << to_json(got);
    EXPECT_TRUE(is_timestamp(text(got, "updatedAt"))) << to_json(got);

    // The native record holds the snake_case attributes, the list as an array, and the state.
    const auto native = get_record(c, seed_id);
    EXPECT_EQ(text(native, "status"), "active");
    EXPECT_EQ(native.at("project_id_list"), (json::array{project_a, project_b}));
    EXPECT_TRUE(native.at("project_id").is_null());
    EXPECT_TRUE(native.at("reoccuring_interval").is_null());
    EXPECT_EQ(text(native, "description"), "My Company Data Extract");
    EXPECT_EQ(text(native, "callback_url"), "https://api.mycompany.com/autodesk/jobinfo");
    EXPECT_EQ(native.at("service_groups"), (json::array{"admin", "issues"}));
    EXPECT_EQ(number(native, "version"), 2);

    // The same PATCH again changes nothing and commits no version.
    r = c.patch(surface_path(seed_account, seed_id), documented_body, json_type);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(2));
    EXPECT_EQ(r.object(), got);
}

TEST(AutodeskSurface, GetAnswersTheRequestObjectOfTheRecord)
{
    server srv;
    auto c = srv.connect();
    const auto native = create_seed_request(c);

    auto r = c.get(surface_path(seed_account, seed_id));
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(1));
    const auto got = r.object();
    EXPECT_EQ(keys_of(got), keys_of(parse_json(documented_response).as_object())) << to_json(got);
    EXPECT_EQ(text(got, "id"), seed_id);
    EXPECT_EQ(text(got, "accountId"), seed_account);
    EXPECT_EQ(got.at("isActive"), json::value(true));
    EXPECT_EQ(text(got, "scheduleInterval"), "ONE_TIME"); // the type's default
    EXPECT_EQ(got.at("sendEmail"), json::value(true));
    EXPECT_EQ(got.at("serviceGroups"), json::array{});
    EXPECT_TRUE(got.at("projectIdList").is_null());
    EXPECT_TRUE(got.at("lastQueuedAt").is_null());
    EXPECT_EQ(text(got, "createdAt"), text(native, "created_at"));
    EXPECT_EQ(text(got, "createdByEmail"), "joe.user@mycompany.com");
    EXPECT_EQ(text(got, "dateRange"), "LAST_MONTH");
    EXPECT_EQ(text(got, "projectStatus"), "active");

    // The account id is compared without regard to case.
    std::string upper = seed_account;
    for (auto& ch : upper)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    r = c.get(surface_path(upper, seed_id));
    EXPECT_EQ(r.status(), 200u) << r;

    // A record of another type under a UUID id is not this surface's.
    const std::string other_type = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
    auto created = c.put(path_of(other_type), R"({"type":"jsonapi_request"})", {{"If-None-Match", "*"}});
    ASSERT_EQ(created.status(), 201u) << created;
    EXPECT_TRUE(is_autodesk_error(c.get(surface_path(seed_account, other_type)), 404, "NOT_FOUND"));
}

TEST(AutodeskSurface, AnotherAccountInThePathIsNotFoundAndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    const auto before = create_seed_request(c);

    EXPECT_TRUE(is_autodesk_error(c.get(surface_path(other_account, seed_id)), 404, "NOT_FOUND"));
    auto r = patch_surface(c, other_account, seed_id, {{"description", "taken over"}, {"isActive", false}});
    EXPECT_TRUE(is_autodesk_error(r, 404, "NOT_FOUND"));
    EXPECT_FALSE(contains(r.body(), "taken over")) << r;
    EXPECT_TRUE(unchanged(c, before));

    // A request id that names nothing is not found either.
    const std::string missing = "00000000-0000-4000-8000-000000000000";
    EXPECT_TRUE(is_autodesk_error(c.get(surface_path(seed_account, missing)), 404, "NOT_FOUND"));
    EXPECT_TRUE(
        is_autodesk_error(patch_surface(c, seed_account, missing, {{"description", "x"}}), 404, "NOT_FOUND"));
}

TEST(AutodeskSurface, IdsThatAreNotUuidsAreBadRequests)
{
    server srv;
    auto c = srv.connect();
    const auto before = create_seed_request(c);

    // requestId: the type's format is a lower-case UUID.
    for (const std::string& id :
         std::vector<std::string>{"123", "drq_00000000000000000000", "CE9BC188-1E18-11EB-ADC1-0242AC120002",
                                  "ce9bc188-1e18-11eb-adc1-0242ac12000"})
    {
        auto r = c.get(surface_path(seed_account, id));
        EXPECT_TRUE(is_autodesk_error(r, 400, "INVALID_ID")) << id;
        EXPECT_EQ(error_fields(r), std::vector<std::string>{"requestId"}) << r;
        r = patch_surface(c, seed_account, id, {{"description", "x"}});
        EXPECT_TRUE(is_autodesk_error(r, 400, "INVALID_ID")) << id;
    }
    // accountId: a UUID, in either case; b.-prefixed hub ids are not account ids.
    for (const std::string& account : std::vector<std::string>{"b." + seed_account, "not-a-uuid", "12345"})
    {
        auto r = c.get(surface_path(account, seed_id));
        EXPECT_TRUE(is_autodesk_error(r, 400, "INVALID_ID")) << account;
        EXPECT_EQ(error_fields(r), std::vector<std::string>{"accountId"}) << r;
        r = patch_surface(c, account, seed_id, {{"description", "x"}});
        EXPECT_TRUE(is_autodesk_error(r, 400, "INVALID_ID")) << account;
    }
    EXPECT_TRUE(unchanged(c, before));
}

TEST(AutodeskSurface, BodiesNotLabelledJsonAreUnsupportedMediaAndChangeNothing)
{
    server srv;
    auto c = srv.connect();
    const auto before = create_seed_request(c);
    const std::string body = R"({"description":"changed"})";

    auto r = c.patch(surface_path(seed_account, seed_id), body, {{"Content-Type", "text/plain"}});
    EXPECT_TRUE(is_autodesk_error(r, 415, "UNSUPPORTED_MEDIA_TYPE"));
    EXPECT_EQ(r.header("Accept-Patch"), "application/json");
    // curl's -d label, which the DocSpring and Box surfaces tolerate, is refused here.
    r = c.patch(surface_path(seed_account, seed_id), body,
                {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_TRUE(is_autodesk_error(r, 415, "UNSUPPORTED_MEDIA_TYPE"));
    // Judged before the body: a body that is not JSON at all is still 415.
    r = c.patch(surface_path(seed_account, seed_id), "description=changed", {{"Content-Type", "text/plain"}});
    EXPECT_TRUE(is_autodesk_error(r, 415, "UNSUPPORTED_MEDIA_TYPE"));

    // No Content-Type at all (the test client would add one, so the request is written by hand).
    const std::string raw = "PATCH " + surface_path(seed_account, seed_id) +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
                            "Content-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    client raw_client = srv.connect();
    ASSERT_TRUE(raw_client.send_raw(raw));
    EXPECT_TRUE(is_autodesk_error(raw_client.read_response(), 415, "UNSUPPORTED_MEDIA_TYPE"));
    EXPECT_TRUE(unchanged(c, before));

    // Parameters and case are allowed.
    r = c.patch(surface_path(seed_account, seed_id), body,
                {{"Content-Type", "Application/JSON; charset=utf-8"}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "description"), "changed");
    // Labelled JSON but malformed: 400.
    r = c.patch(surface_path(seed_account, seed_id), "{\"description\":", json_type);
    EXPECT_TRUE(is_autodesk_error(r, 400, "MALFORMED_JSON"));
}

TEST(AutodeskSurface, IsActiveIsTheRecordsState)
{
    server srv;
    auto c = srv.connect();
    create_seed_request(c);

    auto r = patch_surface(c, seed_account, seed_id, {{"isActive", false}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("isActive"), json::value(false));
    EXPECT_EQ(text(get_record(c, seed_id), "status"), "inactive");

    r = patch_surface(c, seed_account, seed_id, {{"isActive", true}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("isActive"), json::value(true));
    EXPECT_EQ(text(get_record(c, seed_id), "status"), "active");

    // A change made natively shows through the surface.
    patch_record(c, seed_id, {{"status", "inactive"}});
    r = c.get(surface_path(seed_account, seed_id));
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("isActive"), json::value(false));

    // Anything but a boolean is refused, naming isActive, and changes nothing.
    const auto before = get_record(c, seed_id);
    for (const json::value& v : {json::value("true"), json::value(1), json::value(nullptr)})
    {
        r = patch_surface(c, seed_account, seed_id, {{"isActive", v}, {"description", "x"}});
        EXPECT_TRUE(is_autodesk_error(r, 400, "VALIDATION_FAILED")) << to_json(v);
        EXPECT_EQ(error_fields(r), std::vector<std::string>{"isActive"}) << r;
    }
    EXPECT_TRUE(unchanged(c, before));
}

TEST(AutodeskSurface, ProjectIdListIsAnArrayOfAtMostFiftyUuids)
{
    server srv;
    auto c = srv.connect();
    create_seed_request(c);

    // As an array.
    auto r = patch_surface(c, seed_account, seed_id, {{"projectIdList", json::array{project_b}}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("projectIdList"), json::array{project_b});
    EXPECT_EQ(get_record(c, seed_id).at("project_id_list"), json::array{project_b});

    // As a string holding an array, as the documentation sends it.
    r = patch_surface(c, seed_account, seed_id, {{"projectIdList", "[\"" + project_a + "\"]"}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("projectIdList"), json::array{project_a});

    // Fifty is the most.
    json::array fifty;
    for (int i = 0; i < 50; ++i)
    {
        char id[37];
        std::snprintf(id, sizeof id, "%08d-1f51-4b26-a6b7-6ac0639cb138", i);
        fifty.push_back(json::string(id));
    }
    r = patch_surface(c, seed_account, seed_id, {{"projectIdList", fifty}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("projectIdList").as_array().size(), 50u);

    const auto before = get_record(c, seed_id);
    json::array fifty_one = fifty;
    fifty_one.push_back(json::string(project_a));
    const std::vector<json::value> refused{
        fifty_one,                            // too many
        json::value(to_json(fifty_one)),      // too many, as a string
        json::value("not a list"),            // a string that is not JSON
        json::value("{\"a\": 1}"),            // a string holding something else
        json::value("\"" + project_a + "\""), // a string holding one id
        json::array{"not-a-uuid"},            // an entry that is no UUID
        json::array{project_a, 7},            // an entry that is no string
        json::value(42),                      // not a list at all
    };
    for (const auto& v : refused)
    {
        r = patch_surface(c, seed_account, seed_id, {{"projectIdList", v}});
        EXPECT_TRUE(is_autodesk_error(r, 400, "VALIDATION_FAILED")) << to_json(v);
        EXPECT_EQ(error_fields(r), std::vector<std::string>{"projectIdList"}) << r;
    }
    EXPECT_TRUE(unchanged(c, before));

    // projectId, the legacy single id, may be null or a UUID.
    r = patch_surface(c, seed_account, seed_id, {{"projectId", project_a}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "projectId"), project_a);
    r = patch_surface(c, seed_account, seed_id, {{"projectId", nullptr}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(r.object().at("projectId").is_null());
}

TEST(AutodeskSurface, ReadOnlyUnknownAndInvalidMembersAreRefusedByTheirCamelCaseNames)
{
    server srv;
    auto c = srv.connect();
    const auto before = create_seed_request(c);

    for (const char* member : {"accountId", "createdBy", "id", "createdAt", "lastQueuedAt", "dateRange"})
    {
        auto r = patch_surface(c, seed_account, seed_id, {{member, "x"}, {"description", "y"}});
        EXPECT_TRUE(is_autodesk_error(r, 400, "VALIDATION_FAILED")) << member;
        EXPECT_EQ(error_fields(r), std::vector<std::string>{member}) << r;
    }
    // Native names and unknown members are not fields of this API.
    for (const char* member : {"account_id", "status", "schedule_interval", "reoccurringInterval"})
    {
        auto r = patch_surface(c, seed_account, seed_id, {{member, "x"}});
        EXPECT_TRUE(is_autodesk_error(r, 400, "VALIDATION_FAILED")) << member;
        EXPECT_EQ(error_fields(r), std::vector<std::string>{member}) << r;
    }
    // The type's own rules, reported under the camelCase names, every one at once.
    auto r = patch_surface(c, seed_account, seed_id,
                           {{"scheduleInterval", "HOURLY"},
                            {"reoccuringInterval", 0},
                            {"effectiveFrom", "yesterday"},
                            {"sendEmail", "yes"},
                            {"callbackUrl", "ftp://example.com/x"}});
    EXPECT_TRUE(is_autodesk_error(r, 400, "VALIDATION_FAILED"));
    auto fields = error_fields(r);
    std::sort(fields.begin(), fields.end());
    EXPECT_EQ(fields, (std::vector<std::string>{"callbackUrl", "effectiveFrom", "reoccuringInterval",
                                                "scheduleInterval", "sendEmail"}))
        << r;
    // A body that is not an object.
    r = c.patch(surface_path(seed_account, seed_id), "[]", json_type);
    EXPECT_TRUE(is_autodesk_error(r, 400, "MALFORMED_JSON"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(AutodeskSurface, RefusalsOutsideTheHandlersUseTheAutodeskFormat)
{
    server srv;
    auto c = srv.connect();
    const auto before = create_seed_request(c);
    const std::string path = surface_path(seed_account, seed_id);

    // Basic credentials, valid ones included, are not this API's.
    const std::string basic = "Basic " + base64("dev:dev-secret");
    auto r = c.get(path, {{"Authorization", basic}});
    EXPECT_TRUE(is_autodesk_error(r, 401, "AUTH-012"));
    EXPECT_TRUE(starts_with(r.header("WWW-Authenticate"), "Bearer")) << r;
    r = c.patch(path, R"({"description":"x"})",
                {{"Authorization", basic}, {"Content-Type", "application/json"}});
    EXPECT_TRUE(is_autodesk_error(r, 401, "AUTH-012"));
    r = c.get(path, {{"X-API-Key", "dev.dev-secret"}});
    EXPECT_TRUE(is_autodesk_error(r, 401, "AUTH-012"));
    // A wrong Bearer token.
    r = c.get(path, {{"Authorization", "Bearer dev.wrong"}});
    EXPECT_TRUE(is_autodesk_error(r, 401, "AUTH-006"));
    // An unknown route and a method the route does not have.
    r = c.get("/data-connector/v1/accounts/" + seed_account + "/jobs");
    EXPECT_TRUE(is_autodesk_error(r, 404, "NOT_FOUND"));
    r = c.del(path);
    EXPECT_TRUE(is_autodesk_error(r, 405, "METHOD_NOT_ALLOWED"));
    EXPECT_TRUE(contains(r.header("Allow"), "PATCH")) << r;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(AutodeskSurface, MissingScopeIsForbiddenInTheAutodeskFormat)
{
    // The dev key, and a key that may only read (its secret is "reader-secret").
    server_options options;
    options.config = R"({"auth":{"keys":[{"id":"dev","secret_sha256":)"
                     R"("298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",)"
                     R"("scopes":["requests:read","requests:write","webhooks:manage","admin"]},)"
                     R"({"id":"reader","secret_sha256":)"
                     R"("f03319dee240faa729e0cfa7ab5ffd80a1d64a127e3643f239009abff6382914",)"
                     R"("scopes":["requests:read"]}]}})";
    server srv(options);
    auto c = srv.connect();
    const auto before = create_seed_request(c);
    const header_list reader{{"Authorization", "Bearer reader.reader-secret"}};

    auto r = c.get(surface_path(seed_account, seed_id), reader);
    EXPECT_EQ(r.status(), 200u) << r;
    header_list write = reader;
    write.emplace_back("Content-Type", "application/json");
    r = patch_surface(c, seed_account, seed_id, {{"description", "x"}}, write);
    EXPECT_TRUE(is_autodesk_error(r, 403, "AUTH-010"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(AutodeskSurface, StaleIfMatchIsPreconditionFailed)
{
    server srv;
    auto c = srv.connect();
    create_seed_request(c);
    auto r = patch_surface(c, seed_account, seed_id, {{"description", "v2"}});
    ASSERT_EQ(r.status(), 200u) << r;
    const auto before = get_record(c, seed_id);

    header_list stale = json_type;
    stale.emplace_back("If-Match", etag_of(1));
    r = patch_surface(c, seed_account, seed_id, {{"description", "v3"}}, stale);
    EXPECT_TRUE(is_autodesk_error(r, 412, "PRECONDITION_FAILED"));
    EXPECT_EQ(r.header("ETag"), etag_of(2)) << r;
    EXPECT_TRUE(unchanged(c, before));

    // The current one, quoted or bare, goes through.
    header_list current = json_type;
    current.emplace_back("If-Match", "2");
    r = patch_surface(c, seed_account, seed_id, {{"description", "v3"}}, current);
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), etag_of(3));
    EXPECT_EQ(text(r.object(), "description"), "v3");
}

TEST(AutodeskSurface, MissingIfMatchIs428BeforeTheBodyIsJudged)
{
    // With require_if_match, step 3 of the contract's order (428) comes before the media type (415).
    server_options o;
    o.config = R"({"require_if_match": true})";
    server srv(o);
    auto c = srv.connect();
    create_seed_request(c);
    const auto before = get_record(c, seed_id);
    auto r = c.request(http::verb::patch, surface_path(seed_account, seed_id), R"({"description":"v2"})",
                       {{"Content-Type", "text/plain"}});
    EXPECT_TRUE(is_autodesk_error(r, 428, "PRECONDITION_REQUIRED"));
    r = patch_surface(c, seed_account, seed_id, {{"description", "v2"}});
    EXPECT_TRUE(is_autodesk_error(r, 428, "PRECONDITION_REQUIRED"));
    EXPECT_TRUE(unchanged(c, before));
    header_list current = json_type;
    current.emplace_back("If-Match", etag_of(1));
    EXPECT_EQ(patch_surface(c, seed_account, seed_id, {{"description", "v2"}}, current).status(), 200u);
}

TEST(AutodeskSurface, StateChangePostsTheDataConnectorCallbackBodyToCallbackUrl)
{
    temp_dir dir;
    recorder rec(dir);
    server srv(hook_server());
    auto c = srv.connect();
    const std::string secret = fresh_secret();
    const std::string base = "http://127.0.0.1:" + std::to_string(rec.port());
    subscribe(c, base + "/subscription", {"request.status_changed"}, secret,
              json::array{"autodesk_data_request"});

    const auto created = create_request(c, "7d5f0a3e-8c2b-4f61-9e47-1a2b3c4d5e6f", seed_account);
    const std::string id = text(created, "id");
    auto r = patch_surface(c, seed_account, id, {{"callbackUrl", base + "/jobinfo"}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "callbackUrl"), base + "/jobinfo");
    r = patch_surface(c, seed_account, id, {{"isActive", false}}); // v3
    ASSERT_EQ(r.status(), 200u) << r;
    r = patch_surface(c, seed_account, id, {{"isActive", true}}); // v4
    ASSERT_EQ(r.status(), 200u) << r;

    const auto at = [&](std::string_view path)
    {
        std::vector<recorded> out;
        for (auto& got : rec.requests())
            if (got.path == path)
                out.push_back(std::move(got));
        return out;
    };
    ASSERT_TRUE(eventually([&] { return at("/jobinfo").size() >= 2 && at("/subscription").size() >= 2; }))
        << "server log:\n"
        << srv.log();

    // Each change feed entry of a state change, by version.
    std::map<std::int64_t, std::int64_t> seq_of_version;
    for (const auto& e : whole_feed(c))
        if (text(e, "id") == id && text(e, "event") == "request.status_changed")
            seq_of_version[number(e, "version")] = number(e, "seq");
    ASSERT_EQ(seq_of_version.size(), 2u);

    const auto callbacks = at("/jobinfo");
    ASSERT_EQ(callbacks.size(), 2u);
    const std::vector<std::pair<std::int64_t, std::string>> expected{{3, "inactive"}, {4, "active"}};
    for (std::size_t i = 0; i < callbacks.size(); ++i)
    {
        const auto& got = callbacks[i];
        EXPECT_EQ(got.method, "POST");
        const std::string webhook_id = got.header("webhook-id");
        EXPECT_EQ(webhook_id, "evt_" + std::to_string(seq_of_version.at(expected[i].first)));
        const auto body = parse_json(got.body).as_object();
        EXPECT_EQ(keys_of(body),
                  (std::vector<std::string>{"accountId", "requestId", "jobId", "state", "success"}))
            << got.body;
        EXPECT_EQ(body, (json::object{{"accountId", seed_account},
                                      {"requestId", id},
                                      {"jobId", webhook_id},
                                      {"state", expected[i].second},
                                      {"success", true}}))
            << got.body;
        EXPECT_TRUE(signature_matches(
            got.header("webhook-signature"),
            expected_signature(dev_callback_secret, webhook_id, got.header("webhook-timestamp"), got.body)))
            << "not signed with the callback secret: " << got.header("webhook-signature");
    }

    // The subscription still gets the standard body, signed with its own secret.
    const auto standard = at("/subscription");
    ASSERT_EQ(standard.size(), 2u);
    for (std::size_t i = 0; i < standard.size(); ++i)
    {
        const auto& got = standard[i];
        const auto body = parse_json(got.body).as_object();
        EXPECT_EQ(text(body, "type"), "request.status_changed") << got.body;
        const auto& data = body.at("data").as_object();
        EXPECT_EQ(text(data, "id"), id);
        EXPECT_EQ(text(data, "to"), expected[i].second);
        EXPECT_EQ(number(data, "version"), expected[i].first);
        EXPECT_EQ(text(data.at("request").as_object(), "account_id"), seed_account);
        EXPECT_FALSE(body.contains("jobId")) << got.body;
        EXPECT_TRUE(signature_matches(
            got.header("webhook-signature"),
            expected_signature(secret, got.header("webhook-id"), got.header("webhook-timestamp"), got.body)));
    }
}
