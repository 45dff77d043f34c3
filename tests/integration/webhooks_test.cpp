// Webhook delivery as docs/WEBHOOKS.md describes it, against the real binary and real receivers
// (reqstore-sink, and tests/integration/webhook_recorder.py where the raw request or TLS matters):
// signed deliveries of every version in order, callback_url, filters, retries with failures, dead
// deliveries retried and recovered, 410 disabling, resuming after kill -9, the network policy, and https.
#include <algorithm>
#include <map>
#include <set>

#include "webhook_support.hpp"

using namespace reqstore::test;
using namespace reqstore::test::hooks_it;

namespace
{

// seq of each (record, version) in the change feed.
std::map<std::pair<std::string, std::int64_t>, std::int64_t> sequences(client& c)
{
    std::map<std::pair<std::string, std::int64_t>, std::int64_t> out;
    for (const auto& e : whole_feed(c))
        out[{text(e, "id"), number(e, "version")}] = number(e, "seq");
    return out;
}

// A CA and a server certificate signed by it, made with the openssl command line.
struct certificates
{
    std::string ca;
    std::string cert;
    std::string key;
};

certificates make_certificates(const temp_dir& dir, std::string_view subject_alt_names)
{
    const auto p = [&](std::string_view name)
    {
        return (dir / name).string();
    };
    {
        std::ofstream(p("ext.cnf")) << "basicConstraints=CA:FALSE\n"
                                       "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                       "extendedKeyUsage=serverAuth\n"
                                       "subjectAltName="
                                    << subject_alt_names << "\n";
    }
    const std::string quiet = " >>" + p("openssl.log") + " 2>&1";
    const std::vector<std::string> commands{
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
        "'/CN=reqstore test CA' -addext basicConstraints=critical,CA:TRUE -addext "
        "keyUsage=critical,keyCertSign,cRLSign -keyout " +
            p("ca.key") + " -out " + p("ca.pem"),
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' -keyout " +
            p("server.key") + " -out " + p("server.csr"),
        "openssl x509 -req -in " + p("server.csr") + " -CA " + p("ca.pem") + " -CAkey " + p("ca.key") +
            " -CAcreateserial -days 2 -extfile " + p("ext.cnf") + " -out " + p("server.pem")};
    for (const auto& command : commands)
        if (std::system((command + quiet).c_str()) != 0)
        {
            std::ifstream in(p("openssl.log"));
            std::stringstream log;
            log << in.rdbuf();
            throw std::runtime_error("failed: " + command + "\n" + log.str());
        }
    return {p("ca.pem"), p("server.pem"), p("server.key")};
}

} // namespace

// ---- 1. signed delivery of every version ---------------------------------------------------------

TEST(Webhooks, DeliversEveryVersionSignedInVersionOrderWithTheRecordAtThatVersion)
{
    temp_dir dir;
    const std::string secret = fresh_secret();
    server sink = start_sink(secret);
    recorder rec(dir);
    server srv(hook_server());
    auto c = srv.connect();
    auto sc = sink_client(sink);

    const auto sub = subscribe(c, url_of(sink, "/hook"), {"*"}, secret);
    EXPECT_TRUE(starts_with(text(sub, "id"), "whk_")) << to_json(sub);
    EXPECT_EQ(text(sub, "secret"), secret);
    EXPECT_EQ(sub.at("enabled"), json::value(true));
    // The secret is shown only in the answer to the creation.
    const auto shown = subscription(c, text(sub, "id"));
    EXPECT_FALSE(shown.contains("secret")) << to_json(shown);
    subscribe(c, "http://127.0.0.1:" + std::to_string(rec.port()) + "/rec", {"*"}, secret);

    const auto created = create_record(c, {{"name", "first"}});
    const std::string id = text(created, "id");
    patch_record(c, id, {{"name", "second"}});
    patch_record(c, id, {{"status", "active"}});
    delete_record(c, id);

    ASSERT_TRUE(eventually([&] { return has_all_versions(sc, id, "/hook", 4); }))
        << to_json(sink_stats(sc)) << "\nserver log:\n"
        << srv.log();
    ASSERT_TRUE(eventually(
        [&]
        {
            std::set<std::string> ids;
            for (const auto& r : rec.requests())
                ids.insert(r.header("webhook-id"));
            return ids.size() >= 4;
        }));

    const auto feed = whole_feed(c);
    ASSERT_EQ(feed.size(), 4u) << dump(feed);
    const std::vector<std::string> types{"request.created", "request.updated", "request.status_changed",
                                         "request.deleted"};

    // The sink: every delivery verified, versions in order, webhook-id evt_<seq>.
    const auto stats = sink_stats(sc);
    EXPECT_EQ(number(stats, "bad_signature"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "gaps"), 0) << to_json(stats);
    const auto firsts = first_arrivals(sc, id, "/hook");
    ASSERT_EQ(firsts.size(), 4u) << dump(firsts);
    for (std::size_t i = 0; i < 4; ++i)
    {
        EXPECT_EQ(number(firsts[i], "version"), static_cast<std::int64_t>(i + 1)) << dump(firsts);
        EXPECT_EQ(text(firsts[i], "type"), types[i]) << dump(firsts);
        EXPECT_EQ(text(firsts[i], "webhook_id"), "evt_" + std::to_string(number(feed[i], "seq")))
            << dump(firsts);
        EXPECT_EQ(number(feed[i], "version"), static_cast<std::int64_t>(i + 1));
    }

    // The raw requests: headers, an independently computed signature, and the payload.
    std::vector<recorded> distinct;
    std::set<std::string> seen;
    for (auto& r : rec.requests())
        if (seen.insert(r.header("webhook-id")).second)
            distinct.push_back(std::move(r));
    ASSERT_EQ(distinct.size(), 4u);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (std::size_t i = 0; i < distinct.size(); ++i)
    {
        const auto& r = distinct[i];
        SCOPED_TRACE("delivery " + std::to_string(i + 1) + ": " + r.body);
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.path, "/rec");
        EXPECT_TRUE(starts_with(r.header("content-type"), "application/json")) << r.header("content-type");
        EXPECT_EQ(r.header("user-agent"), "reqstore-webhooks");
        EXPECT_EQ(r.header("webhook-id"), "evt_" + std::to_string(number(feed[i], "seq")));
        const std::string ts = r.header("webhook-timestamp");
        ASSERT_FALSE(ts.empty());
        EXPECT_LE(std::llabs(std::stoll(ts) - now), 60);
        EXPECT_TRUE(signature_matches(r.header("webhook-signature"),
                                      expected_signature(secret, r.header("webhook-id"), ts, r.body)))
            << r.header("webhook-signature");

        const auto body = parse_json(r.body).as_object();
        EXPECT_EQ(text(body, "type"), types[i]);
        EXPECT_TRUE(is_timestamp(text(body, "timestamp"))) << text(body, "timestamp");
        const auto& data = body.at("data").as_object();
        EXPECT_EQ(text(data, "id"), id);
        EXPECT_EQ(text(data, "type"), "request");
        EXPECT_EQ(number(data, "version"), static_cast<std::int64_t>(i + 1));
        auto at_version = c.get(path_of(id) + "/versions/" + std::to_string(i + 1));
        ASSERT_EQ(at_version.status(), 200u) << at_version;
        EXPECT_EQ(data.at("request"), at_version.json())
            << "data.request is not the record at version " << i + 1;
        if (i == 0)
        {
            EXPECT_EQ(data.at("request"), json::value(created));
        }
        if (types[i] == "request.status_changed")
        {
            EXPECT_EQ(text(data, "from"), "pending");
            EXPECT_EQ(text(data, "to"), "active");
        }
    }
}

TEST(Webhooks, ConnectionsToAReceiverAreKeptForEveryAttemptThatCanBeUnderWay)
{
    // 24 records change at once, four times over: up to 24 attempts to one receiver are under way at
    // once. Each connection is kept for reuse afterwards, so the receiver sees no more than 24
    // connections however many deliveries they carry.
    constexpr std::size_t in_flight = 24;
    constexpr std::size_t rounds = 4;
    temp_dir dir;
    recorder rec(dir);
    server srv(hook_server({{"max_in_flight", in_flight}}));
    auto c = srv.connect();
    subscribe(c, "http://127.0.0.1:" + std::to_string(rec.port()) + "/rec", {"*"}, fresh_secret());

    std::vector<std::string> ids;
    for (std::size_t i = 0; i < in_flight; ++i)
        ids.push_back(text(create_record(c, {{"name", "n"}}), "id"));
    for (std::size_t round = 1; round < rounds; ++round)
    {
        ASSERT_TRUE(eventually([&] { return rec.requests().size() >= round * in_flight; }, 20s))
            << rec.requests().size() << " deliveries in round " << round << "\n"
            << srv.log();
        for (const auto& id : ids)
            patch_record(c, id, {{"name", "n" + std::to_string(round)}});
    }
    ASSERT_TRUE(eventually([&] { return rec.requests().size() >= rounds * in_flight; }, 20s))
        << rec.requests().size() << " deliveries\n"
        << srv.log();

    std::set<std::int64_t> connections;
    for (const auto& r : rec.requests())
        connections.insert(r.client_port);
    EXPECT_LE(connections.size(), in_flight)
        << rec.requests().size() << " deliveries came on " << connections.size() << " connections";
}

// ---- 2. callback_url ---------------------------------------------------------------------------

TEST(Callbacks, CallbackUrlGetsOnlyStatusChangesSignedWithTheCallbackSecret)
{
    const std::string callback_secret = fresh_secret();
    const std::string secret = fresh_secret();
    // The callback sink knows only the callback secret: a delivery signed otherwise is a bad signature.
    server cb_sink = start_sink(callback_secret);
    server all_sink = start_sink(secret);
    server srv(hook_server({{"callback_secret", callback_secret}}));
    auto c = srv.connect();
    auto cbc = sink_client(cb_sink);
    auto ac = sink_client(all_sink);
    subscribe(c, url_of(all_sink, "/all"), {"*"}, secret);

    const auto created = create_record(c, {{"name", "a"}, {"callback_url", url_of(cb_sink, "/cb")}});
    const std::string id = text(created, "id");
    patch_record(c, id, {{"name", "b"}});           // v2: request.updated
    patch_record(c, id, {{"status", "active"}});    // v3: request.status_changed
    patch_record(c, id, {{"name", "c"}});           // v4: request.updated
    patch_record(c, id, {{"status", "completed"}}); // v5: request.status_changed
    // A record without a callback_url sends nothing there.
    const std::string other = text(create_record(c), "id");
    patch_record(c, other, {{"status", "active"}});

    ASSERT_TRUE(eventually([&] { return has_all_versions(ac, id, "/all", 5); })) << to_json(sink_stats(ac));
    ASSERT_TRUE(eventually([&] { return has_all_versions(ac, other, "/all", 2); }))
        << to_json(sink_stats(ac));
    ASSERT_TRUE(eventually([&] { return first_arrivals(cbc, id, "/cb").size() >= 2; }))
        << to_json(sink_stats(cbc)) << "\nserver log:\n"
        << srv.log();
    std::this_thread::sleep_for(500ms); // anything else would have arrived by now

    const auto seqs = sequences(c);
    const auto firsts = first_arrivals(cbc, id, "/cb");
    ASSERT_EQ(firsts.size(), 2u) << dump(sink_deliveries(cbc, id));
    EXPECT_EQ(number(firsts[0], "version"), 3);
    EXPECT_EQ(number(firsts[1], "version"), 5);
    for (const auto& d : firsts)
    {
        EXPECT_EQ(text(d, "type"), "request.status_changed") << to_json(d);
        EXPECT_EQ(text(d, "webhook_id"), "evt_" + std::to_string(seqs.at({id, number(d, "version")})));
    }
    const auto stats = sink_stats(cbc);
    EXPECT_EQ(number(stats, "bad_signature"), 0)
        << "not signed with webhooks.callback_secret: " << to_json(stats);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "records"), 1) << to_json(stats);
    EXPECT_TRUE(sink_deliveries(cbc, other).empty());
}

// ---- 3. filters --------------------------------------------------------------------------------

TEST(Webhooks, SubscriptionEventsAndTypesFiltersAreRespected)
{
    const std::string secret = fresh_secret();
    server sink = start_sink(secret);
    server srv(hook_server());
    auto c = srv.connect();
    auto sc = sink_client(sink);

    // Filters that are not valid are refused.
    EXPECT_EQ(c.post("/v1/webhooks", to_json(json::object{{"url", url_of(sink, "/x")},
                                                          {"events", json::array{"request.nope"}}}))
                  .status(),
              400u);
    EXPECT_EQ(
        c.post("/v1/webhooks", to_json(json::object{{"url", url_of(sink, "/x")}, {"events", json::array{}}}))
            .status(),
        400u);

    subscribe(c, url_of(sink, "/status"), {"request.status_changed"}, secret);
    subscribe(c, url_of(sink, "/docspring"), {"*"}, secret, json::array{"docspring_data_request"});
    subscribe(c, url_of(sink, "/created-deleted"), {"request.created", "request.deleted"}, secret,
              json::array{"request"});
    subscribe(c, url_of(sink, "/all"), {"*"}, secret);

    // r: created, updated, status_changed, deleted; d (another type): created, updated, status_changed.
    const std::string r = text(create_record(c, {{"name", "r"}}), "id");
    const std::string d =
        text(create_record(c, {{"type", "docspring_data_request"}, {"email", "jdoe@example.com"}}), "id");
    patch_record(c, r, {{"name", "r2"}});
    patch_record(c, d, {{"name", "d2"}});
    patch_record(c, r, {{"status", "active"}});
    patch_record(c, d, {{"status", "viewed"}});
    delete_record(c, r);

    using key = std::tuple<std::string, std::int64_t, std::string>; // record, version, event
    const std::map<std::string, std::set<key>> expected{
        {"/all",
         {{r, 1, "request.created"},
          {r, 2, "request.updated"},
          {r, 3, "request.status_changed"},
          {r, 4, "request.deleted"},
          {d, 1, "request.created"},
          {d, 2, "request.updated"},
          {d, 3, "request.status_changed"}}},
        {"/status", {{r, 3, "request.status_changed"}, {d, 3, "request.status_changed"}}},
        {"/docspring",
         {{d, 1, "request.created"}, {d, 2, "request.updated"}, {d, 3, "request.status_changed"}}},
        {"/created-deleted", {{r, 1, "request.created"}, {r, 4, "request.deleted"}}}};
    const auto received_at = [&](const std::string& path)
    {
        std::set<key> got;
        for (const auto& record : {r, d})
            for (const auto& x : sink_deliveries(sc, record, path))
                got.insert({record, number(x, "version"), text(x, "type")});
        return got;
    };
    for (const auto& [path, want] : expected)
        EXPECT_TRUE(eventually([&] { return received_at(path).size() >= want.size(); }))
            << path << ": " << to_json(sink_stats(sc));
    std::this_thread::sleep_for(500ms); // anything filtered out wrongly would have arrived by now
    for (const auto& [path, want] : expected)
        EXPECT_EQ(received_at(path), want) << path;
    const auto stats = sink_stats(sc);
    EXPECT_EQ(number(stats, "bad_signature"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
}

TEST(Webhooks, PatchedFiltersApplyToLaterEvents)
{
    const std::string secret = fresh_secret();
    server sink = start_sink(secret);
    server srv(hook_server());
    auto c = srv.connect();
    auto sc = sink_client(sink);
    const auto sub = subscribe(c, url_of(sink, "/hook"), {"request.deleted"}, secret);
    subscribe(c, url_of(sink, "/all"), {"*"}, secret);

    const std::string id = text(create_record(c), "id");
    ASSERT_TRUE(eventually([&] { return has_all_versions(sc, id, "/all", 1); }));
    auto r = c.patch("/v1/webhooks/" + text(sub, "id"),
                     to_json(json::object{{"events", json::array{"request.updated"}}}));
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("events"), json::value(json::array{"request.updated"}));
    patch_record(c, id, {{"name", "x"}});
    ASSERT_TRUE(eventually([&] { return !sink_deliveries(sc, id, "/hook").empty(); }))
        << to_json(sink_stats(sc));
    std::this_thread::sleep_for(300ms);
    const auto got = sink_deliveries(sc, id, "/hook");
    ASSERT_EQ(got.size(), 1u) << dump(got);
    EXPECT_EQ(text(got[0], "type"), "request.updated");
    EXPECT_EQ(number(got[0], "version"), 2);
}

// ---- 4. ordering while attempts fail -----------------------------------------------------------

TEST(Webhooks, FirstArrivalsStayInVersionOrderWhileHalfTheAttemptsFail)
{
    const std::string secret = fresh_secret();
    server sink = start_sink(secret, {"--fail-rate", "0.5", "--seed", "7"});
    // Fifteen quick retries: a delivery dies only after 16 failures in a row (p = 2^-16).
    server srv(hook_server({{"retry_schedule", schedule(15, 0.05)}}));
    auto c = srv.connect();
    auto sc = sink_client(sink);
    const auto sub = subscribe(c, url_of(sink, "/hook"), {"*"}, secret);
    const std::string wid = text(sub, "id");

    const std::string id = text(create_record(c, {{"n", 1}}), "id");
    for (int n = 2; n <= 10; ++n)
        patch_record(c, id, {{"n", n}});

    ASSERT_TRUE(eventually([&] { return has_all_versions(sc, id, "/hook", 10); }, 15s))
        << to_json(sink_stats(sc)) << "\n"
        << dump(delivery_log(c, wid));
    const auto seqs = sequences(c);
    const auto all = sink_deliveries(sc, id, "/hook");
    const auto firsts = first_arrivals(sc, id, "/hook");
    EXPECT_EQ(versions_of(firsts), one_to(10)) << dump(all);
    // One webhook-id per version, whatever the number of arrivals.
    for (const auto& d : all)
        EXPECT_EQ(text(d, "webhook_id"), "evt_" + std::to_string(seqs.at({id, number(d, "version")})))
            << to_json(d);
    const auto stats = sink_stats(sc);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "bad_signature"), 0) << to_json(stats);
    EXPECT_GT(number(stats, "failed_on_purpose"), 0) << "the test did not make any attempt fail";

    // The delivery log: one delivery per version, each succeeded, the failed attempts listed with 500.
    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 10, "succeeded"); }))
        << dump(delivery_log(c, wid));
    std::size_t attempts = 0;
    for (const auto& d : delivery_log(c, wid))
    {
        EXPECT_EQ(text(d, "webhook_id"), "evt_" + std::to_string(seqs.at({id, number(d, "version")})));
        const auto& list = d.at("attempts").as_array();
        ASSERT_FALSE(list.empty()) << to_json(d);
        attempts += list.size();
        for (std::size_t i = 0; i + 1 < list.size(); ++i)
            EXPECT_EQ(list[i].as_object().at("status"), json::value(500)) << to_json(d);
        EXPECT_EQ(list.back().as_object().at("status"), json::value(200)) << to_json(d);
    }
    EXPECT_EQ(static_cast<std::int64_t>(attempts),
              number(stats, "failed_on_purpose") + number(stats, "accepted"));
}

// ---- 5. dead, then retried and recovered -------------------------------------------------------

TEST(Webhooks, DeadDeliveriesAreRetriedOneByOneAndRecoveredTogether)
{
    const std::string secret = fresh_secret();
    const std::uint16_t port = free_port();
    std::optional<server> sink;
    sink.emplace(sink_options({secret}, {"--status", "500"}, port));
    server srv(hook_server({{"retry_schedule", json::array{0.05, 0.05}}}));
    auto c = srv.connect();
    const auto since = now_rfc3339();
    std::this_thread::sleep_for(5ms);
    const auto sub = subscribe(c, "http://127.0.0.1:" + std::to_string(port) + "/hook", {"*"}, secret);
    const std::string wid = text(sub, "id");

    const std::string a = text(create_record(c), "id");
    patch_record(c, a, {{"name", "a2"}});
    const std::string b = text(create_record(c), "id");

    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 3, "dead"); })) << dump(delivery_log(c, wid));
    const auto dead = delivery_log(c, wid, "dead");
    ASSERT_EQ(dead.size(), 3u) << dump(dead);
    std::string a1; // the delivery of a's version 1
    for (const auto& d : dead)
    {
        EXPECT_TRUE(starts_with(text(d, "id"), "dlv_")) << to_json(d);
        EXPECT_TRUE(d.at("next_attempt_at").is_null()) << to_json(d);
        const auto& attempts = d.at("attempts").as_array();
        EXPECT_EQ(attempts.size(), 3u) << "one attempt and the two retries of the schedule: " << to_json(d);
        for (const auto& x : attempts)
        {
            const auto& attempt = x.as_object();
            EXPECT_TRUE(is_timestamp(text(attempt, "at"))) << to_json(attempt);
            EXPECT_EQ(attempt.at("status"), json::value(500)) << to_json(attempt);
            EXPECT_TRUE(attempt.at("error").is_string() && !attempt.at("error").get_string().empty())
                << to_json(attempt);
            EXPECT_TRUE(attempt.at("latency_us").is_number()) << to_json(attempt);
        }
        if (text(d, "record_id") == a && number(d, "version") == 1)
            a1 = text(d, "id");
    }
    ASSERT_FALSE(a1.empty()) << dump(dead);
    EXPECT_EQ(delivery_log(c, wid, "pending").size() + delivery_log(c, wid, "failed").size() +
                  delivery_log(c, wid, "succeeded").size(),
              0u);

    // Bad ids.
    EXPECT_EQ(c.post("/v1/deliveries/dlv_999999/retry", "").status(), 404u);
    EXPECT_EQ(c.post("/v1/deliveries/nonsense/retry", "").status(), 400u);

    // The receiver comes back healthy on the same port.
    sink.reset();
    sink.emplace(sink_options({secret}, {}, port));
    auto sc = sink_client(*sink);

    auto r = c.post("/v1/deliveries/" + a1 + "/retry", "");
    ASSERT_EQ(r.status(), 202u) << r;
    ASSERT_TRUE(eventually([&] { return has_all_versions(sc, a, "/hook", 1); })) << to_json(sink_stats(sc));
    ASSERT_TRUE(eventually(
        [&]
        {
            for (const auto& d : delivery_log(c, wid))
                if (text(d, "id") == a1)
                    return text(d, "status") == "succeeded";
            return false;
        }))
        << dump(delivery_log(c, wid));
    // Only the retried one was queued.
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(sink_deliveries(sc, b).empty());
    EXPECT_EQ(delivery_log(c, wid, "dead").size(), 2u);
    // A succeeded delivery is not retried.
    auto again = c.post("/v1/deliveries/" + a1 + "/retry", "");
    EXPECT_EQ(again.status(), 400u) << again;

    // Recover everything dead since before the subscription.
    EXPECT_EQ(c.post("/v1/webhooks/" + wid + "/recover", R"({"since": "yesterday"})").status(), 400u);
    EXPECT_EQ(c.post("/v1/webhooks/whk_00000000000000000000/recover", to_json(json::object{{"since", since}}))
                  .status(),
              404u);
    auto recovered = c.post("/v1/webhooks/" + wid + "/recover", to_json(json::object{{"since", since}}));
    ASSERT_EQ(recovered.status(), 202u) << recovered;
    EXPECT_EQ(recovered.object().at("queued"), json::value(2)) << recovered;
    ASSERT_TRUE(eventually(
        [&] { return has_all_versions(sc, a, "/hook", 2) && has_all_versions(sc, b, "/hook", 1); }))
        << to_json(sink_stats(sc));
    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 3, "succeeded"); }))
        << dump(delivery_log(c, wid));
    EXPECT_EQ(versions_of(first_arrivals(sc, a, "/hook")), one_to(2));
    const auto stats = sink_stats(sc);
    EXPECT_EQ(number(stats, "bad_signature"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
    // Nothing is left to recover.
    auto nothing = c.post("/v1/webhooks/" + wid + "/recover", to_json(json::object{{"since", since}}));
    ASSERT_EQ(nothing.status(), 202u) << nothing;
    EXPECT_EQ(nothing.object().at("queued"), json::value(0)) << nothing;
}

// ---- 6. 410 disables ---------------------------------------------------------------------------

TEST(Webhooks, A410DisablesTheSubscriptionAnnouncesItAndReenablingResumes)
{
    const std::string secret = fresh_secret();
    const std::string watcher_secret = fresh_secret();
    const std::uint16_t port = free_port();
    std::optional<server> target;
    target.emplace(sink_options({secret}, {"--status", "410"}, port));
    server watcher = start_sink(watcher_secret);
    server srv(hook_server());
    auto c = srv.connect();
    auto wc = sink_client(watcher);

    const std::string wid =
        text(subscribe(c, "http://127.0.0.1:" + std::to_string(port) + "/hook", {"*"}, secret), "id");
    const std::string watcher_id =
        text(subscribe(c, url_of(watcher, "/watch"), {"webhook.disabled"}, watcher_secret), "id");
    EXPECT_EQ(metric(c, "reqstore_webhook_subscriptions_disabled"), std::optional<double>(0));

    const std::string id = text(create_record(c), "id");
    ASSERT_TRUE(eventually([&] { return subscription(c, wid).at("enabled") == json::value(false); }))
        << to_json(subscription(c, wid)) << "\n"
        << dump(delivery_log(c, wid));
    const auto disabled = subscription(c, wid);
    ASSERT_TRUE(disabled.at("disabled_reason").is_string()) << to_json(disabled);
    EXPECT_TRUE(contains(std::string(disabled.at("disabled_reason").get_string()), "410"))
        << to_json(disabled);
    EXPECT_EQ(metric(c, "reqstore_webhook_subscriptions_disabled"), std::optional<double>(1));
    EXPECT_TRUE(srv.log_contains("webhook subscription disabled", 2s)) << srv.log();
    {
        auto tc = sink_client(*target);
        EXPECT_EQ(sink_count(tc, "failed_on_purpose"), 1) << "410 disables at once, without retries";
    }

    // The announcement reaches the subscription that asked for it, and nothing else goes there.
    ASSERT_TRUE(eventually([&] { return sink_count(wc, "accepted") >= 1; })) << to_json(sink_stats(wc));
    std::this_thread::sleep_for(300ms);
    const auto ws = sink_stats(wc);
    EXPECT_EQ(number(ws, "bad_signature"), 0) << to_json(ws);
    EXPECT_EQ(number(ws, "accepted"), 1) << to_json(ws);
    for (const auto& x : ws.at("last").as_array())
        EXPECT_EQ(text(x.as_object(), "type"), "webhook.disabled") << to_json(ws);
    EXPECT_EQ(subscription(c, watcher_id).at("enabled"), json::value(true));

    // While disabled nothing is attempted. A version committed now gets no delivery at all: API.md section 6
    // makes only enabled subscriptions targets (docs/WEBHOOKS.md only says that the subscription's
    // existing deliveries wait).
    patch_record(c, id, {{"name", "while disabled"}});
    std::this_thread::sleep_for(500ms);
    {
        auto tc = sink_client(*target);
        EXPECT_EQ(sink_count(tc, "received"), 1) << to_json(sink_stats(tc));
    }

    // The target is healthy again; enabling the subscription resumes the waiting delivery, and later
    // versions follow it in order.
    target.reset();
    target.emplace(sink_options({secret}, {}, port));
    auto tc = sink_client(*target);
    auto r = c.patch("/v1/webhooks/" + wid, R"({"enabled": true})");
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.object().at("enabled"), json::value(true)) << r;
    EXPECT_TRUE(r.object().at("disabled_reason").is_null()) << r;
    EXPECT_EQ(metric(c, "reqstore_webhook_subscriptions_disabled"), std::optional<double>(0));
    patch_record(c, id, {{"name", "enabled again"}}); // version 3
    ASSERT_TRUE(eventually([&] { return first_arrivals(tc, id, "/hook").size() >= 2; }))
        << to_json(sink_stats(tc)) << "\n"
        << dump(delivery_log(c, wid));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(versions_of(first_arrivals(tc, id, "/hook")), (std::vector<std::int64_t>{1, 3}))
        << dump(sink_deliveries(tc, id));
    const auto log = delivery_log(c, wid);
    EXPECT_EQ(versions_of(log), (std::vector<std::int64_t>{1, 3})) << dump(log);
    ASSERT_FALSE(log.empty());
    const auto& first_attempts = log[0].at("attempts").as_array();
    ASSERT_EQ(first_attempts.size(), 2u) << dump(log);
    EXPECT_EQ(first_attempts[0].as_object().at("status"), json::value(410)) << dump(log);
    EXPECT_EQ(first_attempts[1].as_object().at("status"), json::value(200)) << dump(log);
    EXPECT_EQ(number(sink_stats(tc), "bad_signature"), 0);
    EXPECT_EQ(subscription(c, wid).at("enabled"), json::value(true));
}

// ---- 7. resume after kill -9 ---------------------------------------------------------------------

TEST(Webhooks, EveryVersionArrivesInOrderAfterKill9WhileTheReceiverWasDown)
{
    const std::string secret = fresh_secret();
    const std::uint16_t port = free_port(); // nothing listens there yet
    // Slow enough retries that nothing dies while the receiver is down.
    server srv(hook_server({{"retry_schedule", schedule(10, 1.0)}}));
    auto c = srv.connect();
    const std::string wid =
        text(subscribe(c, "http://127.0.0.1:" + std::to_string(port) + "/hook", {"*"}, secret), "id");

    // a's versions are committed and the first of them has failed against the closed port...
    const std::string a = text(create_record(c, {{"n", 1}}), "id");
    for (int n = 2; n <= 10; ++n)
        patch_record(c, a, {{"n", n}});
    ASSERT_TRUE(eventually(
        [&]
        {
            const auto log = delivery_log(c, wid);
            return !log.empty() && text(log[0], "status") == "failed" &&
                   log[0].at("attempts").as_array().size() >= 1 &&
                   log[0].at("attempts").as_array()[0].as_object().at("error").is_string();
        }))
        << dump(delivery_log(c, wid));
    // ...and b's are committed right before the kill, perhaps before their fan-out.
    const std::string b = text(create_record(c, {{"n", 1}}), "id");
    for (int n = 2; n <= 10; ++n)
        patch_record(c, b, {{"n", n}});
    srv.kill_hard(); // at once: some events may not even be fanned out yet

    server sink = start_sink(secret, {}, port);
    auto sc = sink_client(sink);
    srv.restart();
    c = srv.connect();

    ASSERT_TRUE(eventually(
        [&] { return has_all_versions(sc, a, "/hook", 10) && has_all_versions(sc, b, "/hook", 10); }, 15s))
        << to_json(sink_stats(sc)) << "\n"
        << dump(delivery_log(c, wid)) << "\nserver log:\n"
        << srv.log();
    EXPECT_EQ(versions_of(first_arrivals(sc, a, "/hook")), one_to(10)) << dump(sink_deliveries(sc, a));
    EXPECT_EQ(versions_of(first_arrivals(sc, b, "/hook")), one_to(10)) << dump(sink_deliveries(sc, b));
    const auto stats = sink_stats(sc);
    EXPECT_EQ(number(stats, "out_of_order"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "gaps"), 0) << to_json(stats);
    EXPECT_EQ(number(stats, "bad_signature"), 0) << to_json(stats);

    // Fanned out exactly once: one delivery per event, all succeeded.
    EXPECT_EQ(whole_feed(c).size(), 20u);
    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 20, "succeeded"); }))
        << dump(delivery_log(c, wid));
    std::set<std::string> ids;
    for (const auto& d : delivery_log(c, wid))
        ids.insert(text(d, "webhook_id"));
    EXPECT_EQ(ids.size(), 20u);
}

// ---- 8. the network policy ---------------------------------------------------------------------

TEST(Webhooks, TheNetworkPolicyRefusesLoopbackWhenAllowNetworksIsEmpty)
{
    const std::string secret = fresh_secret();
    const std::string callback_secret = fresh_secret();
    server sink = start_sink({secret, callback_secret});
    server srv(hook_server({{"allow_networks", json::array{}},
                            {"retry_schedule", json::array{0.05, 0.05}},
                            {"callback_secret", callback_secret}}));
    auto c = srv.connect();
    auto sc = sink_client(sink);
    const std::string wid = text(subscribe(c, url_of(sink, "/hook"), {"*"}, secret), "id");

    const std::string id = text(create_record(c, {{"callback_url", url_of(sink, "/cb")}}), "id");
    patch_record(c, id, {{"status", "active"}});

    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 2, "dead"); })) << dump(delivery_log(c, wid));
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(sink_count(sc, "received"), 0) << to_json(sink_stats(sc));
    for (const auto& d : delivery_log(c, wid))
    {
        const auto& attempts = d.at("attempts").as_array();
        EXPECT_EQ(attempts.size(), 3u) << to_json(d);
        for (const auto& x : attempts)
        {
            const auto& attempt = x.as_object();
            EXPECT_TRUE(attempt.at("status").is_null()) << to_json(attempt);
            ASSERT_TRUE(attempt.at("error").is_string()) << to_json(attempt);
            EXPECT_TRUE(contains(std::string(attempt.at("error").get_string()), "network policy"))
                << to_json(attempt);
        }
    }
    const auto refused = metric(c, "reqstore_webhook_deliveries_total", "outcome=\"refused\"");
    ASSERT_TRUE(refused.has_value());
    EXPECT_GE(*refused, 6.0) << "2 subscription deliveries and 1 callback, 3 attempts each";
    const auto succeeded = metric(c, "reqstore_webhook_deliveries_total", "outcome=\"succeeded\"");
    EXPECT_TRUE(!succeeded || *succeeded == 0.0);
}

// ---- 9. https ----------------------------------------------------------------------------------

TEST(Webhooks, HttpsTargetsAreVerifiedAgainstTheConfiguredCaFile)
{
    temp_dir dir;
    const auto certs = make_certificates(dir, "IP:127.0.0.1,DNS:localhost");
    recorder rec(dir, certs.cert, certs.key);
    const std::string secret = fresh_secret();
    server srv(hook_server({{"ca_file", certs.ca}}));
    auto c = srv.connect();
    const std::string wid =
        text(subscribe(c, "https://127.0.0.1:" + std::to_string(rec.port()) + "/tls", {"*"}, secret), "id");
    const std::string id = text(create_record(c), "id");

    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 1, "succeeded"); }))
        << dump(delivery_log(c, wid)) << "\nreceiver log:\n"
        << rec.process().log();
    const auto got = rec.requests();
    ASSERT_GE(got.size(), 1u);
    EXPECT_EQ(got[0].path, "/tls");
    EXPECT_EQ(got[0].header("webhook-id"), "evt_1");
    EXPECT_TRUE(signature_matches(got[0].header("webhook-signature"),
                                  expected_signature(secret, got[0].header("webhook-id"),
                                                     got[0].header("webhook-timestamp"), got[0].body)));
    EXPECT_EQ(text(parse_json(got[0].body).as_object().at("data").as_object(), "id"), id);
}

TEST(Webhooks, HttpsTargetsWithAnUnknownCaAreACertificateError)
{
    temp_dir dir;
    const auto certs = make_certificates(dir, "IP:127.0.0.1,DNS:localhost");
    recorder rec(dir, certs.cert, certs.key);
    server srv(hook_server({{"retry_schedule", json::array{0.05}}}));
    auto c = srv.connect();
    const std::string wid =
        text(subscribe(c, "https://127.0.0.1:" + std::to_string(rec.port()) + "/tls", {"*"}, fresh_secret()),
             "id");
    create_record(c);

    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 1, "dead"); })) << dump(delivery_log(c, wid));
    const auto log = delivery_log(c, wid);
    for (const auto& x : log.at(0).at("attempts").as_array())
    {
        const auto& attempt = x.as_object();
        ASSERT_TRUE(attempt.at("error").is_string()) << to_json(attempt);
        EXPECT_TRUE(contains(std::string(attempt.at("error").get_string()), "certificate"))
            << to_json(attempt);
        EXPECT_TRUE(attempt.at("status").is_null()) << to_json(attempt);
    }
    EXPECT_TRUE(rec.requests().empty()) << "a request went through an unverified connection";
}

TEST(Webhooks, HttpsTargetsWhoseCertificateNamesAnotherHostAreRefused)
{
    temp_dir dir;
    const auto certs = make_certificates(dir, "DNS:other.example");
    recorder rec(dir, certs.cert, certs.key);
    server srv(hook_server({{"ca_file", certs.ca}, {"retry_schedule", json::array{0.05}}}));
    auto c = srv.connect();
    const std::string wid =
        text(subscribe(c, "https://127.0.0.1:" + std::to_string(rec.port()) + "/tls", {"*"}, fresh_secret()),
             "id");
    create_record(c);

    ASSERT_TRUE(eventually([&] { return all_with_status(c, wid, 1, "dead"); })) << dump(delivery_log(c, wid));
    const auto log = delivery_log(c, wid);
    for (const auto& x : log.at(0).at("attempts").as_array())
    {
        const auto& attempt = x.as_object();
        ASSERT_TRUE(attempt.at("error").is_string()) << to_json(attempt);
        EXPECT_TRUE(attempt.at("status").is_null()) << to_json(attempt);
    }
    EXPECT_TRUE(rec.requests().empty()) << "a request went to a host the certificate does not name";
}

// ---- 10. secrets at rest -----------------------------------------------------------------------

TEST(Webhooks, ASubscriptionSealedUnderAnotherKeyStaysDisabledAndKeepsItsSecretForTheRightKey)
{
    const std::string secret = fresh_secret();
    server sink = start_sink(secret);
    auto sc = sink_client(sink);
    const std::string key_a = "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=";
    const std::string key_b = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    server first(hook_server({{"secrets_key", key_a}}));
    const std::string data_dir = first.data_dir().string();
    std::string wid;
    {
        auto c = first.connect();
        wid = text(subscribe(c, url_of(sink, "/hook"), {"*"}, secret), "id");
    }
    first.stop();

    // Under another key the secret cannot be read: disabled with the reason, and it cannot be enabled.
    server_options wrong = hook_server({{"secrets_key", key_b}});
    wrong.extra_args = {"--data-dir", data_dir};
    {
        server srv(wrong);
        auto c = srv.connect();
        const auto shown = subscription(c, wid);
        EXPECT_EQ(shown.at("enabled"), json::value(false)) << to_json(shown);
        EXPECT_TRUE(contains(to_json(shown.at("disabled_reason")), "secrets_key")) << to_json(shown);
        const auto r = c.patch("/v1/webhooks/" + wid, R"({"enabled": true})");
        EXPECT_TRUE(is_problem(r, 400, "validation-failed")) << r;
        EXPECT_EQ(c.patch("/v1/webhooks/" + wid, R"({"url": "http://127.0.0.1:1/elsewhere"})").status(),
                  200u);
        EXPECT_TRUE(srv.log_contains("cannot be unsealed"));
        srv.stop();
    }

    // Back under the right key the same secret signs again: nothing was overwritten meanwhile.
    server_options right = hook_server({{"secrets_key", key_a}});
    right.extra_args = {"--data-dir", data_dir};
    server srv(right);
    auto c = srv.connect();
    ASSERT_EQ(c.patch("/v1/webhooks/" + wid, to_json(json::object{{"url", url_of(sink, "/hook")}})).status(),
              200u);
    EXPECT_EQ(subscription(c, wid).at("enabled"), json::value(true));
    const std::string id = text(create_record(c), "id");
    ASSERT_TRUE(eventually([&] { return has_all_versions(sc, id, "/hook", 1); })) << to_json(sink_stats(sc));
    EXPECT_EQ(number(sink_stats(sc), "bad_signature"), 0);
}

TEST(Webhooks, SubscriptionAndRecoverBodiesAreJsonByTheirMediaTypeAndAnythingElseChangesNothing)
{
    server srv;
    auto c = srv.connect();
    const std::string body = R"({"url": "http://127.0.0.1:9/hook", "events": ["*"]})";
    // The media type is case-insensitive and its parameters are no part of it (RFC 9110 8.3.1).
    auto created = c.post("/v1/webhooks", body, {{"Content-Type", "Application/JSON; charset=utf-8"}});
    ASSERT_EQ(created.status(), 201u) << created;
    const std::string wid = text(created.object(), "id");
    for (const char* type : {"application/jsonx", "text/plain", "application/merge-patch+json"})
    {
        auto refused = c.post("/v1/webhooks", body, {{"Content-Type", type}});
        EXPECT_EQ(refused.status(), 415u) << type << refused;
        auto patched = c.patch("/v1/webhooks/" + wid, R"({"enabled": false})", {{"Content-Type", type}});
        EXPECT_EQ(patched.status(), 415u) << type << patched;
        auto recovered = c.post("/v1/webhooks/" + wid + "/recover", R"({"since": "2020-01-01T00:00:00Z"})",
                                {{"Content-Type", type}});
        EXPECT_EQ(recovered.status(), 415u) << type << recovered;
    }
    const auto listed = c.get("/v1/webhooks");
    ASSERT_EQ(listed.object().at("data").as_array().size(), 1u) << listed;
    EXPECT_EQ(listed.object().at("data").as_array()[0].as_object().at("enabled"), json::value(true));
}
