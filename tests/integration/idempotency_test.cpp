// Idempotency-Key (docs/API.md "Idempotency-Key"): replays of the stored answer, conflicts, keys per API key,
// retried conditional writes, failed writes not stored, malformed keys, concurrent repeats, survival of kill
// -9, and expiry after 24 hours (a restart under a clock 25 h ahead, libfaketime through LD_PRELOAD).
#include <latch>
#include <thread>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
const std::string create_body = R"({"type":"request","name":"idempotent"})";

header_list key(std::string value)
{
    return {{"Idempotency-Key", std::move(value)}};
}

// The answer replays `first`: same status, Location, ETag, Content-Type and body, marked as replayed.
testing::AssertionResult replays(const response& again, const response& first)
{
    if (again.status() != first.status())
        return testing::AssertionFailure()
               << "status " << again.status() << " instead of " << first.status() << again;
    if (again.header("Idempotent-Replayed") != "true")
        return testing::AssertionFailure() << "no Idempotent-Replayed: true" << again;
    for (const char* h : {"Location", "ETag", "Content-Type", "Content-Location"})
        if (again.header(h) != first.header(h))
            return testing::AssertionFailure() << h << " differs: \"" << again.header(h) << "\" vs \""
                                               << first.header(h) << "\"" << again;
    if (again.body() != first.body())
        return testing::AssertionFailure() << "body differs:\n" << again.body() << "\nvs\n" << first.body();
    return testing::AssertionSuccess();
}

const std::string two_keys_config = R"({"auth":{"keys":[
  {"id":"dev","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["admin"]},
  {"id":"other","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["requests:read","requests:write"]}]}})";
} // namespace

TEST(Idempotency, SameKeyAndRequestReplaysTheFirstAnswer)
{
    server srv;
    auto c = srv.connect();
    auto first = c.post("/v1/requests", create_body, key("create-1"));
    ASSERT_EQ(first.status(), 201u) << first;
    EXPECT_FALSE(first.has_header("Idempotent-Replayed")) << first;
    ASSERT_FALSE(first.header("Location").empty()) << first;
    ASSERT_FALSE(first.header("ETag").empty()) << first;

    for (int i = 0; i < 3; ++i)
    {
        auto again = c.post("/v1/requests", create_body, key("create-1"));
        EXPECT_TRUE(replays(again, first));
    }
    // A fresh connection is no different.
    auto other = srv.connect();
    EXPECT_TRUE(replays(other.post("/v1/requests", create_body, key("create-1")), first));

    auto records = list_all(c, "type=request");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(number(records[0], "version"), 1);

    // Replays work for PUT, PATCH and DELETE too, and commit nothing more.
    const std::string path = first.header("Location");
    auto put = c.put(path, R"({"name":"v2"})", key("put-1"));
    ASSERT_EQ(put.status(), 200u) << put;
    EXPECT_TRUE(replays(c.put(path, R"({"name":"v2"})", key("put-1")), put));
    auto patch = c.patch(path, R"({"name":"v3"})",
                         {{"Idempotency-Key", "patch-1"}, {"Content-Type", "application/merge-patch+json"}});
    ASSERT_EQ(patch.status(), 200u) << patch;
    EXPECT_TRUE(
        replays(c.patch(path, R"({"name":"v3"})",
                        {{"Idempotency-Key", "patch-1"}, {"Content-Type", "application/merge-patch+json"}}),
                patch));
    auto del = c.del(path, key("del-1"));
    ASSERT_EQ(del.status(), 204u) << del;
    EXPECT_TRUE(replays(c.del(path, key("del-1")), del));
    // The stored answers stay what they were, though the record has moved on (and is deleted).
    EXPECT_TRUE(replays(c.post("/v1/requests", create_body, key("create-1")), first));
    EXPECT_TRUE(replays(c.put(path, R"({"name":"v2"})", key("put-1")), put));
    EXPECT_EQ(history_of(c, text(records[0], "id")).size(), 4u);
}

TEST(Idempotency, QuotedAndBareFormsAreTheSameKey)
{
    server srv;
    auto c = srv.connect();
    auto first = c.post("/v1/requests", create_body, key("\"abc-123\""));
    ASSERT_EQ(first.status(), 201u) << first;
    EXPECT_TRUE(replays(c.post("/v1/requests", create_body, key("abc-123")), first));
    EXPECT_TRUE(replays(c.post("/v1/requests", create_body, key("\"abc-123\"")), first));

    auto second = c.post("/v1/requests", create_body, key("xyz"));
    ASSERT_EQ(second.status(), 201u) << second;
    EXPECT_TRUE(replays(c.post("/v1/requests", create_body, key("\"xyz\"")), second));
    // The bare form with another body conflicts with the quoted one.
    EXPECT_TRUE(is_problem(c.post("/v1/requests", R"({"type":"request"})", key("abc-123")), 422,
                           "idempotency-conflict"));
    EXPECT_EQ(list_all(c, "type=request").size(), 2u);
}

TEST(Idempotency, SameKeyWithAnotherRequestIs422)
{
    server srv;
    auto c = srv.connect();
    auto first = c.post("/v1/requests", create_body, key("k"));
    ASSERT_EQ(first.status(), 201u) << first;
    const std::string path = first.header("Location");
    auto rec = get_record(c, text(first.object(), "id"));

    // Another body, path or method.
    EXPECT_TRUE(is_problem(c.post("/v1/requests", R"({"type":"request","name":"other"})", key("k")), 422,
                           "idempotency-conflict", "/v1/requests"));
    EXPECT_TRUE(is_problem(c.put(path, create_body, key("k")), 422, "idempotency-conflict", path));
    EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"x"})", key("k")), 422, "idempotency-conflict", path));
    EXPECT_TRUE(is_problem(c.del(path, key("k")), 422, "idempotency-conflict", path));
    EXPECT_TRUE(unchanged(c, rec));

    // The same for a stored PUT: another method, another path, another body.
    auto other = create_record(c, {{"name", "b"}});
    auto put = c.put(path, R"({"name":"p"})", key("p"));
    ASSERT_EQ(put.status(), 200u) << put;
    rec = put.object();
    EXPECT_TRUE(is_problem(c.patch(path, R"({"name":"p"})", key("p")), 422, "idempotency-conflict"));
    EXPECT_TRUE(is_problem(c.put(path_of(text(other, "id")), R"({"name":"p"})", key("p")), 422,
                           "idempotency-conflict"));
    EXPECT_TRUE(is_problem(c.put(path, R"({"name":"q"})", key("p")), 422, "idempotency-conflict"));
    EXPECT_TRUE(is_problem(c.put(path + "?x=1", R"({"name":"p"})", key("p")), 422, "idempotency-conflict"));
    EXPECT_TRUE(unchanged(c, rec));
    EXPECT_TRUE(unchanged(c, other));
    EXPECT_EQ(list_all(c, "type=request").size(), 2u);
}

TEST(Idempotency, KeysBelongToTheApiKey)
{
    server_options o;
    o.config = two_keys_config;
    server srv(o);
    auto dev = srv.connect();
    auto other = srv.connect();
    other.set_credentials(std::make_pair(std::string("X-API-Key"), std::string("other.dev-secret")));

    auto a = dev.post("/v1/requests", create_body, key("shared"));
    ASSERT_EQ(a.status(), 201u) << a;
    auto b = other.post("/v1/requests", create_body, key("shared"));
    ASSERT_EQ(b.status(), 201u) << b;
    EXPECT_FALSE(b.has_header("Idempotent-Replayed")) << b;
    EXPECT_NE(text(a.object(), "id"), text(b.object(), "id"));
    EXPECT_EQ(text(b.object(), "created_by"), "other");
    // Another body under the other key id is no conflict either.
    auto c = other.post("/v1/requests", R"({"type":"request","name":"else"})", key("shared-2"));
    ASSERT_EQ(c.status(), 201u) << c;
    auto d = dev.post("/v1/requests", create_body, key("shared-2"));
    ASSERT_EQ(d.status(), 201u) << d;

    // Each key replays its own answer.
    EXPECT_TRUE(replays(dev.post("/v1/requests", create_body, key("shared")), a));
    EXPECT_TRUE(replays(other.post("/v1/requests", create_body, key("shared")), b));
    EXPECT_EQ(list_all(dev, "type=request").size(), 4u);
}

TEST(Idempotency, RetriedConditionalPutReplays200InsteadOf412)
{
    server srv;
    auto c = srv.connect();
    auto rec = create_record(c, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));
    const header_list h{{"If-Match", "\"1\""}, {"Idempotency-Key", "cas-1"}};

    auto first = c.put(path, R"({"name":"b"})", h);
    ASSERT_EQ(first.status(), 200u) << first;
    EXPECT_EQ(first.header("ETag"), "\"2\"");
    // The retry carries the now stale If-Match "1": the stored answer, not 412.
    auto again = c.put(path, R"({"name":"b"})", h);
    EXPECT_TRUE(replays(again, first));
    EXPECT_EQ(again.header("ETag"), "\"2\"");
    // Without the key the stale precondition fails as usual.
    EXPECT_TRUE(
        is_problem(c.put(path, R"({"name":"b"})", {{"If-Match", "\"1\""}}), 412, "precondition-failed"));
    auto now = get_record(c, text(rec, "id"));
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(history_of(c, text(rec, "id")).size(), 2u);

    // A retried create-only PUT (If-None-Match: *) replays 201 instead of 412.
    const std::string new_path = path_of(fresh_id());
    const header_list create_only{{"If-None-Match", "*"}, {"Idempotency-Key", "create-only"}};
    auto created = c.put(new_path, R"({"type":"request","name":"n"})", create_only);
    ASSERT_EQ(created.status(), 201u) << created;
    EXPECT_TRUE(replays(c.put(new_path, R"({"type":"request","name":"n"})", create_only), created));
    EXPECT_TRUE(is_problem(c.put(new_path, R"({"type":"request","name":"n"})", {{"If-None-Match", "*"}}), 412,
                           "precondition-failed"));

    // A retried conditional DELETE of a deleted record replays 204 instead of 410/412.
    const header_list d{{"If-Match", "\"2\""}, {"Idempotency-Key", "cas-del"}};
    auto del = c.del(path, d);
    ASSERT_EQ(del.status(), 204u) << del;
    EXPECT_TRUE(replays(c.del(path, d), del));
}

TEST(Idempotency, FailingWritesAreNotStored)
{
    server srv;
    auto c = srv.connect();
    // 400: the corrected retry with the same key succeeds.
    auto bad = c.post("/v1/requests", R"({"type":"docspring_data_request","email":"nope"})", key("fix-me"));
    ASSERT_TRUE(is_problem(bad, 400, "validation-failed"));
    auto again = c.post("/v1/requests", R"({"type":"docspring_data_request","email":"nope"})", key("fix-me"));
    EXPECT_TRUE(is_problem(again, 400, "validation-failed"));
    EXPECT_FALSE(again.has_header("Idempotent-Replayed")) << again;
    auto good =
        c.post("/v1/requests", R"({"type":"docspring_data_request","email":"a@example.com"})", key("fix-me"));
    ASSERT_EQ(good.status(), 201u) << good;
    EXPECT_TRUE(replays(
        c.post("/v1/requests", R"({"type":"docspring_data_request","email":"a@example.com"})", key("fix-me")),
        good));

    // 412 and 409 are not stored either.
    const std::string path = good.header("Location");
    auto stale = c.put(path, R"({"name":"n"})", {{"If-Match", "\"5\""}, {"Idempotency-Key", "stale"}});
    EXPECT_TRUE(is_problem(stale, 412, "precondition-failed"));
    auto fresh = c.put(path, R"({"name":"n"})", {{"If-Match", "\"1\""}, {"Idempotency-Key", "stale"}});
    EXPECT_EQ(fresh.status(), 200u) << fresh;
    auto noop = c.put(path, R"({"status":"pending"})", key("moves"));
    EXPECT_EQ(noop.status(), 200u) << "no change: " << noop;
    auto viewed = c.put(path, R"({"status":"viewed"})", key("moves"));
    EXPECT_EQ(viewed.status(), 200u) << "a write that changed nothing was stored: " << viewed;
    EXPECT_EQ(number(get_record(c, text(good.object(), "id")), "version"), 3);
}

TEST(Idempotency, MalformedKeyIs400AndChangesNothing)
{
    server srv;
    auto c = srv.connect();
    const std::string too_long(256, 'k');
    for (const std::string& bad :
         {std::string(), std::string("\"\""), std::string(300, 'a'), too_long, std::string("caf\xC3\xA9")})
    {
        auto r = c.post("/v1/requests", create_body, key(bad));
        EXPECT_TRUE(is_problem(r, 400, "bad-request", "/v1/requests")) << "key \"" << bad << "\"";
    }
    // A control character: 400 (the header itself may be refused before it is read as a key).
    auto r = c.post("/v1/requests", create_body, key(std::string("a\x01") + "b"));
    EXPECT_EQ(r.status(), 400u) << r;
    c.close();
    EXPECT_EQ(list_all(c, "type=request").size(), 0u);

    // The longest allowed key, and printable punctuation, are fine.
    auto ok = c.post("/v1/requests", create_body, key(std::string(255, 'k')));
    EXPECT_EQ(ok.status(), 201u) << ok;
    ok = c.post("/v1/requests", create_body, key("a:b/c=d~!{}[]"));
    EXPECT_EQ(ok.status(), 201u) << ok;
}

TEST(Idempotency, ConcurrentRepeatsCreateOneRecord)
{
    server srv;
    constexpr int n = 16;
    std::vector<client> clients;
    for (int i = 0; i < n; ++i)
    {
        clients.push_back(srv.connect());
        clients.back().open();
    }
    std::vector<response> answers(n);
    std::vector<std::string> failures(n);
    std::latch start(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back(
            [&, i]
            {
                start.arrive_and_wait();
                try
                {
                    answers[i] = clients[i].post("/v1/requests", create_body, key("together"));
                }
                catch (const std::exception& e)
                {
                    failures[i] = e.what();
                }
            });
    for (auto& t : threads)
        t.join();

    std::string id;
    int fresh = 0;
    for (int i = 0; i < n; ++i)
    {
        ASSERT_TRUE(failures[i].empty()) << failures[i];
        const auto& r = answers[i];
        if (r.status() == 201)
        {
            const auto got = text(r.object(), "id");
            if (id.empty())
                id = got;
            EXPECT_EQ(got, id) << "two records for one key";
            if (r.header("Idempotent-Replayed") != "true")
                ++fresh;
        }
        else
        {
            EXPECT_TRUE(is_problem(r, 409, "idempotency-conflict")) << "answer " << i;
        }
    }
    EXPECT_EQ(fresh, 1) << "answers that were not replays";
    auto c = srv.connect();
    auto records = list_all(c, "type=request");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(text(records[0], "id"), id);
    EXPECT_EQ(number(records[0], "version"), 1);
    // Once settled, the key replays.
    auto again = c.post("/v1/requests", create_body, key("together"));
    EXPECT_EQ(again.status(), 201u) << again;
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
}

TEST(Idempotency, StoredAnswerSurvivesKillAndRestart)
{
    server srv;
    auto c = srv.connect();
    auto first = c.post("/v1/requests", create_body, key("durable"));
    ASSERT_EQ(first.status(), 201u) << first;
    srv.kill_hard();
    srv.restart();
    c = srv.connect();
    EXPECT_TRUE(replays(c.post("/v1/requests", create_body, key("durable")), first));
    EXPECT_TRUE(is_problem(c.post("/v1/requests", R"({"type":"request"})", key("durable")), 422,
                           "idempotency-conflict"));
    EXPECT_EQ(list_all(c, "type=request").size(), 1u);
}

TEST(Idempotency, KeysExpireAfter24Hours)
{
    server srv;
    auto c = srv.connect();
    auto first = c.post("/v1/requests", create_body, key("day-old"));
    ASSERT_EQ(first.status(), 201u) << first;
    auto second = c.post("/v1/requests", create_body, key("hour-old"));
    ASSERT_EQ(second.status(), 201u) << second;
    ASSERT_EQ(srv.stop(), 0);

    // An hour later the key still replays.
    srv.set_env(faketime_env("+1h"));
    srv.restart();
    c = srv.connect();
    EXPECT_TRUE(replays(c.post("/v1/requests", create_body, key("hour-old")), second));
    ASSERT_EQ(srv.stop(), 0);

    // 25 hours later it is free again: another body is accepted as new, and so is the first body.
    srv.set_env(faketime_env("+25h"));
    srv.restart();
    c = srv.connect();
    auto other = c.post("/v1/requests", R"({"type":"request","name":"a day later"})", key("day-old"));
    ASSERT_EQ(other.status(), 201u) << other;
    EXPECT_FALSE(other.has_header("Idempotent-Replayed")) << other;
    auto same = c.post("/v1/requests", create_body, key("hour-old"));
    ASSERT_EQ(same.status(), 201u) << same;
    EXPECT_FALSE(same.has_header("Idempotent-Replayed")) << same;
    EXPECT_NE(text(same.object(), "id"), text(second.object(), "id"));
    EXPECT_EQ(list_all(c, "type=request").size(), 4u);
    // The new answers are stored in their turn.
    EXPECT_TRUE(
        replays(c.post("/v1/requests", R"({"type":"request","name":"a day later"})", key("day-old")), other));
}
