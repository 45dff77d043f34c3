// reqstore-sink (API.md section 11) as a program: signed deliveries made here with hooks::sign are
// verified and recorded; duplicates, out-of-order versions and gaps are counted per path; the
// simulated failures answer as asked; two attempts of one record at one path in flight at once are
// counted as overlapping; SIGTERM writes --json and exits 0.
#include <reqstore/hooks/signer.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <future>
#include <latch>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <unistd.h>

#include "harness.hpp"

#ifndef REQSTORE_SINK_BINARY
#define REQSTORE_SINK_BINARY "reqstore-sink"
#endif

using namespace reqstore::test;

namespace
{

constexpr std::string_view sink_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view other_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::vector<unsigned char> key_of(std::string_view secret)
{
    auto key = reqstore::hooks::decode_secret(secret);
    if (!key)
        throw std::runtime_error("not a secret: " + std::string(secret));
    return *key;
}

// A sink with `sink_secret` and these extra arguments.
server start_sink(std::vector<std::string> args = {})
{
    server_options options;
    options.binary = REQSTORE_SINK_BINARY;
    options.extra_args = {"--secret", std::string(sink_secret)};
    options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
    return server(std::move(options));
}

std::int64_t now_seconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An event body as reqstore sends it.
std::string event_body(std::string_view record, std::int64_t version,
                       std::string_view type = "request.status_changed")
{
    json::object data{{"id", record},       {"type", "request"},
                      {"from", "pending"},  {"to", "done"},
                      {"version", version}, {"request", {{"id", record}, {"version", version}}}};
    return to_json(
        json::object{{"type", type}, {"timestamp", "2026-11-22T04:46:31.991Z"}, {"data", std::move(data)}});
}

// POSTs `body` to `path`, signed with `secret` as webhook `id` at `timestamp`.
response deliver(client& c, std::string_view path, std::string_view id, const std::string& body,
                 std::string_view secret = sink_secret, std::int64_t timestamp = now_seconds())
{
    const std::string signature = reqstore::hooks::sign(key_of(secret), id, timestamp, body);
    return c.post(path, body,
                  {{"webhook-id", std::string(id)},
                   {"webhook-timestamp", std::to_string(timestamp)},
                   {"webhook-signature", signature}});
}

json::object stats_of(client& c)
{
    auto r = c.get("/stats");
    if (r.status() != 200)
        throw std::runtime_error("GET /stats failed:\n" + describe(r));
    return r.object();
}

json::object path_stats(const json::object& stats, std::string_view path)
{
    const auto& by_path = stats.at("by_path").as_object();
    const auto it = by_path.find(json::string_view(path.data(), path.size()));
    if (it == by_path.end())
        throw std::runtime_error("no by_path entry for " + std::string(path) + " in " + to_json(stats));
    return it->value().as_object();
}

client connect_to(const server& sink)
{
    client c = sink.connect();
    c.set_credentials(std::nullopt);
    return c;
}

// Delivers on a connection of its own, from another thread; get() gives the status or rethrows.
// With `ready`, the connection is made first and the delivery sent once every sender is ready.
std::future<unsigned> deliver_in_background(const server& sink, std::string path, std::string id,
                                            std::string body, std::latch* ready = nullptr)
{
    return std::async(
        std::launch::async,
        [port = sink.port(), path = std::move(path), id = std::move(id), body = std::move(body), ready]
        {
            client c(port);
            c.set_credentials(std::nullopt);
            c.open();
            if (ready != nullptr)
                ready->arrive_and_wait();
            return deliver(c, path, id, body).status();
        });
}

} // namespace

TEST(ReqstoreSink, PrintsItsListeningLineAndAnswersStatsWhenEmpty)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    const auto stats = stats_of(c);
    for (const char* counter : {"received", "accepted", "bad_signature", "duplicates", "out_of_order", "gaps",
                                "failed_on_purpose", "records"})
        EXPECT_EQ(number(stats, counter), 0) << counter << " in " << to_json(stats);
    EXPECT_TRUE(stats.at("by_path").as_object().empty());
    EXPECT_TRUE(stats.at("last").as_array().empty());
}

TEST(ReqstoreSink, AcceptsDeliveriesSignedWithHooksSign)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    const std::string record = "req_01JDE8Z1W8M4Q6Q1V0GJ7T3N5B";
    for (std::int64_t v = 1; v <= 3; ++v)
    {
        auto r = deliver(c, "/hooks", "evt_" + std::to_string(v), event_body(record, v));
        EXPECT_EQ(r.status(), 200u) << r;
    }
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "received"), 3);
    EXPECT_EQ(number(stats, "accepted"), 3);
    EXPECT_EQ(number(stats, "bad_signature"), 0);
    EXPECT_EQ(number(stats, "duplicates"), 0);
    EXPECT_EQ(number(stats, "out_of_order"), 0);
    EXPECT_EQ(number(stats, "gaps"), 0);
    EXPECT_EQ(number(stats, "records"), 1);
    const auto& last = stats.at("last").as_array();
    ASSERT_EQ(last.size(), 3u);
    const auto& newest = last.back().as_object();
    EXPECT_EQ(text(newest, "id"), "evt_3");
    EXPECT_EQ(text(newest, "type"), "request.status_changed");
    EXPECT_EQ(text(newest, "record"), record);
    EXPECT_EQ(number(newest, "version"), 3);
    EXPECT_EQ(text(newest, "path"), "/hooks");
    EXPECT_TRUE(is_timestamp(text(newest, "at"))) << text(newest, "at");
}

TEST(ReqstoreSink, AcceptsPostsOnDeepPathsAndTheRoot)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    EXPECT_EQ(deliver(c, "/", "evt_1", event_body("req_a", 1)).status(), 200u);
    EXPECT_EQ(deliver(c, "/a/b/c/d", "evt_1", event_body("req_a", 1)).status(), 200u);
    EXPECT_EQ(deliver(c, "/a/b/", "evt_1", event_body("req_a", 1)).status(), 200u);
    EXPECT_EQ(deliver(c, "/hooks?tenant=7", "evt_1", event_body("req_a", 1)).status(), 200u);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "accepted"), 4);
    EXPECT_EQ(number(stats, "duplicates"), 0) << "the same event at another path is no duplicate";
    for (const char* path : {"/", "/a/b/c/d", "/a/b/", "/hooks"})
        EXPECT_EQ(number(path_stats(stats, path), "accepted"), 1) << path;
}

TEST(ReqstoreSink, AnswersAWrongSignatureWith401AndCountsIt)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    const std::string body = event_body("req_a", 1);
    EXPECT_EQ(deliver(c, "/hooks", "evt_1", body, other_secret).status(), 401u);
    // A valid signature over another body.
    const std::string signature = reqstore::hooks::sign(key_of(sink_secret), "evt_1", now_seconds(), body);
    const std::string ts = std::to_string(now_seconds());
    EXPECT_EQ(c.post("/hooks", event_body("req_a", 2),
                     {{"webhook-id", "evt_1"}, {"webhook-timestamp", ts}, {"webhook-signature", signature}})
                  .status(),
              401u);
    // Each header missing in turn.
    EXPECT_EQ(c.post("/hooks", body, {{"webhook-timestamp", ts}, {"webhook-signature", signature}}).status(),
              401u);
    EXPECT_EQ(c.post("/hooks", body, {{"webhook-id", "evt_1"}, {"webhook-signature", signature}}).status(),
              401u);
    EXPECT_EQ(c.post("/hooks", body, {{"webhook-id", "evt_1"}, {"webhook-timestamp", ts}}).status(), 401u);

    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "received"), 5);
    EXPECT_EQ(number(stats, "bad_signature"), 5);
    EXPECT_EQ(number(stats, "accepted"), 0);
    EXPECT_EQ(number(stats, "records"), 0);
    EXPECT_EQ(number(path_stats(stats, "/hooks"), "bad_signature"), 5);
}

TEST(ReqstoreSink, AcceptsASignatureByAnyOfSeveralSecrets)
{
    server sink = start_sink({"--secret", std::string(other_secret)});
    auto c = connect_to(sink);
    EXPECT_EQ(deliver(c, "/hooks", "evt_1", event_body("req_a", 1), sink_secret).status(), 200u);
    EXPECT_EQ(deliver(c, "/hooks", "evt_2", event_body("req_a", 2), other_secret).status(), 200u);
    EXPECT_EQ(number(stats_of(c), "accepted"), 2);
}

TEST(ReqstoreSink, RefusesTimestampsOutsideMaxAge)
{
    server sink = start_sink({"--max-age", "60"});
    auto c = connect_to(sink);
    EXPECT_EQ(
        deliver(c, "/hooks", "evt_1", event_body("req_a", 1), sink_secret, now_seconds() - 120).status(),
        401u);
    EXPECT_EQ(
        deliver(c, "/hooks", "evt_2", event_body("req_a", 1), sink_secret, now_seconds() + 120).status(),
        401u);
    EXPECT_EQ(deliver(c, "/hooks", "evt_3", event_body("req_a", 1), sink_secret, now_seconds() - 30).status(),
              200u);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "bad_signature"), 2);
    EXPECT_EQ(number(stats, "stale_timestamps"), 2);
    EXPECT_EQ(number(stats, "accepted"), 1);
}

TEST(ReqstoreSink, CountsDuplicatesOutOfOrderAndGapsPerPath)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    // /a: v1, v1 again (a retry: duplicate), v3 (gap), v2 (out of order), v4.
    EXPECT_EQ(deliver(c, "/a", "evt_1", event_body("req_x", 1)).object().at("duplicate"), json::value(false));
    EXPECT_EQ(deliver(c, "/a", "evt_1", event_body("req_x", 1)).object().at("duplicate"), json::value(true));
    EXPECT_EQ(deliver(c, "/a", "evt_3", event_body("req_x", 3)).object().at("gap"), json::value(true));
    EXPECT_EQ(deliver(c, "/a", "evt_2", event_body("req_x", 2)).object().at("out_of_order"),
              json::value(true));
    EXPECT_EQ(deliver(c, "/a", "evt_4", event_body("req_x", 4)).status(), 200u);
    // /b gets the same record's events in order, each once: nothing to report there.
    for (std::int64_t v = 1; v <= 4; ++v)
        EXPECT_EQ(deliver(c, "/b", "evt_" + std::to_string(v), event_body("req_x", v)).status(), 200u);
    // /c starts at version 2 (a gap from 0: it missed request.created) and skips 3 and 4.
    EXPECT_EQ(deliver(c, "/c", "evt_2", event_body("req_x", 2)).status(), 200u);
    EXPECT_EQ(deliver(c, "/c", "evt_5", event_body("req_x", 5)).status(), 200u);
    // Another record at /a is a stream of its own.
    EXPECT_EQ(deliver(c, "/a", "evt_y1", event_body("req_y", 1)).status(), 200u);

    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "accepted"), 12);
    EXPECT_EQ(number(stats, "duplicates"), 1);
    EXPECT_EQ(number(stats, "out_of_order"), 1);
    EXPECT_EQ(number(stats, "gaps"), 3);
    EXPECT_EQ(number(stats, "missing_versions"), 1 + 1 + 2);
    EXPECT_EQ(number(stats, "records"), 2);

    const auto a = path_stats(stats, "/a");
    EXPECT_EQ(number(a, "received"), 6);
    EXPECT_EQ(number(a, "accepted"), 6);
    EXPECT_EQ(number(a, "duplicates"), 1);
    EXPECT_EQ(number(a, "out_of_order"), 1);
    EXPECT_EQ(number(a, "gaps"), 1);
    const auto b = path_stats(stats, "/b");
    EXPECT_EQ(number(b, "accepted"), 4);
    EXPECT_EQ(number(b, "duplicates"), 0);
    EXPECT_EQ(number(b, "out_of_order"), 0);
    EXPECT_EQ(number(b, "gaps"), 0);
    const auto cs = path_stats(stats, "/c");
    EXPECT_EQ(number(cs, "gaps"), 2);
    EXPECT_EQ(number(cs, "missing_versions"), 3);
}

TEST(ReqstoreSink, ListsARecordsDeliveriesInArrivalOrder)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    ASSERT_EQ(deliver(c, "/a", "evt_2", event_body("req_x", 2)).status(), 200u);
    ASSERT_EQ(deliver(c, "/b", "evt_1", event_body("req_x", 1, "request.created")).status(), 200u);
    ASSERT_EQ(deliver(c, "/a", "evt_1", event_body("req_x", 1, "request.created")).status(), 200u);
    ASSERT_EQ(deliver(c, "/a", "evt_z", event_body("req_z", 1)).status(), 200u);

    auto r = c.get("/deliveries?record=req_x");
    ASSERT_EQ(r.status(), 200u) << r;
    const auto list = r.object().at("deliveries").as_array();
    ASSERT_EQ(list.size(), 3u) << r;
    const std::vector<std::tuple<std::string, std::string, std::int64_t, std::string>> expected{
        {"evt_2", "request.status_changed", 2, "/a"},
        {"evt_1", "request.created", 1, "/b"},
        {"evt_1", "request.created", 1, "/a"}};
    for (std::size_t i = 0; i < expected.size(); ++i)
    {
        const auto& d = list[i].as_object();
        EXPECT_EQ(text(d, "webhook_id"), std::get<0>(expected[i])) << i;
        EXPECT_EQ(text(d, "type"), std::get<1>(expected[i])) << i;
        EXPECT_EQ(number(d, "version"), std::get<2>(expected[i])) << i;
        EXPECT_EQ(text(d, "path"), std::get<3>(expected[i])) << i;
    }
    auto none = c.get("/deliveries?record=req_unknown");
    ASSERT_EQ(none.status(), 200u);
    EXPECT_TRUE(none.object().at("deliveries").as_array().empty());
    EXPECT_EQ(c.get("/deliveries").status(), 400u);
}

TEST(ReqstoreSink, FailRateOneAnswers500AndRecordsNothing)
{
    server sink = start_sink({"--fail-rate", "1"});
    auto c = connect_to(sink);
    for (int i = 1; i <= 5; ++i)
        EXPECT_EQ(deliver(c, "/hooks", "evt_" + std::to_string(i), event_body("req_a", i)).status(), 500u);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "failed_on_purpose"), 5);
    EXPECT_EQ(number(stats, "accepted"), 0);
    EXPECT_EQ(number(stats, "records"), 0);
    // A bad signature is refused before any simulated failure.
    EXPECT_EQ(deliver(c, "/hooks", "evt_9", event_body("req_a", 9), other_secret).status(), 401u);
}

TEST(ReqstoreSink, FailRateWithASeedFailsTheSameDeliveriesEveryRun)
{
    const auto statuses = []
    {
        server sink = start_sink({"--fail-rate", "0.5", "--seed", "42"});
        auto c = connect_to(sink);
        std::vector<unsigned> out;
        for (int i = 1; i <= 40; ++i)
            out.push_back(deliver(c, "/hooks", "evt_" + std::to_string(i), event_body("req_a", i)).status());
        return out;
    };
    const auto first = statuses();
    EXPECT_EQ(first, statuses());
    const auto failed = std::count(first.begin(), first.end(), 500u);
    EXPECT_GT(failed, 5);
    EXPECT_LT(failed, 35);
    EXPECT_EQ(std::count(first.begin(), first.end(), 200u) + failed, 40);
}

TEST(ReqstoreSink, StatusOptionAnswersEveryDeliveryWithIt)
{
    server sink = start_sink({"--status", "410"});
    auto c = connect_to(sink);
    EXPECT_EQ(deliver(c, "/hooks", "evt_1", event_body("req_a", 1)).status(), 410u);
    EXPECT_EQ(deliver(c, "/hooks", "evt_2", event_body("req_a", 2)).status(), 410u);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "failed_on_purpose"), 2);
    EXPECT_EQ(number(stats, "accepted"), 0);
}

TEST(ReqstoreSink, A2xxStatusOptionStillRecords)
{
    server sink = start_sink({"--status", "204"});
    auto c = connect_to(sink);
    auto r = deliver(c, "/hooks", "evt_1", event_body("req_a", 1));
    EXPECT_EQ(r.status(), 204u) << r;
    EXPECT_TRUE(r.body().empty());
    EXPECT_EQ(number(stats_of(c), "accepted"), 1);
}

TEST(ReqstoreSink, HangRateOneRecordsThenHoldsTheAnswerUntilShutdown)
{
    server sink = start_sink({"--hang-rate", "1"});
    client slow(sink.port(), 1s);
    slow.set_credentials(std::nullopt);
    EXPECT_THROW(deliver(slow, "/hooks", "evt_1", event_body("req_a", 1)), std::runtime_error);
    auto c = connect_to(sink);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "accepted"), 1);
    EXPECT_EQ(number(stats, "hung_on_purpose"), 1);
    // A fresh delayed answer is pending when SIGTERM arrives: the sink still exits promptly.
    client waiting(sink.port(), 10s);
    waiting.set_credentials(std::nullopt);
    std::thread sender(
        [&waiting]
        {
            try
            {
                deliver(waiting, "/hooks", "evt_2", event_body("req_a", 2));
            }
            catch (const std::exception&)
            {
            }
        });
    for (int i = 0; i < 200 && number(stats_of(c), "hung_on_purpose") < 2; ++i)
        std::this_thread::sleep_for(10ms);
    const auto start = steady::now();
    EXPECT_EQ(sink.stop(), 0) << sink.log();
    EXPECT_LT(steady::now() - start, 5s);
    sender.join();
}

TEST(ReqstoreSink, AnswersABodyThatIsNoEventWith400)
{
    server sink = start_sink();
    auto c = connect_to(sink);
    EXPECT_EQ(deliver(c, "/hooks", "evt_1", "not json").status(), 400u);
    EXPECT_EQ(deliver(c, "/hooks", "evt_2", R"({"data":{}})").status(), 400u);
    // An event about no record (e.g. webhook.disabled) is accepted without a version stream.
    EXPECT_EQ(
        deliver(c, "/hooks", "evt_3", R"({"type":"webhook.disabled","data":{"webhook":"wh_1"}})").status(),
        200u);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "bad_body"), 2);
    EXPECT_EQ(number(stats, "accepted"), 1);
    EXPECT_EQ(number(stats, "records"), 0);
}

TEST(ReqstoreSink, WritesItsSummaryOnSigtermAndExitsZero)
{
    const auto dir =
        std::filesystem::temp_directory_path() /
        ("reqstore-sink-test-" + std::to_string(::getpid()) + "-" + std::to_string(now_seconds()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "summary.json";
    server sink = start_sink({"--json", file.string()});
    auto c = connect_to(sink);
    ASSERT_EQ(deliver(c, "/hooks", "evt_1", event_body("req_a", 1)).status(), 200u);
    ASSERT_EQ(deliver(c, "/hooks", "evt_1", event_body("req_a", 1)).status(), 200u);
    ASSERT_EQ(deliver(c, "/hooks", "evt_x", event_body("req_a", 2), other_secret).status(), 401u);
    const auto live = stats_of(c);
    c.close();

    EXPECT_EQ(sink.stop(), 0) << sink.log();
    std::ifstream in(file);
    ASSERT_TRUE(in) << "no " << file;
    std::stringstream text_read;
    text_read << in.rdbuf();
    const auto written = parse_json(text_read.str()).as_object();
    EXPECT_EQ(number(written, "received"), 3);
    EXPECT_EQ(number(written, "accepted"), 2);
    EXPECT_EQ(number(written, "duplicates"), 1);
    EXPECT_EQ(number(written, "bad_signature"), 1);
    EXPECT_EQ(written.at("by_path"), live.at("by_path"));
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

TEST(ReqstoreSink, SigintAlsoExitsZero)
{
    server sink = start_sink();
    EXPECT_EQ(sink.stop_with(SIGINT), 0) << sink.log();
}

TEST(ReqstoreSink, TwoDeliveriesOfOneRecordInFlightAtOnceAreAnOverlappingAttempt)
{
    server sink = start_sink({"--answer-delay-ms", "500"});
    std::latch ready(2);
    auto first = deliver_in_background(sink, "/hooks", "evt_1", event_body("req_a", 1), &ready);
    auto second = deliver_in_background(sink, "/hooks", "evt_2", event_body("req_a", 2), &ready);
    EXPECT_EQ(first.get(), 200u);
    EXPECT_EQ(second.get(), 200u);

    auto c = connect_to(sink);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "overlapping_attempts"), 1) << to_json(stats);
    EXPECT_EQ(number(path_stats(stats, "/hooks"), "overlapping_attempts"), 1);
    EXPECT_EQ(number(stats, "accepted"), 2) << "an overlapping attempt is still recorded";
    const auto& overlaps = stats.at("overlaps").as_array();
    ASSERT_EQ(overlaps.size(), 1u) << to_json(stats);
    const auto& overlap = overlaps[0].as_object();
    EXPECT_EQ(text(overlap, "path"), "/hooks");
    EXPECT_EQ(text(overlap, "record"), "req_a");
    // Which of the two arrived first is up to the scheduler.
    const std::set<std::string> ids{text(overlap, "webhook_id_in_flight"),
                                    text(overlap, "webhook_id_arriving")};
    EXPECT_EQ(ids, (std::set<std::string>{"evt_1", "evt_2"}));
    EXPECT_TRUE(is_timestamp(text(overlap, "at"))) << text(overlap, "at");
}

TEST(ReqstoreSink, DeliveriesOfOneRecordOneAfterTheOtherDoNotOverlap)
{
    server sink = start_sink({"--answer-delay-ms", "500"});
    for (const auto& [id, version] : {std::pair{"evt_1", 1}, std::pair{"evt_2", 2}})
    {
        const auto start = steady::now();
        EXPECT_EQ(deliver_in_background(sink, "/hooks", id, event_body("req_a", version)).get(), 200u);
        EXPECT_GE(steady::now() - start, 500ms) << "--answer-delay-ms holds every accepted answer";
    }
    // Other records and other paths are other lanes, even at once.
    std::latch ready(2);
    auto other_record = deliver_in_background(sink, "/hooks", "evt_3", event_body("req_b", 1), &ready);
    auto other_path = deliver_in_background(sink, "/elsewhere", "evt_4", event_body("req_a", 1), &ready);
    EXPECT_EQ(other_record.get(), 200u);
    EXPECT_EQ(other_path.get(), 200u);

    auto c = connect_to(sink);
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "accepted"), 4);
    EXPECT_EQ(number(stats, "overlapping_attempts"), 0) << to_json(stats);
    EXPECT_TRUE(stats.at("overlaps").as_array().empty()) << to_json(stats);
}

TEST(ReqstoreSink, ADeliveryFailedOnPurposeWhileAnotherIsInFlightIsStillAnOverlappingAttempt)
{
    // Half the deliveries fail at random: retry until one that was accepted (and so held for
    // 1 s) is in flight while the next one fails. Every delivery sent while another is in flight
    // overlaps it, whatever it is answered.
    server sink = start_sink({"--fail-rate", "0.5", "--answer-delay-ms", "1000"});
    auto c = connect_to(sink);
    std::int64_t sent_while_in_flight = 0;
    bool failed_while_in_flight = false;
    for (int round = 1; round <= 40 && !failed_while_in_flight; ++round)
    {
        const std::string n = std::to_string(round);
        const auto before = stats_of(c);
        auto held = deliver_in_background(sink, "/hooks", "evt_held_" + n, event_body("req_a", round));
        // Wait until the sink has decided about it, without sleeping past its answer.
        json::object now = stats_of(c);
        for (int i = 0; i < 200 && number(now, "accepted") == number(before, "accepted") &&
                        number(now, "failed_on_purpose") == number(before, "failed_on_purpose");
             ++i)
        {
            std::this_thread::sleep_for(5ms);
            now = stats_of(c);
        }
        if (number(now, "accepted") > number(before, "accepted"))
        {
            ++sent_while_in_flight;
            failed_while_in_flight =
                deliver(c, "/hooks", "evt_next_" + n, event_body("req_a", round)).status() == 500u;
        }
        held.get();
    }
    ASSERT_TRUE(failed_while_in_flight) << "no delivery failed on purpose while another was in flight";
    const auto stats = stats_of(c);
    EXPECT_EQ(number(stats, "overlapping_attempts"), sent_while_in_flight) << to_json(stats);
    EXPECT_GE(number(stats, "failed_on_purpose"), 1);
}

TEST(ReqstoreSink, AnAnswerDelayThatIsNoNumberOfMillisecondsUpToAMinuteIsAUsageError)
{
    for (const char* delay : {"60001", "-1", "1.5", "soon", ""})
    {
        const auto run = run_program_to_exit(
            REQSTORE_SINK_BINARY,
            {"--listen", "127.0.0.1:0", "--secret", std::string(sink_secret), "--answer-delay-ms", delay},
            10s);
        EXPECT_EQ(run.status, 2) << delay << "\n" << run.err;
        EXPECT_TRUE(contains(run.err, "--answer-delay-ms: \"" + std::string(delay) +
                                          "\" is not a delay from 0 to 60000 ms"))
            << run.err;
    }
}
