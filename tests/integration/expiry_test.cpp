// Scheduled expiry (docs/CONFIG.md "Scheduled expiry"): a box_file_request whose expires_at passes moves to
// `inactive` by itself, once, as a version by "system"; rescheduling, cancelling, timers that fall due while
// the server is down, and restarts under a shifted wall clock (libfaketime through LD_PRELOAD).
#include <thread>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
using wall = std::chrono::system_clock;

std::string at(wall::time_point t)
{
    return format_timestamp(t);
}

json::object box(client& c, json::value expires_at)
{
    json::object body{{"type", "box_file_request"},
                      {"title", "Contracts"},
                      {"folder", json::object{{"id", "42"}, {"type", "folder"}}},
                      {"expires_at", expires_at}};
    auto r = c.post("/v1/requests", json::serialize(body));
    if (r.status() != 201)
        throw std::runtime_error("create failed:\n" + describe(r));
    return r.object();
}

json::object box(client& c, const std::string& expires_at)
{
    return box(c, json::value(json::string_view(expires_at)));
}

// Polls the record until its status is `status` or `within` passes; returns the last record read.
json::object wait_for_status(client& c, const std::string& id, std::string_view status, millis within)
{
    const auto deadline = steady::now() + within;
    for (;;)
    {
        auto rec = get_record(c, id);
        if (text(rec, "status") == status || steady::now() >= deadline)
            return rec;
        std::this_thread::sleep_for(50ms);
    }
}

std::size_t system_versions(client& c, const std::string& id)
{
    std::size_t n = 0;
    for (const auto& h : history_of(c, id))
        if (h.contains("updated_by") && h.at("updated_by") == json::value("system"))
            ++n;
    return n;
}

void sleep_until(wall::time_point t)
{
    const auto left = t - wall::now();
    if (left > wall::duration::zero())
        std::this_thread::sleep_for(left);
}

// The record expired exactly once: `version` versions, the newest by "system" into inactive.
testing::AssertionResult expired_once(client& c, const std::string& id, std::int64_t version)
{
    auto rec = get_record(c, id);
    if (text(rec, "status") != "inactive")
        return testing::AssertionFailure() << "not inactive: " << json::serialize(rec);
    if (number(rec, "version") != version)
        return testing::AssertionFailure() << "expected version " << version << ": " << json::serialize(rec);
    if (text(rec, "updated_by") != "system")
        return testing::AssertionFailure() << "updated_by is not system: " << json::serialize(rec);
    auto history = history_of(c, id);
    if (static_cast<std::int64_t>(history.size()) != version)
        return testing::AssertionFailure() << "history has " << history.size() << " entries";
    if (text(history[0], "updated_by") != "system" || text(history[0], "status") != "inactive" ||
        number(history[0], "version") != version)
        return testing::AssertionFailure() << "newest history entry: " << json::serialize(history[0]);
    const auto n = system_versions(c, id);
    if (n != 1)
        return testing::AssertionFailure() << n << " versions by system";
    return testing::AssertionSuccess();
}
} // namespace

TEST(Expiry, RecordBecomesInactiveByItselfOnceItsTimePasses)
{
    server srv;
    auto c = srv.connect();
    const auto due = wall::now() + 2s;
    auto rec = box(c, at(due));
    const std::string id = text(rec, "id");
    EXPECT_EQ(text(rec, "status"), "active");

    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive") << "did not expire within 8 s of its time";
    EXPECT_GE(wall::now(), due);
    EXPECT_GE(*parse_timestamp(text(now, "updated_at")), *parse_timestamp(at(due)));
    EXPECT_EQ(text(now, "created_by"), "dev");
    EXPECT_EQ(text(now, "expires_at"), at(due)); // the attribute itself is kept
    EXPECT_TRUE(expired_once(c, id, 2));
    auto v2 = c.get(path_of(id) + "/versions/2").object();
    EXPECT_EQ(v2, now);

    // Time goes on: no second version.
    std::this_thread::sleep_for(1500ms);
    EXPECT_TRUE(expired_once(c, id, 2));
}

TEST(Expiry, TimesWithAnOffsetAreJudgedAsTheInstantTheyName)
{
    server srv;
    auto c = srv.connect();
    const auto due = std::chrono::ceil<std::chrono::seconds>(wall::now() + 2s);
    // The same instant written two hours east and three hours west of UTC.
    auto shifted = [&](std::chrono::hours offset, const char* suffix)
    {
        std::string s = format_timestamp(due + offset);
        return s.substr(0, s.size() - 1) + suffix;
    };
    auto east = box(c, shifted(2h, "+02:00"));
    auto west = box(c, shifted(-3h, "-03:00"));

    sleep_until(due - 700ms);
    EXPECT_EQ(text(get_record(c, text(east, "id")), "status"), "active") << "fired early";
    EXPECT_EQ(text(get_record(c, text(west, "id")), "status"), "active") << "fired early";
    for (const auto* rec : {&east, &west})
    {
        auto now = wait_for_status(c, text(*rec, "id"), "inactive", 10s);
        ASSERT_EQ(text(now, "status"), "inactive") << "did not fire: " << json::serialize(*rec);
        EXPECT_LT(*parse_timestamp(text(now, "updated_at")), due + 5s) << "fired late";
        EXPECT_TRUE(expired_once(c, text(*rec, "id"), 2));
    }
}

TEST(Expiry, ChangingExpiresAtBeforeItFallsDueReschedules)
{
    server srv;
    auto c = srv.connect();
    const auto t0 = wall::now();
    auto rec = box(c, at(t0 + 1500ms));
    const std::string id = text(rec, "id");
    const auto later = t0 + 4s;
    auto r = c.put(path_of(id), json::serialize(json::object{{"expires_at", at(later)}}));
    ASSERT_EQ(r.status(), 200u) << r;

    // The old time passes without effect.
    sleep_until(t0 + 2700ms);
    auto mid = get_record(c, id);
    EXPECT_EQ(text(mid, "status"), "active") << "the replaced expiry time fired";
    EXPECT_EQ(number(mid, "version"), 2);

    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive") << "the new expiry time did not fire";
    EXPECT_GE(wall::now(), later);
    EXPECT_TRUE(expired_once(c, id, 3));

    // Moving the time further out of an already passed one works too: back to active with a future time.
    r = c.put(path_of(id),
              json::serialize(json::object{{"status", "active"}, {"expires_at", at(wall::now() + 1h)}}));
    ASSERT_EQ(r.status(), 200u) << r;
    std::this_thread::sleep_for(1s);
    auto kept = get_record(c, id);
    EXPECT_EQ(text(kept, "status"), "active");
    EXPECT_EQ(number(kept, "version"), 4);
}

TEST(Expiry, SettingExpiresAtToNullCancels)
{
    server srv;
    auto c = srv.connect();
    const auto t0 = wall::now();
    auto rec = box(c, at(t0 + 1500ms));
    const std::string id = text(rec, "id");
    auto r = c.put(path_of(id), R"({"expires_at":null})");
    ASSERT_EQ(r.status(), 200u) << r;

    // A record created without a time has no timer either.
    auto plain = box(c, json::value(nullptr));

    sleep_until(t0 + 3s);
    auto now = get_record(c, id);
    EXPECT_EQ(text(now, "status"), "active");
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(system_versions(c, id), 0u);
    EXPECT_TRUE(unchanged(c, plain));
}

TEST(Expiry, DeletingTheRecordCancels)
{
    server srv;
    auto c = srv.connect();
    const auto t0 = wall::now();
    auto rec = box(c, at(t0 + 1500ms));
    const std::string id = text(rec, "id");
    ASSERT_EQ(c.del(path_of(id)).status(), 204u);

    sleep_until(t0 + 3s);
    EXPECT_TRUE(is_problem(c.get(path_of(id)), 410, "gone"));
    auto history = history_of(c, id);
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(system_versions(c, id), 0u);
    EXPECT_EQ(text(history[0], "updated_by"), "dev");
}

TEST(Expiry, LeavingTheExpiryStateAfterTheTimePassedMovesBackAtOnce)
{
    server srv;
    auto c = srv.connect();
    auto rec = box(c, at(wall::now() + 1s));
    const std::string id = text(rec, "id");
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive");

    auto r = c.put(path_of(id), R"({"status":"active"})");
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(number(r.object(), "version"), 3);
    now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive") << "a record past its expiry stayed active";
    EXPECT_EQ(number(now, "version"), 4);
    EXPECT_EQ(text(now, "updated_by"), "system");
    EXPECT_EQ(system_versions(c, id), 2u);
}

TEST(Expiry, ATimeAlreadyPastFiresAtOnce)
{
    server srv;
    auto c = srv.connect();
    auto rec = box(c, at(wall::now() - 1h));
    const std::string id = text(rec, "id");
    EXPECT_EQ(number(rec, "version"), 1);
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive");
    EXPECT_TRUE(expired_once(c, id, 2));

    // Created in the expiry state itself: no timer, nothing happens.
    json::object body{{"type", "box_file_request"},
                      {"status", "inactive"},
                      {"title", "t"},
                      {"folder", json::object{}},
                      {"expires_at", at(wall::now() - 1h)}};
    auto r = c.post("/v1/requests", json::serialize(body));
    ASSERT_EQ(r.status(), 201u) << r;
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(unchanged(c, r.object()));
}

TEST(Expiry, TimerSurvivesKillNineAndFiresAfterRestart)
{
    server srv;
    auto c = srv.connect();
    const auto due = wall::now() + 1s;
    auto rec = box(c, at(due));
    const std::string id = text(rec, "id");
    srv.kill_hard();
    sleep_until(due + 300ms);
    srv.restart();
    c = srv.connect();
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive");
    EXPECT_TRUE(expired_once(c, id, 2));
}

TEST(Expiry, TimerDueWhileTheServerIsDownFiresOnceAfterRestart)
{
    server srv;
    auto c = srv.connect();
    const auto due = wall::now() + 2s;
    auto rec = box(c, at(due));
    const std::string id = text(rec, "id");
    // An untouched neighbour with a far time must not fire.
    auto far = box(c, at(wall::now() + 24h));

    ASSERT_EQ(srv.stop(), 0);
    sleep_until(due + 700ms);
    srv.restart();
    c = srv.connect();
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive") << "the timer that fell due while down did not fire";
    EXPECT_TRUE(expired_once(c, id, 2));
    EXPECT_TRUE(unchanged(c, far));

    // Another restart does not fire it again.
    ASSERT_EQ(srv.stop(), 0);
    srv.restart();
    c = srv.connect();
    std::this_thread::sleep_for(1s);
    EXPECT_TRUE(expired_once(c, id, 2));
    EXPECT_TRUE(unchanged(c, far));
}

TEST(Expiry, ATimeChangedAfterARestartReplacesTheStoredTimer)
{
    server srv;
    auto c = srv.connect();
    auto rec = box(c, at(wall::now() + 1h));
    const std::string id = text(rec, "id");
    ASSERT_EQ(srv.stop(), 0);
    srv.restart();
    c = srv.connect();
    // The timer loaded at start is replaced by the new time.
    auto r = c.put(path_of(id), json::serialize(json::object{{"expires_at", at(wall::now() + 1s)}}));
    ASSERT_EQ(r.status(), 200u) << r;
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive");
    EXPECT_TRUE(expired_once(c, id, 3));
    ASSERT_EQ(srv.stop(), 0);

    // Past the old time (clock two hours ahead): the old timer is gone, nothing fires.
    srv.set_env(faketime_env("+2h"));
    srv.restart();
    c = srv.connect();
    std::this_thread::sleep_for(1s);
    EXPECT_TRUE(expired_once(c, id, 3));
}

TEST(Expiry, ClockJumpForwardFiresOnceAndTheJumpBackDoesNotFireAgain)
{
    server srv;
    auto c = srv.connect();
    auto rec = box(c, at(wall::now() + 1h));
    const std::string id = text(rec, "id");
    auto far = box(c, at(wall::now() + 5h));
    ASSERT_EQ(srv.stop(), 0);

    // Restart with the wall clock two hours ahead: the one-hour timer is past due.
    srv.set_env(faketime_env("+2h"));
    srv.restart();
    // libfaketime is preloaded into the binary itself: the pid we signal is the server's.
    EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(srv.pid()) + "/exe").filename(),
              "reqstore");
    c = srv.connect();
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive") << "did not fire under a clock two hours ahead";
    EXPECT_TRUE(expired_once(c, id, 2));
    // The server's clock really was ahead: the version is stamped about two hours from now.
    EXPECT_GT(*parse_timestamp(text(now, "updated_at")), wall::now() + 90min);
    EXPECT_TRUE(unchanged(c, far));
    ASSERT_EQ(srv.stop(), 0);

    // Back to the real clock (two hours earlier): nothing fires a second time.
    srv.set_env({});
    srv.restart();
    c = srv.connect();
    std::this_thread::sleep_for(1500ms);
    EXPECT_TRUE(expired_once(c, id, 2));
    EXPECT_TRUE(unchanged(c, far));
}

TEST(Expiry, ClockSetBackDoesNotFireEarly)
{
    server srv;
    auto c = srv.connect();
    const auto due = wall::now() + 2s;
    auto rec = box(c, at(due));
    const std::string id = text(rec, "id");
    ASSERT_EQ(srv.stop(), 0);

    // With the wall clock an hour behind, the real due time passes without effect.
    srv.set_env(faketime_env("-1h"));
    srv.restart();
    c = srv.connect();
    sleep_until(due + 1500ms);
    EXPECT_TRUE(unchanged(c, rec)) << "fired although the server's clock is an hour before the time";
    ASSERT_EQ(srv.stop(), 0);

    // With the real clock again it is past due and fires once.
    srv.set_env({});
    srv.restart();
    c = srv.connect();
    auto now = wait_for_status(c, id, "inactive", 10s);
    ASSERT_EQ(text(now, "status"), "inactive");
    EXPECT_TRUE(expired_once(c, id, 2));
}

namespace
{
// A type of this test: open -> expired (the expiry state, which needs an owner and is stamped in expired_at),
// open -> blocked (from which expired cannot be reached), expired -> open.
const std::string task_config = R"({"types":{"task":{"id_prefix":"tsk_",
  "states":["open","expired","blocked","done"],"initial":"open",
  "transitions":{"open":["expired","blocked","done"],"expired":["open"],"blocked":["open"]},
  "final":["done"],
  "attributes":{"due":{"type":"datetime"},"owner":{"type":"string"},
                "expired_at":{"type":"datetime","read_only":true}},
  "requires":{"expired":["owner"]},
  "timestamps":{"expired":"expired_at"},
  "expires":{"attribute":"due","state":"expired"}}}})";

json::object task(client& c, json::object body)
{
    body["type"] = "task";
    auto r = c.post("/v1/requests", json::serialize(body));
    if (r.status() != 201)
        throw std::runtime_error("create failed:\n" + describe(r));
    return r.object();
}
} // namespace

TEST(Expiry, TheExpiryVersionSetsTheStatesTimestampAndObeysTheTypesRules)
{
    server_options o;
    o.config = task_config;
    server srv(o);
    auto c = srv.connect();
    const auto due = wall::now() + 1s;
    auto owned = task(c, {{"owner", "ann"}, {"due", at(due)}});
    auto unowned = task(c, {{"due", at(due)}});
    auto blocked = task(c, {{"owner", "bob"}, {"due", at(due)}, {"status", "blocked"}});
    const std::string id = text(owned, "id");

    auto now = wait_for_status(c, id, "expired", 10s);
    ASSERT_EQ(text(now, "status"), "expired");
    EXPECT_EQ(text(now, "updated_by"), "system");
    EXPECT_EQ(number(now, "version"), 2);
    EXPECT_EQ(text(now, "expired_at"), text(now, "updated_at"));
    const std::string first_stamp = text(now, "expired_at");

    // The timers of records whose state rules forbid the move are dropped without a version.
    sleep_until(due + 1s);
    EXPECT_TRUE(unchanged(c, unowned)) << "expired although `expired` requires an owner";
    EXPECT_TRUE(unchanged(c, blocked)) << "expired although blocked -> expired is no transition";

    // Back to open with a new time: it expires again, and the timestamp is the new commit time.
    auto r =
        c.put(path_of(id), json::serialize(json::object{{"status", "open"}, {"due", at(wall::now() + 1s)}}));
    ASSERT_EQ(r.status(), 200u) << r;
    now = wait_for_status(c, id, "expired", 10s);
    ASSERT_EQ(text(now, "status"), "expired");
    EXPECT_EQ(number(now, "version"), 4);
    EXPECT_EQ(text(now, "expired_at"), text(now, "updated_at"));
    EXPECT_NE(text(now, "expired_at"), first_stamp);
    EXPECT_EQ(system_versions(c, id), 2u);
}
