// The Box file requests surface (docs/SURFACES.md "Box file requests", seed 001): the documented curl
// example replayed as written, bare etags in If-Match, Box's error object for every refusal, the
// automatic move to inactive, and the same records, versions and events as the native API.
#include <thread>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
using wall = std::chrono::system_clock;

constexpr std::string_view example_id = "42037322";
const std::string example_path = "/2.0/file_requests/42037322";

// The body of the seed's curl example, byte for byte as `-d` sends it.
constexpr std::string_view example_body = R"({
           "title": "Please upload required documents",
           "description": "Please upload required documents",
           "status": "active",
           "is_email_required": true,
           "is_description_required": false
         })";

// What curl sends with -d and no -H Content-Type.
const header_list form_label{{"Content-Type", "application/x-www-form-urlencoded"}};

header_list with_form(header_list headers)
{
    headers.insert(headers.end(), form_label.begin(), form_label.end());
    return headers;
}

// Creates a file request under `id` through the native API, as in Box's response example.
json::object create_file_request(client& c, std::string_view id, json::object extra = {})
{
    json::object body{{"type", "box_file_request"},
                      {"title", "Please upload documents"},
                      {"description", "Following documents are requested for your process"},
                      {"is_description_required", true},
                      {"is_email_required", true},
                      {"expires_at", "2099-09-28T10:53:43-08:00"},
                      {"folder", json::object{{"id", "12345"},
                                              {"type", "folder"},
                                              {"etag", "1"},
                                              {"name", "Contracts"},
                                              {"sequence_id", "3"}}},
                      {"url", "/f/19e57f40ace247278a8e3d336678c64a"}};
    for (const auto& member : extra)
        body[member.key()] = member.value();
    auto r = c.put(path_of(id), json::serialize(body), {{"If-None-Match", "*"}});
    if (r.status() != 201)
        throw std::runtime_error("native create failed:\n" + describe(r));
    return r.object();
}

std::string box_path(std::string_view id)
{
    return "/2.0/file_requests/" + std::string(id);
}

// Box's error object: {"type":"error","status","code","message","request_id"} with the answer's status
// and the request id of the X-Request-Id header.
testing::AssertionResult is_box_error(const response& r, unsigned status, std::string_view code)
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
    const auto* type = body.if_contains("type");
    const auto* st = body.if_contains("status");
    const auto* cd = body.if_contains("code");
    const auto* message = body.if_contains("message");
    const auto* request_id = body.if_contains("request_id");
    if (!type || *type != json::value("error"))
        return testing::AssertionFailure() << "type is not \"error\": " << r.body();
    if (!st || !st->is_int64() || st->as_int64() != static_cast<std::int64_t>(status))
        return testing::AssertionFailure() << "status member is not " << status << ": " << r.body();
    if (!cd || !cd->is_string() || cd->as_string() != code)
        return testing::AssertionFailure() << "code is not " << code << ": " << r.body();
    if (!message || !message->is_string() || message->as_string().empty())
        return testing::AssertionFailure() << "no message: " << r.body();
    if (!request_id || !request_id->is_string() || request_id->as_string() != r.header("X-Request-Id"))
        return testing::AssertionFailure() << "request_id is not the X-Request-Id header: " << describe(r);
    return testing::AssertionSuccess();
}

// The `name` of every context_info.errors entry (reason invalid_parameter, with a message), in order.
std::vector<std::string> error_names(const response& r)
{
    std::vector<std::string> names;
    const auto body = r.object();
    const auto* info = body.if_contains("context_info");
    if (!info || !info->is_object() || !info->as_object().contains("errors"))
        return names;
    for (const auto& e : info->as_object().at("errors").as_array())
    {
        const auto& entry = e.as_object();
        if (entry.at("reason") != json::value("invalid_parameter") || !entry.at("message").is_string())
            throw std::runtime_error("malformed context_info entry: " + json::serialize(entry));
        names.emplace_back(entry.at("name").as_string());
    }
    return names;
}

std::string message_of(const response& r, std::string_view name)
{
    const auto body = r.object();
    for (const auto& e : body.at("context_info").at("errors").as_array())
        if (e.at("name") == json::value(name))
            return std::string(e.at("message").as_string());
    return {};
}

testing::AssertionResult is_user(const json::value& v, std::string_view key_id)
{
    const json::object expected{{"id", key_id}, {"type", "user"}, {"login", key_id}, {"name", key_id}};
    if (v != json::value(expected))
        return testing::AssertionFailure()
               << "not the user object of " << key_id << ": " << json::serialize(v);
    return testing::AssertionSuccess();
}

client as(const server& srv, std::optional<std::pair<std::string, std::string>> credentials)
{
    auto c = srv.connect();
    c.set_credentials(std::move(credentials));
    return c;
}

// dev (every scope), reader (requests:read only) and slow (a burst of 2, then 1 a second), all with
// the dev secret.
server_options with_reader_key()
{
    server_options o;
    o.config = R"({"auth":{"keys":[
  {"id":"dev","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["admin"]},
  {"id":"reader","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["requests:read"]},
  {"id":"slow","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["admin"],"rate_limit":{"per_second":1,"burst":2}}]}})";
    return o;
}

// Polls the surface until the file request's status is `status` or `within` passes; returns the last
// object read.
json::object wait_for_status(client& c, std::string_view id, std::string_view status, millis within)
{
    const auto deadline = steady::now() + within;
    for (;;)
    {
        auto r = c.get(box_path(id));
        if (r.status() != 200)
            throw std::runtime_error("GET failed:\n" + describe(r));
        auto object = r.object();
        if (text(object, "status") == status || steady::now() >= deadline)
            return object;
        std::this_thread::sleep_for(50ms);
    }
}

json::array feed_after(client& c, std::int64_t after)
{
    auto r = c.get("/v1/events?limit=1000&after=" + std::to_string(after));
    if (r.status() != 200)
        throw std::runtime_error("feed failed:\n" + describe(r));
    return r.object().at("data").as_array();
}

std::int64_t feed_end(client& c)
{
    std::int64_t last = 0;
    for (const auto& e : feed_after(c, 0))
        last = std::max(last, e.at("seq").to_number<std::int64_t>());
    return last;
}
} // namespace

TEST(BoxSurface, DocumentedExampleRequestAnswersTheFileRequestObject)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);

    // The curl example as written: lower-case authorization, -d body, curl's form label.
    auto r = c.put(example_path, example_body,
                   with_form({{"authorization", std::string("Bearer dev.dev-secret")}}));
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(starts_with(r.header("Content-Type"), "application/json")) << r;
    EXPECT_EQ(r.header("ETag"), "\"2\"");
    const auto object = r.object();
    // Every member of the documented response example, in its order.
    const std::vector<std::string> documented{"id",
                                              "type",
                                              "created_at",
                                              "created_by",
                                              "description",
                                              "etag",
                                              "expires_at",
                                              "folder",
                                              "is_description_required",
                                              "is_email_required",
                                              "status",
                                              "title",
                                              "updated_at",
                                              "updated_by",
                                              "url"};
    EXPECT_EQ(keys_of(object), documented);
    EXPECT_EQ(object.at("id"), json::value("42037322"));
    EXPECT_EQ(object.at("type"), json::value("file_request"));
    EXPECT_TRUE(is_timestamp(text(object, "created_at"))) << object;
    EXPECT_TRUE(is_timestamp(text(object, "updated_at"))) << object;
    EXPECT_TRUE(is_user(object.at("created_by"), "dev"));
    EXPECT_TRUE(is_user(object.at("updated_by"), "dev"));
    EXPECT_EQ(object.at("etag"), json::value("2")); // Box's bare form, never "\"2\""
    EXPECT_TRUE(object.at("expires_at").is_string()) << object;
    ASSERT_TRUE(object.at("folder").is_object()) << object;
    EXPECT_EQ(object.at("folder").at("id"), json::value("12345"));
    EXPECT_EQ(object.at("url"), json::value("/f/19e57f40ace247278a8e3d336678c64a"));
    // The example body's values replaced the stored ones.
    EXPECT_EQ(object.at("title"), json::value("Please upload required documents"));
    EXPECT_EQ(object.at("description"), json::value("Please upload required documents"));
    EXPECT_EQ(object.at("status"), json::value("active"));
    EXPECT_EQ(object.at("is_email_required"), json::value(true));
    EXPECT_EQ(object.at("is_description_required"), json::value(false));
}

TEST(BoxSurface, GetAnswersTheCurrentFileRequest)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    auto read = c.get(example_path);
    ASSERT_EQ(read.status(), 200u) << read;
    EXPECT_EQ(read.header("ETag"), "\"1\"");
    EXPECT_EQ(read.object().at("etag"), json::value("1"));
    EXPECT_EQ(read.object().at("title"), json::value("Please upload documents"));

    auto put = c.put(example_path, example_body, form_label);
    ASSERT_EQ(put.status(), 200u) << put;
    auto again = c.get(example_path);
    ASSERT_EQ(again.status(), 200u) << again;
    EXPECT_EQ(again.object(), put.object());
    EXPECT_EQ(again.header("ETag"), "\"2\"");
    EXPECT_EQ(c.head(example_path).status(), 200u);
}

TEST(BoxSurface, BareIfMatchIsACompareAndSwap)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);

    auto current = c.put(example_path, R"({"title":"First"})", with_form({{"If-Match", "1"}}));
    ASSERT_EQ(current.status(), 200u) << current;
    EXPECT_EQ(current.object().at("etag"), json::value("2"));
    EXPECT_EQ(current.header("ETag"), "\"2\"");

    const auto before = get_record(c, example_id);
    auto stale = c.put(example_path, R"({"title":"Second"})", with_form({{"If-Match", "1"}}));
    EXPECT_TRUE(is_box_error(stale, 412, "precondition_failed"));
    EXPECT_EQ(stale.header("ETag"), "\"2\"");
    EXPECT_TRUE(unchanged(c, before));
    EXPECT_EQ(c.get(example_path).object().at("title"), json::value("First"));
}

TEST(BoxSurface, QuotedIfMatchWorksToo)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    auto current = c.put(example_path, R"({"title":"First"})", {{"If-Match", "\"1\""}});
    ASSERT_EQ(current.status(), 200u) << current;
    EXPECT_EQ(current.object().at("etag"), json::value("2"));

    const auto before = get_record(c, example_id);
    auto stale = c.put(example_path, R"({"title":"Second"})", {{"If-Match", "\"1\""}});
    EXPECT_TRUE(is_box_error(stale, 412, "precondition_failed"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(BoxSurface, IdOfAnotherFormatIs400)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    EXPECT_TRUE(is_box_error(c.get(box_path("abc")), 400, "bad_request"));
    EXPECT_TRUE(is_box_error(c.put(box_path("abc"), example_body, form_label), 400, "bad_request"));
    for (std::string_view id : {"42037322x", "042037322", "-42037322", "12345678901234567890"})
        EXPECT_TRUE(is_box_error(c.get(box_path(id)), 400, "bad_request")) << id;
}

TEST(BoxSurface, UnknownIdOrRecordOfAnotherTypeIs404)
{
    // A second numeric type, so that a numeric id can name a record that is not a file request.
    server_options o;
    o.config = R"({"types":{"ticket":{"id_format":"numeric","states":["open"],"initial":"open",
                   "additional_attributes":true}}})";
    server srv(o);
    auto c = srv.connect();
    EXPECT_TRUE(is_box_error(c.get(box_path("99999999")), 404, "not_found"));
    EXPECT_TRUE(is_box_error(c.put(box_path("99999999"), example_body, form_label), 404, "not_found"));

    auto ticket =
        c.put(path_of("777"), R"({"type":"ticket","title":"not a file request"})", {{"If-None-Match", "*"}});
    ASSERT_EQ(ticket.status(), 201u) << ticket;
    const auto before = get_record(c, "777");
    EXPECT_TRUE(is_box_error(c.get(box_path("777")), 404, "not_found"));
    EXPECT_TRUE(
        is_box_error(c.put(box_path("777"), R"({"title":"taken over"})", form_label), 404, "not_found"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(BoxSurface, MissingOrBasicCredentialsAre401WithWwwAuthenticate)
{
    server srv;
    auto dev = srv.connect();
    create_file_request(dev, example_id);
    const auto before = get_record(dev, example_id);

    auto anonymous = as(srv, std::nullopt);
    auto basic =
        as(srv, std::pair<std::string, std::string>{"Authorization", "Basic " + base64("dev:dev-secret")});
    auto api_key = as(srv, std::pair<std::string, std::string>{"X-API-Key", "dev.dev-secret"});
    auto wrong = as(srv, std::pair<std::string, std::string>{"Authorization", "Bearer dev.wrong"});
    for (client* c : {&anonymous, &basic, &api_key, &wrong})
    {
        for (const auto& r : {c->get(example_path), c->put(example_path, example_body, form_label)})
        {
            EXPECT_TRUE(is_box_error(r, 401, "unauthorized"));
            EXPECT_TRUE(starts_with(r.header("WWW-Authenticate"), "Bearer")) << r;
        }
    }
    EXPECT_TRUE(unchanged(dev, before));
}

TEST(BoxSurface, KeyWithoutWriteScopeIs403)
{
    server srv(with_reader_key());
    auto dev = srv.connect();
    create_file_request(dev, example_id);
    const auto before = get_record(dev, example_id);

    auto reader = as(srv, std::pair<std::string, std::string>{"Authorization", "Bearer reader.dev-secret"});
    EXPECT_EQ(reader.get(example_path).status(), 200u);
    auto refused = reader.put(example_path, example_body, form_label);
    EXPECT_TRUE(is_box_error(refused, 403, "access_denied_insufficient_permissions"));
    EXPECT_TRUE(unchanged(dev, before));
}

TEST(BoxSurface, RateLimitedKeyGets429BoxError)
{
    server srv(with_reader_key());
    auto dev = srv.connect();
    create_file_request(dev, example_id);
    auto slow = as(srv, std::pair<std::string, std::string>{"Authorization", "Bearer slow.dev-secret"});
    int limited = 0;
    for (int i = 0; i < 6; ++i)
    {
        auto r = slow.get(example_path);
        if (r.status() == 200)
            continue;
        ++limited;
        EXPECT_TRUE(is_box_error(r, 429, "rate_limit_exceeded"));
        EXPECT_TRUE(r.has_header("Retry-After")) << r;
    }
    EXPECT_GE(limited, 1);
}

TEST(BoxSurface, InvalidStatusIs400NamingStatus)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    const auto before = get_record(c, example_id);
    for (std::string_view body : {R"({"status":"archived"})", R"({"status":true})"})
    {
        auto r = c.put(example_path, body, form_label);
        EXPECT_TRUE(is_box_error(r, 400, "bad_request")) << body;
        EXPECT_EQ(error_names(r), std::vector<std::string>{"status"}) << r;
    }
    auto both = c.put(example_path, R"({"status":"archived","is_email_required":"yes"})", form_label);
    EXPECT_TRUE(is_box_error(both, 400, "bad_request"));
    auto names = error_names(both);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"is_email_required", "status"})) << both;
    EXPECT_TRUE(unchanged(c, before));
}

TEST(BoxSurface, UnknownAndReadOnlyMembersAre400AndChangeNothing)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    const auto before = get_record(c, example_id);

    auto unknown = c.put(example_path, R"({"title":"Changed","color":"red"})", form_label);
    EXPECT_TRUE(is_box_error(unknown, 400, "bad_request"));
    EXPECT_EQ(error_names(unknown), std::vector<std::string>{"color"});
    EXPECT_TRUE(contains(message_of(unknown, "color"), "not a field")) << unknown;

    for (std::string_view member : {"folder", "etag", "url", "id", "created_by", "type"})
    {
        const std::string body = R"({"title":"Changed",")" + std::string(member) + R"(":"1"})";
        auto r = c.put(example_path, body, form_label);
        EXPECT_TRUE(is_box_error(r, 400, "bad_request")) << member;
        EXPECT_EQ(error_names(r), std::vector<std::string>{std::string(member)}) << r;
        EXPECT_TRUE(contains(message_of(r, member), "read-only")) << r;
    }
    auto folder = c.put(example_path, R"({"folder":{"id":"999","type":"folder"}})", form_label);
    EXPECT_TRUE(is_box_error(folder, 400, "bad_request"));
    EXPECT_EQ(error_names(folder), std::vector<std::string>{"folder"});

    EXPECT_TRUE(unchanged(c, before));
    EXPECT_EQ(c.get(example_path).object().at("title"), json::value("Please upload documents"));
}

TEST(BoxSurface, MalformedBodyIs400AfterTheRecordAndPreconditionsAreJudged)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    const auto before = get_record(c, example_id);
    EXPECT_TRUE(is_box_error(c.put(example_path, "{not json", form_label), 400, "bad_request"));
    EXPECT_TRUE(is_box_error(c.put(example_path, "[1,2]", form_label), 400, "bad_request"));
    EXPECT_TRUE(is_box_error(c.put(example_path, "", form_label), 400, "bad_request"));
    // As in the core (API.md section 5): the record, then If-Match, then the body.
    EXPECT_TRUE(is_box_error(c.put(box_path("99999999"), "{not json", form_label), 404, "not_found"));
    EXPECT_TRUE(is_box_error(c.put(example_path, "{not json", with_form({{"If-Match", "7"}})), 412,
                             "precondition_failed"));
    EXPECT_TRUE(is_box_error(c.put(example_path, R"({"color":"red"})", with_form({{"If-Match", "7"}})), 412,
                             "precondition_failed"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(BoxSurface, OversizedBodyIs413BoxError)
{
    server_options o;
    o.config = R"({"limits":{"max_body_bytes":1024}})";
    server srv(o);
    auto c = srv.connect();
    create_file_request(c, example_id);
    const auto before = get_record(c, example_id);
    const std::string body = R"({"description":")" + std::string(2000, 'a') + R"("})";
    EXPECT_TRUE(is_box_error(c.put(example_path, body, form_label), 413, "request_entity_too_large"));
    EXPECT_TRUE(unchanged(c, before));
}

TEST(BoxSurface, RouteAndMethodRefusalsAreBoxErrors)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    auto deleted = c.del(example_path);
    EXPECT_TRUE(is_box_error(deleted, 405, "method_not_allowed"));
    EXPECT_TRUE(contains(deleted.header("Allow"), "PUT")) << deleted;
    EXPECT_TRUE(is_box_error(c.get("/2.0/file_requests"), 404, "not_found"));
    EXPECT_TRUE(is_box_error(c.get("/2.0/file_requests/42037322/copy"), 404, "not_found"));
    EXPECT_EQ(get_record(c, example_id).at("version"), json::value(1));
}

TEST(BoxSurface, StatusBecomesInactiveByItselfOnceExpiresAtPasses)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    const auto due = wall::now() + 2s;
    const std::string expires_at = format_timestamp(due);
    auto set = c.put(example_path, R"({"expires_at":")" + expires_at + R"("})", form_label);
    ASSERT_EQ(set.status(), 200u) << set;
    EXPECT_EQ(set.object().at("status"), json::value("active"));
    EXPECT_EQ(set.object().at("expires_at"), json::value(expires_at));

    auto now = wait_for_status(c, example_id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive") << "did not expire within 8 s of its time";
    EXPECT_GE(wall::now(), due);
    EXPECT_EQ(now.at("etag"), json::value("3"));
    EXPECT_TRUE(is_user(now.at("updated_by"), "system"));
    EXPECT_TRUE(is_user(now.at("created_by"), "dev"));

    auto history = history_of(c, example_id);
    ASSERT_EQ(history.size(), 3u);
    EXPECT_EQ(text(history[0], "updated_by"), "system");
    EXPECT_EQ(text(history[0], "status"), "inactive");
    EXPECT_EQ(text(history[1], "updated_by"), "dev");

    // Box lets a file request be activated again; it then stays active (its time has passed once).
    auto again = c.put(example_path, R"({"status":"active","expires_at":null})", form_label);
    ASSERT_EQ(again.status(), 200u) << again;
    EXPECT_EQ(again.object().at("status"), json::value("active"));
}

TEST(BoxSurface, WritesThroughTheSurfaceAreTheCoresVersionsAndEvents)
{
    server srv;
    auto c = srv.connect();
    create_file_request(c, example_id);
    const auto after = feed_end(c);

    auto updated = c.put(example_path, R"({"title":"Through Box","status":"inactive"})", form_label);
    ASSERT_EQ(updated.status(), 200u) << updated;
    auto native = c.get(path_of(example_id));
    ASSERT_EQ(native.status(), 200u) << native;
    const auto record = native.object();
    EXPECT_EQ(number(record, "version"), 2);
    EXPECT_EQ(native.header("ETag"), updated.header("ETag"));
    EXPECT_EQ(text(record, "etag"), "\"" + text(updated.object(), "etag") + "\"");
    EXPECT_EQ(text(record, "updated_by"), "dev");
    EXPECT_EQ(text(record, "title"), "Through Box");
    EXPECT_EQ(text(record, "status"), "inactive");
    EXPECT_EQ(text(record, "updated_at"), text(updated.object(), "updated_at"));

    auto events = feed_after(c, after);
    ASSERT_EQ(events.size(), 1u) << json::serialize(events);
    const auto& e = events[0].as_object();
    EXPECT_EQ(text(e, "event"), "request.status_changed");
    EXPECT_EQ(text(e, "id"), example_id);
    EXPECT_EQ(text(e, "type"), "box_file_request");
    EXPECT_EQ(number(e, "version"), 2);
    EXPECT_EQ(text(e, "status"), "inactive");

    // And the other way round: a native write shows through the surface.
    auto patched = c.patch(path_of(example_id), R"({"description":"natively"})");
    ASSERT_EQ(patched.status(), 200u) << patched;
    auto read = c.get(example_path);
    EXPECT_EQ(read.object().at("description"), json::value("natively"));
    EXPECT_EQ(read.object().at("etag"), json::value("3"));

    // A write that changes nothing commits no version.
    auto same = c.put(example_path, R"({"title":"Through Box"})", form_label);
    ASSERT_EQ(same.status(), 200u) << same;
    EXPECT_EQ(same.object().at("etag"), json::value("3"));
    EXPECT_EQ(feed_after(c, after).size(), 2u);
}
