// Request types as shipped in config/reqstore.json: validation of every member at once, defaults,
// read-only attributes, mutable_in, updatable_in, final states, transitions, requires, timestamps, id
// formats, and the order in which a write is judged (docs/CONFIG.md "Request types", contract section 5).
#include <algorithm>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
const std::string box_folder = R"({"id":"7","type":"folder"})";

// The shipped dsr type without its DSR types, whose required fields and attachments (tested in
// consentgrid_surface_test.cpp) would otherwise stand in the way of these tests' moves to submitted.
server_options plain_dsr()
{
    server_options o;
    o.config = R"({"types": {"dsr": {"requires": {"submitted": ["owner"]}, "dsr_types": null}}})";
    return o;
}

response create(client& c, const json::object& body)
{
    return c.post("/v1/requests", json::serialize(body));
}

json::object created(client& c, const json::object& body)
{
    auto r = create(c, body);
    if (r.status() != 201)
        throw std::runtime_error("create failed: " + json::serialize(body) + "\n" + describe(r));
    return r.object();
}

response put(client& c, const json::object& rec, const json::object& body)
{
    return c.put(path_of(text(rec, "id")), json::serialize(body));
}

// PUT that must succeed; returns the new record.
json::object updated(client& c, const json::object& rec, const json::object& body)
{
    auto r = put(c, rec, body);
    if (r.status() != 200)
        throw std::runtime_error("PUT " + json::serialize(body) + " failed:\n" + describe(r));
    return r.object();
}

// The sorted member names of the problem's `errors` object.
std::vector<std::string> error_keys(const response& r)
{
    auto o = r.object();
    if (!o.contains("errors") || !o.at("errors").is_object())
        throw std::runtime_error("no errors object:\n" + describe(r));
    std::vector<std::string> keys;
    for (const auto& kv : o.at("errors").as_object())
    {
        if (!kv.value().is_string() || kv.value().as_string().empty())
            throw std::runtime_error("errors member " + std::string(kv.key()) + " has no message");
        keys.emplace_back(kv.key());
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::vector<std::string> sorted(std::vector<std::string> v)
{
    std::sort(v.begin(), v.end());
    return v;
}

std::size_t count_of_type(client& c, std::string_view type)
{
    return list_all(c, "type=" + std::string(type)).size();
}

json::object docspring(json::object extra = {})
{
    json::object o{{"type", "docspring_data_request"}, {"email", "jdoe@example.com"}};
    for (const auto& kv : extra)
        o[kv.key()] = kv.value();
    return o;
}

json::object box(json::object extra = {})
{
    json::object o{{"type", "box_file_request"}, {"title", "Upload"}, {"folder", parse_json(box_folder)}};
    for (const auto& kv : extra)
        o[kv.key()] = kv.value();
    return o;
}

const std::string account = "3c90c3cc-0d44-4b50-8888-8dd25736052a";

json::object autodesk(json::object extra = {})
{
    json::object o{{"type", "autodesk_data_request"}, {"account_id", account}};
    for (const auto& kv : extra)
        o[kv.key()] = kv.value();
    return o;
}

json::object dsr(json::object extra = {})
{
    json::object o{{"type", "dsr"}, {"type_id", "access"}};
    for (const auto& kv : extra)
        o[kv.key()] = kv.value();
    return o;
}

json::value owner()
{
    return parse_json(R"({"email":"owner@example.com"})");
}
} // namespace

// ---------------------------------------------------------------------------------------------
// Validation

TEST(Types, CreateValidationReportsEveryOffendingMemberAtOnce)
{
    server srv;
    auto c = srv.connect();

    // docspring: email, wrong kind, min, enum, datetime, max_length, unknown member.
    auto r = create(c, docspring({{"email", "not-an-email"},
                                  {"name", 5},
                                  {"order", -1},
                                  {"auth_type", "telepathy"},
                                  {"auth_session_started_at", "yesterday"},
                                  {"auth_provider", std::string(201, 'p')},
                                  {"fields", "not-an-array"},
                                  {"bogus", 1}}));
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), sorted({"/email", "/name", "/order", "/auth_type", "/auth_session_started_at",
                                     "/auth_provider", "/fields", "/bogus"}))
        << r;

    // autodesk: uuid, enum with a default, integer min, wrong kind (boolean, integer), datetime.
    r = create(c, autodesk({{"account_id", "not-a-uuid"},
                            {"schedule_interval", "HOURLY"},
                            {"reoccuring_interval", 0},
                            {"send_email", "yes"},
                            {"project_id", "3C90C3CC-0D44-4B50-8888"},
                            {"effective_from", "2026-13-40T00:00:00Z"}}));
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), sorted({"/account_id", "/schedule_interval", "/reoccuring_interval",
                                     "/send_email", "/project_id", "/effective_from"}))
        << r;

    // integer max and a non-integer number for an integer attribute.
    r = create(c, autodesk({{"reoccuring_interval", 1001}, {"description", std::string(1001, 'd')}}));
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), sorted({"/reoccuring_interval", "/description"})) << r;
    r = create(c, autodesk({{"reoccuring_interval", 2.5}}));
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/reoccuring_interval"}) << r;

    // box: every required member missing at create, plus a wrong kind and an unknown member.
    r = create(c, {{"type", "box_file_request"}, {"is_email_required", "no"}, {"colour", "red"}});
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), sorted({"/title", "/folder", "/is_email_required", "/colour"})) << r;
    // a required member given as null is missing too.
    r = create(c, box({{"title", nullptr}}));
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/title"}) << r;

    // dsr: max_length, wrong kinds, required missing.
    r = create(c, {{"type", "dsr"},
                   {"owner", "me"},
                   {"labels", json::object{}},
                   {"due_date", 20261122},
                   {"portal_url", "ftp://files.example.com/x"},
                   {"callback_url", "hooks.example.com/x"},
                   {"metadata", 5}});
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), sorted({"/type_id", "/owner", "/labels", "/due_date", "/portal_url",
                                     "/callback_url", "/metadata"}))
        << r;
    r = create(c, dsr({{"type_id", std::string(101, 't')}}));
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", "/v1/requests"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/type_id"}) << r;

    // Creation by PUT with If-None-Match: * is validated the same way.
    const std::string numeric_path = path_of("4711");
    r = c.put(numeric_path, R"({"type":"box_file_request","description":7,"colour":"red"})",
              {{"If-None-Match", "*"}});
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", numeric_path));
    EXPECT_EQ(error_keys(r), sorted({"/title", "/folder", "/description", "/colour"})) << r;
    EXPECT_TRUE(is_problem(c.get(numeric_path), 404, "not-found"));

    // The generic type keeps unknown members: no error for them.
    auto generic = created(c, {{"type", "request"}, {"anything", json::array{1, 2}}});
    EXPECT_EQ(generic.at("anything"), (json::array{1, 2}));

    // Nothing was created by any failing write.
    for (auto type : {"docspring_data_request", "autodesk_data_request", "box_file_request", "dsr"})
        EXPECT_EQ(count_of_type(c, type), 0u) << type;
}

TEST(Types, BoundaryValuesAreAccepted)
{
    server srv;
    auto c = srv.connect();
    auto rec = created(c, autodesk({{"reoccuring_interval", 1000},
                                    {"description", std::string(1000, 'd')},
                                    {"effective_from", "2026-11-22T04:46:31.991Z"}}));
    EXPECT_EQ(number(rec, "reoccuring_interval"), 1000);
    rec = created(c, autodesk({{"reoccuring_interval", 1}}));
    EXPECT_EQ(number(rec, "reoccuring_interval"), 1);
    auto s = created(c, dsr({{"portal_url", "https://portal.example.com/r/1"}}));
    EXPECT_EQ(text(s, "portal_url"), "https://portal.example.com/r/1");
    auto d = created(c, docspring({{"order", 0}, {"name", std::string(200, 'n')}, {"auth_type", "saml"}}));
    EXPECT_EQ(number(d, "order"), 0);
    // max_length counts code points, not bytes: 200 two-byte characters fit.
    std::string wide;
    for (int i = 0; i < 200; ++i)
        wide += "\xC3\xA9";
    d = created(c, docspring({{"name", wide}}));
    EXPECT_EQ(text(d, "name"), wide);
}

TEST(Types, AnIntegerGivenAsAWholeDoubleReadsBackAsAnInteger)
{
    server srv;
    auto c = srv.connect();
    // An integer given as 3.0 reads back as an integer (or is refused), never as a non-integer number.
    auto r = create(c, docspring({{"order", 3.0}}));
    if (r.status() == 201)
    {
        EXPECT_TRUE(contains(r.body(), "\"order\":3,") || contains(r.body(), "\"order\":3}")) << r;
        auto stored = c.get(r.header("Location"));
        EXPECT_TRUE(contains(stored.body(), "\"order\":3,") || contains(stored.body(), "\"order\":3}"))
            << stored;
    }
    else
    {
        EXPECT_TRUE(is_problem(r, 400, "validation-failed")) << r;
    }
}

TEST(Types, UpdateValidationReportsEveryMemberAndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    auto rec = created(c, docspring({{"name", "John"}}));

    auto r =
        put(c, rec,
            {{"email", "nope"}, {"order", "first"}, {"auth_type", "magic"}, {"fields", 3}, {"extra", true}});
    ASSERT_TRUE(is_problem(r, 400, "validation-failed", path_of(text(rec, "id"))));
    EXPECT_EQ(error_keys(r), sorted({"/email", "/order", "/auth_type", "/fields", "/extra"})) << r;
    EXPECT_TRUE(unchanged(c, rec));

    // The same through a merge patch; a required attribute cannot be removed (null).
    r = c.patch(path_of(text(rec, "id")), R"({"email":null,"name":7,"viewed_x":1})",
                {{"Content-Type", "application/merge-patch+json"}});
    ASSERT_TRUE(is_problem(r, 400, "validation-failed"));
    EXPECT_EQ(error_keys(r), sorted({"/email", "/name", "/viewed_x"})) << r;
    EXPECT_TRUE(unchanged(c, rec));

    // Through a JSON Patch too; member names are escaped as JSON Pointer tokens.
    r = c.patch(path_of(text(rec, "id")),
                R"([{"op":"add","path":"/a~1b","value":1},{"op":"add","path":"/c~0d","value":2},)"
                R"({"op":"replace","path":"/order","value":-3}])",
                {{"Content-Type", "application/json-patch+json"}});
    ASSERT_TRUE(is_problem(r, 400, "validation-failed"));
    EXPECT_EQ(error_keys(r), sorted({"/a~1b", "/c~0d", "/order"})) << r;
    EXPECT_TRUE(unchanged(c, rec));

    // A valid write after the failing ones commits version 2.
    auto next = updated(c, rec, {{"name", "Jane"}, {"order", 4}});
    EXPECT_EQ(number(next, "version"), 2);
}

TEST(Types, DefaultsAreAppliedAtCreateOnly)
{
    server srv;
    auto c = srv.connect();

    auto d = created(c, docspring());
    EXPECT_EQ(d.at("order"), json::value(1));
    EXPECT_EQ(d.at("fields"), json::array{});
    EXPECT_FALSE(d.contains("name")) << json::serialize(d);

    auto b = created(c, box());
    EXPECT_EQ(b.at("is_email_required"), json::value(false));
    EXPECT_EQ(b.at("is_description_required"), json::value(false));

    auto a = created(c, autodesk());
    EXPECT_EQ(a.at("schedule_interval"), json::value("ONE_TIME"));
    EXPECT_EQ(a.at("service_groups"), json::array{});
    EXPECT_EQ(a.at("send_email"), json::value(true));

    auto s = created(c, dsr());
    EXPECT_EQ(s.at("labels"), json::array{});
    EXPECT_EQ(s.at("data"), json::object{});
    EXPECT_EQ(s.at("attachments"), json::object{});

    // Creation by PUT with If-None-Match: * applies them too.
    auto r = c.put(path_of("3c90c3cc-0d44-7b50-8888-8dd25736052a"),
                   R"({"type":"autodesk_data_request","account_id":")" + account + "\"}",
                   {{"If-None-Match", "*"}});
    ASSERT_EQ(r.status(), 201u) << r;
    EXPECT_EQ(r.object().at("schedule_interval"), json::value("ONE_TIME"));
    EXPECT_EQ(r.object().at("send_email"), json::value(true));

    // A given value wins over the default, and the stored record is what was answered.
    auto given = created(c, docspring({{"order", 5}, {"fields", json::array{"a"}}}));
    EXPECT_EQ(given.at("order"), json::value(5));
    EXPECT_EQ(given.at("fields"), json::array{"a"});
    EXPECT_EQ(get_record(c, text(given, "id")), given);
    // An explicit null is not "left out": it stays null.
    auto nulled = created(c, autodesk({{"send_email", nullptr}}));
    EXPECT_TRUE(nulled.at("send_email").is_null()) << json::serialize(nulled);

    // Defaults are not applied again by later writes: an update that sets null keeps null.
    auto later = updated(c, d, {{"order", nullptr}});
    EXPECT_TRUE(later.at("order").is_null()) << json::serialize(later);
    later = updated(c, later, {{"name", "x"}});
    EXPECT_TRUE(later.at("order").is_null()) << json::serialize(later);
}

// ---------------------------------------------------------------------------------------------
// Read-only, mutable_in, updatable_in, final states

TEST(Types, ReadOnlyAttributeIsAllowedAtCreateButCannotChangeLater)
{
    server srv;
    auto c = srv.connect();

    auto b = created(c, box({{"url", "https://app.box.com/f/1"}}));
    EXPECT_EQ(b.at("folder"), parse_json(box_folder));
    const std::string path = path_of(text(b, "id"));

    auto r = put(c, b, {{"folder", parse_json(R"({"id":"8","type":"folder"})")}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field", path));
    r = put(c, b, {{"url", "https://app.box.com/f/2"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field", path));
    r = put(c, b, {{"url", nullptr}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field", path));
    r = c.patch(path, R"({"folder":{"id":"9"}})", {{"Content-Type", "application/merge-patch+json"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field", path));
    r = c.patch(path, R"([{"op":"replace","path":"/url","value":"https://x.example/"}])",
                {{"Content-Type", "application/json-patch+json"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field", path));
    EXPECT_TRUE(unchanged(c, b));

    // The same value is no change: allowed, and commits nothing.
    r = put(c, b, {{"folder", parse_json(box_folder)}, {"url", "https://app.box.com/f/1"}});
    EXPECT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("ETag"), "\"1\"") << r;
    // Read-only members sent unchanged beside a real change are fine.
    auto next = updated(c, b, {{"folder", parse_json(box_folder)}, {"title", "Renamed"}});
    EXPECT_EQ(number(next, "version"), 2);

    // A read-only attribute left out at creation can not be added later either.
    auto a = created(c, autodesk());
    r = put(c, a, {{"created_by_email", "x@example.com"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field"));
    r = put(c, a, {{"account_id", "9c90c3cc-0d44-4b50-8888-8dd25736052a"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field"));
    EXPECT_TRUE(unchanged(c, a));

    // A server-set timestamp attribute is read-only to clients, but may be given at creation.
    auto d = created(c, docspring({{"viewed_at", "2026-01-01T00:00:00.000Z"}}));
    EXPECT_EQ(d.at("viewed_at"), json::value("2026-01-01T00:00:00.000Z"));
    r = put(c, d, {{"viewed_at", "2026-01-02T00:00:00.000Z"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field"));
    // ... also together with the move that sets it.
    r = put(c, d, {{"status", "viewed"}, {"viewed_at", "2026-01-02T00:00:00.000Z"}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field"));
    EXPECT_TRUE(unchanged(c, d));
}

TEST(Types, MutableInLimitsAnAttributeToItsStates)
{
    server srv(plain_dsr());
    auto c = srv.connect();
    auto s = created(c, dsr());
    // In draft, type_id and owner change freely.
    s = updated(c, s, {{"type_id", "erasure"}});
    s = updated(c, s, {{"owner", owner()}});
    s = updated(c, s, {{"owner", parse_json(R"({"email":"other@example.com"})")}});
    EXPECT_EQ(number(s, "version"), 4);

    // Judged on the state before the write: a move out of draft may still change them.
    s = updated(c, s, {{"status", "submitted"}, {"type_id", "access"}});
    EXPECT_EQ(text(s, "status"), "submitted");
    EXPECT_EQ(text(s, "type_id"), "access");

    // After draft: 409 for either, nothing changes.
    const std::string path = path_of(text(s, "id"));
    auto r = put(c, s, {{"type_id", "erasure"}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path));
    r = put(c, s, {{"owner", owner()}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path));
    r = put(c, s, {{"owner", nullptr}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path));
    // ... even together with a move that is allowed.
    r = put(c, s, {{"status", "in_progress"}, {"type_id", "erasure"}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path));
    EXPECT_TRUE(unchanged(c, s));

    // The same values are no change; other attributes stay updatable in submitted.
    r = put(c, s, {{"type_id", "access"}});
    EXPECT_EQ(r.status(), 200u) << r;
    s = updated(c, s, {{"labels", json::array{"vip"}}, {"type_id", "access"}});
    EXPECT_EQ(number(s, "version"), 6);
    s = updated(c, s, {{"status", "in_progress"}});
    r = put(c, s, {{"type_id", "x"}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path));
    EXPECT_TRUE(unchanged(c, s));
}

TEST(Types, UpdatableInRefusesAttributeChangesButNotStatusMoves)
{
    server srv;
    auto c = srv.connect();
    auto d = created(c, docspring({{"auth_type", "password"}}));
    d = updated(c, d, {{"name", "In pending anything changes"}});
    d = updated(c, d, {{"status", "viewed"}});
    const std::string path = path_of(text(d, "id"));

    for (const auto& body : {json::object{{"name", "Other"}}, json::object{{"auth_type", "oauth"}},
                             json::object{{"metadata", json::object{{"k", 1}}}},
                             json::object{{"callback_url", "https://hooks.example.com/x"}},
                             json::object{{"status", "completed"}, {"name", "Other"}}})
    {
        auto r = put(c, d, body);
        EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path)) << json::serialize(body);
    }
    auto r = c.patch(path, R"({"order":9})", {{"Content-Type", "application/merge-patch+json"}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", path));
    EXPECT_TRUE(unchanged(c, d));

    // A write that changes nothing is fine in viewed.
    r = put(c, d, {{"name", "In pending anything changes"}, {"status", "viewed"}});
    EXPECT_EQ(r.status(), 200u) << r;
    EXPECT_TRUE(unchanged(c, d));

    // The move viewed -> completed alone is judged by the transitions (and sets completed_at).
    auto done = updated(c, d, {{"status", "completed"}});
    EXPECT_EQ(text(done, "status"), "completed");
    EXPECT_EQ(number(done, "version"), number(d, "version") + 1);
    EXPECT_TRUE(done.contains("completed_at")) << json::serialize(done);
}

TEST(Types, FinalStateRefusesEveryChange)
{
    server srv;
    auto c = srv.connect();
    auto d = created(c, docspring({{"auth_type", "none"}, {"status", "completed"}}));
    const std::string dpath = path_of(text(d, "id"));
    for (const auto& body :
         {json::object{{"name", "late"}}, json::object{{"metadata", json::object{{"a", 1}}}},
          json::object{{"callback_url", "https://hooks.example.com/y"}}})
    {
        auto r = put(c, d, body);
        EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state", dpath)) << json::serialize(body);
    }
    auto r = put(c, d, {{"status", "pending"}});
    EXPECT_EQ(r.status(), 409u) << r;
    r = put(c, d, {{"status", "viewed"}});
    EXPECT_EQ(r.status(), 409u) << r;
    EXPECT_TRUE(unchanged(c, d));
    // Changing nothing is 200 in a final state too.
    r = put(c, d, {{"status", "completed"}, {"email", "jdoe@example.com"}});
    EXPECT_EQ(r.status(), 200u) << r;

    // The generic type: completed and canceled are final; unknown members cannot be added there either.
    for (const char* final_state : {"completed", "canceled"})
    {
        auto g = create_record(c, {{"note", "x"}});
        g = updated(c, g, {{"status", final_state}});
        auto w = put(c, g, {{"note", "y"}});
        EXPECT_TRUE(is_problem(w, 409, "not-updatable-in-state")) << final_state;
        w = put(c, g, {{"added", 1}});
        EXPECT_TRUE(is_problem(w, 409, "not-updatable-in-state")) << final_state;
        w = put(c, g, {{"status", "pending"}});
        EXPECT_EQ(w.status(), 409u) << final_state << w;
        EXPECT_TRUE(unchanged(c, g));
    }

    // jsonapi: COMPLETED and FAILED are final.
    auto j = created(c, {{"type", "jsonapi_request"}, {"status", "FAILED"}});
    r = put(c, j, {{"note_id", account}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state"));
    EXPECT_TRUE(unchanged(c, j));

    // DELETE is allowed in every state, final ones included.
    EXPECT_EQ(c.del(dpath).status(), 204u);
}

// ---------------------------------------------------------------------------------------------
// Transitions and requirements

TEST(Types, InvalidTransitionIs409WithTheAllowedTargets)
{
    server srv(plain_dsr());
    auto c = srv.connect();

    auto check = [&](const json::object& rec, const std::string& to, std::vector<std::string> allowed)
    {
        auto r = put(c, rec, {{"status", to}});
        ASSERT_TRUE(is_problem(r, 409, "invalid-transition", path_of(text(rec, "id"))))
            << text(rec, "status") << " -> " << to;
        auto o = r.object();
        ASSERT_TRUE(o.contains("allowed") && o.at("allowed").is_array()) << r;
        std::vector<std::string> got;
        for (const auto& v : o.at("allowed").as_array())
            got.emplace_back(v.as_string());
        EXPECT_EQ(sorted(got), sorted(allowed)) << r;
        EXPECT_TRUE(unchanged(c, rec));
    };

    auto d = created(c, docspring({{"status", "viewed"}}));
    check(d, "pending", {"completed"});

    auto s = created(c, dsr());
    check(s, "in_progress", {"submitted", "canceled"});
    check(s, "completed", {"submitted", "canceled"});
    s = updated(c, s, {{"owner", owner()}, {"status", "submitted"}});
    check(s, "draft", {"in_progress", "rejected", "canceled"});
    s = updated(c, s, {{"status", "in_progress"}});
    check(s, "submitted", {"completed", "rejected"});
    check(s, "canceled", {"completed", "rejected"});

    auto j = created(c, {{"type", "jsonapi_request"}, {"status", "IN_PROGRESS"}});
    auto moved = updated(c, j, {{"status", "PENDING"}});
    EXPECT_EQ(text(moved, "status"), "PENDING");

    // Every allowed move works: box active <-> inactive.
    auto b = created(c, box());
    b = updated(c, b, {{"status", "inactive"}});
    b = updated(c, b, {{"status", "active"}});
    EXPECT_EQ(number(b, "version"), 3);
}

TEST(Types, MissingRequirementsAre422WithErrorsAtCreateAndOnAMove)
{
    server srv(plain_dsr());
    auto c = srv.connect();

    // docspring: completed needs auth_type.
    auto d = created(c, docspring());
    auto r = put(c, d, {{"status", "completed"}});
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing", path_of(text(d, "id"))));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/auth_type"}) << r;
    r = put(c, d, {{"status", "completed"}, {"auth_type", nullptr}});
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/auth_type"}) << r;
    EXPECT_TRUE(unchanged(c, d));
    // ... also from viewed, where auth_type cannot be added any more.
    auto v = updated(c, d, {{"status", "viewed"}});
    r = put(c, v, {{"status", "completed"}});
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing"));
    EXPECT_TRUE(unchanged(c, v));
    // Giving it in the same write satisfies the requirement.
    auto d2 = created(c, docspring());
    auto done = updated(c, d2, {{"status", "completed"}, {"auth_type", "ldap"}});
    EXPECT_EQ(text(done, "status"), "completed");

    // dsr: submitted needs owner.
    auto s = created(c, dsr());
    r = put(c, s, {{"status", "submitted"}});
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/owner"}) << r;
    EXPECT_TRUE(unchanged(c, s));

    // At creation directly in the state: 422 and nothing is created.
    const auto docspring_before = count_of_type(c, "docspring_data_request");
    r = create(c, docspring({{"status", "completed"}}));
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing", "/v1/requests"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/auth_type"}) << r;
    r = create(c, dsr({{"status", "submitted"}}));
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing", "/v1/requests"));
    EXPECT_EQ(error_keys(r), std::vector<std::string>{"/owner"}) << r;
    r = create(c, dsr({{"status", "submitted"}, {"owner", nullptr}}));
    ASSERT_TRUE(is_problem(r, 422, "requirements-missing", "/v1/requests"));
    EXPECT_EQ(count_of_type(c, "docspring_data_request"), docspring_before);
    EXPECT_EQ(count_of_type(c, "dsr"), 1u);

    // With the requirement present, creation in that state works.
    auto ok = created(c, dsr({{"status", "submitted"}, {"owner", owner()}}));
    EXPECT_EQ(text(ok, "status"), "submitted");
}

// ---------------------------------------------------------------------------------------------
// Timestamps

TEST(Types, TimestampsAreTheCommitTimeOfEnteringTheState)
{
    server srv(plain_dsr());
    auto c = srv.connect();
    auto d = created(c, docspring({{"auth_type", "oauth"}}));
    EXPECT_FALSE(d.contains("viewed_at")) << json::serialize(d);
    EXPECT_FALSE(d.contains("completed_at")) << json::serialize(d);

    auto v = updated(c, d, {{"status", "viewed"}});
    ASSERT_TRUE(v.contains("viewed_at")) << json::serialize(v);
    EXPECT_TRUE(is_timestamp(text(v, "viewed_at"))) << json::serialize(v);
    EXPECT_EQ(text(v, "viewed_at"), text(v, "updated_at"));
    EXPECT_FALSE(v.contains("completed_at") && !v.at("completed_at").is_null()) << json::serialize(v);

    auto done = updated(c, v, {{"status", "completed"}});
    EXPECT_EQ(text(done, "completed_at"), text(done, "updated_at"));
    EXPECT_EQ(text(done, "viewed_at"), text(v, "viewed_at")); // kept from the earlier move
    EXPECT_GE(*parse_timestamp(text(done, "completed_at")), *parse_timestamp(text(v, "viewed_at")));

    // The stored versions agree, and the history names the timestamp as changed.
    const std::string id = text(d, "id");
    auto v2 = c.get(path_of(id) + "/versions/2").object();
    EXPECT_EQ(text(v2, "viewed_at"), text(v2, "updated_at"));
    auto v3 = c.get(path_of(id) + "/versions/3").object();
    EXPECT_EQ(text(v3, "completed_at"), text(v3, "updated_at"));
    auto history = history_of(c, id);
    ASSERT_EQ(history.size(), 3u);
    EXPECT_EQ(text(history[0], "updated_at"), text(done, "completed_at"));
    EXPECT_EQ(text(history[1], "updated_at"), text(v, "viewed_at"));
    std::vector<std::string> changed;
    for (const auto& m : history[1].at("changed").as_array())
        changed.emplace_back(m.as_string());
    EXPECT_TRUE(contains(changed, "viewed_at")) << json::serialize(history[1]);
    EXPECT_TRUE(contains(changed, "status")) << json::serialize(history[1]);

    // At creation directly in the state: the creation time, whatever the body said.
    auto born = created(c, docspring({{"status", "viewed"}, {"viewed_at", "2020-01-01T00:00:00.000Z"}}));
    EXPECT_EQ(text(born, "viewed_at"), text(born, "created_at"));

    // The same for creation by PUT with If-None-Match: *.
    auto r = c.put(path_of("drq_01JDE8Z1W8M4Q6Q1V0GJ7T3N5B"),
                   R"({"type":"docspring_data_request","email":"a@example.com","status":"viewed"})",
                   {{"If-None-Match", "*"}});
    ASSERT_EQ(r.status(), 201u) << r;
    EXPECT_EQ(text(r.object(), "viewed_at"), text(r.object(), "created_at"));

    // dsr submitted_at and jsonapi COMPLETED completed_at.
    auto s = created(c, dsr({{"owner", owner()}}));
    s = updated(c, s, {{"status", "submitted"}});
    EXPECT_EQ(text(s, "submitted_at"), text(s, "updated_at"));
    auto j = created(c, {{"type", "jsonapi_request"}});
    j = updated(c, j, {{"status", "COMPLETED"}});
    EXPECT_EQ(text(j, "completed_at"), text(j, "updated_at"));
}

// ---------------------------------------------------------------------------------------------
// Id formats

TEST(Types, PathIdOfNoDeclaredFormatIs400InvalidId)
{
    server srv;
    auto c = srv.connect();
    const char* bad[] = {
        "req_ABC",                              // prefixed: too short
        "req_000000000000000000000000000",      // prefixed: 27 characters
        "req_0000000000000000000U",             // U is no Crockford base32 character
        "req_00000000-0000000000",              // punctuation
        "xyz_00000000000000000000",             // no type has this prefix
        "3C90C3CC-0D44-4B50-8888-8DD25736052A", // upper-case uuid
        "3c90c3cc-0d44-4b50-8888-8dd25736052",  // uuid one digit short
        "3c90c3cc-0d44-4b50-8888-8dd25736052g", // not hex
        "{3c90c3cc-0d44-4b50-8888-8dd25736052a}",
        "0123",                 // numeric with a leading zero
        "12345678901234567890", // numeric: 20 digits
        "-5",
        "12a",
    };
    for (const char* id : bad)
    {
        const std::string path = path_of(id);
        EXPECT_TRUE(is_problem(c.get(path), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.put(path, R"({"name":"x"})"), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"x"})"), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.del(path), 400, "invalid-id", path)) << id;
        EXPECT_TRUE(is_problem(c.get(path + "/versions"), 400, "invalid-id", path + "/versions")) << id;
    }
    // An id of the right format that names nothing is 404, for every format.
    for (const char* id : {"req_00000000000000000000", "drq_00000000000000000000", "dsr_0000000000000000",
                           "3c90c3cc-0d44-4b50-8888-8dd25736052a", "123", "9223372036854775807"})
    {
        EXPECT_TRUE(is_problem(c.get(path_of(id)), 404, "not-found", path_of(id))) << id;
    }

    // PUT with If-None-Match: * creates under an id only when it fits the body's type.
    auto r = c.put(path_of("req_00000000000000000001"),
                   R"({"type":"box_file_request","title":"t","folder":{}})", {{"If-None-Match", "*"}});
    EXPECT_TRUE(is_problem(r, 400, "invalid-id")) << r;
    r = c.put(path_of("123"), R"({"type":"autodesk_data_request","account_id":")" + account + "\"}",
              {{"If-None-Match", "*"}});
    EXPECT_TRUE(is_problem(r, 400, "invalid-id")) << r;
    r = c.put(path_of("123"), R"({"type":"box_file_request","title":"t","folder":{}})",
              {{"If-None-Match", "*"}});
    EXPECT_EQ(r.status(), 201u) << r;
    EXPECT_EQ(list_all(c).size(), 1u);
}

TEST(Types, CreatedIdsFitTheirTypesFormat)
{
    server srv;
    auto c = srv.connect();
    auto d = created(c, docspring());
    EXPECT_TRUE(starts_with(text(d, "id"), "drq_")) << text(d, "id");
    EXPECT_EQ(text(d, "id").size(), 24u);
    auto a = created(c, autodesk());
    const std::string uuid = text(a, "id");
    ASSERT_EQ(uuid.size(), 36u) << uuid;
    EXPECT_EQ(uuid[14], '7') << uuid; // version 7
    for (char ch : uuid)
        EXPECT_TRUE(ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) << uuid;
    auto b = created(c, box());
    const std::string numeric = text(b, "id");
    EXPECT_FALSE(numeric.empty());
    EXPECT_NE(numeric[0], '0');
    for (char ch : numeric)
        EXPECT_TRUE(ch >= '0' && ch <= '9') << numeric;
    for (const auto* rec : {&d, &a, &b})
        EXPECT_EQ(get_record(c, text(*rec, "id")), *rec);
}

// ---------------------------------------------------------------------------------------------
// Evaluation order

TEST(Types, AWriteIsJudgedInTheDocumentedOrder)
{
    server srv;
    auto c = srv.connect();

    // Invalid AND a bad transition: 400 first.
    auto d = created(c, docspring({{"status", "viewed"}}));
    auto r = put(c, d, {{"status", "pending"}, {"order", -5}});
    EXPECT_TRUE(is_problem(r, 400, "validation-failed")) << r;
    // Invalid AND not updatable in this state: 400 first.
    r = put(c, d, {{"email", "broken"}});
    EXPECT_TRUE(is_problem(r, 400, "validation-failed")) << r;
    EXPECT_TRUE(unchanged(c, d));

    // A read-only change AND an invalid member: read-only first.
    auto b = created(c, box());
    r = put(c, b, {{"folder", json::object{{"id", "2"}}}, {"title", 5}});
    EXPECT_TRUE(is_problem(r, 400, "read-only-field")) << r;
    EXPECT_TRUE(unchanged(c, b));

    // Valid, a bad transition AND a missing requirement: 409 first (in_progress -> submitted, no owner).
    auto s = created(c, dsr({{"status", "in_progress"}}));
    r = put(c, s, {{"status", "submitted"}});
    EXPECT_TRUE(is_problem(r, 409, "invalid-transition")) << r;
    // Valid, not mutable in this state AND a missing requirement for an allowed move: 409 first.
    auto docs = created(c, docspring({{"status", "viewed"}}));
    r = put(c, docs, {{"status", "completed"}, {"name", "late"}});
    EXPECT_TRUE(is_problem(r, 409, "not-updatable-in-state")) << r;
    EXPECT_TRUE(unchanged(c, s));
    EXPECT_TRUE(unchanged(c, docs));

    // Preconditions come before validation: a stale If-Match with an invalid body is 412.
    r = c.put(path_of(text(b, "id")), R"({"title":5})", {{"If-Match", "\"7\""}});
    EXPECT_TRUE(is_problem(r, 412, "precondition-failed")) << r;
    // The id format comes before the body.
    r = c.put(path_of("req_1"), "{not json");
    EXPECT_TRUE(is_problem(r, 400, "invalid-id")) << r;
}
