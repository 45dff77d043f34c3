// The change feed (docs/WEBHOOKS.md, API.md section 7): GET /v1/events paging without gaps, long-polling,
// bad parameters, and GET /v1/events/stream as Server-Sent Events (frames, resuming with Last-Event-ID,
// live events, and the end of the stream on SIGTERM).
#include <csignal>
#include <set>
#include <thread>

#include "webhook_support.hpp"

using namespace reqstore::test;
using namespace reqstore::test::hooks_it;

namespace
{

struct committed
{
    std::string id;
    std::int64_t version;
    std::string event;
    std::string status;
    std::string from; // on status changes
};

// Writes to three records, with a status change and a deletion; returns the versions in commit order.
std::vector<committed> make_history(client& c)
{
    std::vector<committed> out;
    const std::string a = text(create_record(c, {{"name", "a"}}), "id");
    out.push_back({a, 1, "request.created", "pending", ""});
    patch_record(c, a, {{"name", "a2"}});
    out.push_back({a, 2, "request.updated", "pending", ""});
    const std::string b = text(create_record(c, {{"name", "b"}}), "id");
    out.push_back({b, 1, "request.created", "pending", ""});
    patch_record(c, a, {{"status", "active"}});
    out.push_back({a, 3, "request.status_changed", "active", "pending"});
    delete_record(c, b);
    out.push_back({b, 2, "request.deleted", "pending", ""});
    const std::string d =
        text(create_record(c, {{"type", "docspring_data_request"}, {"email", "x@example.com"}}), "id");
    out.push_back({d, 1, "request.created", "pending", ""});
    patch_record(c, d, {{"status", "viewed"}});
    out.push_back({d, 2, "request.status_changed", "viewed", "pending"});
    patch_record(c, a, {{"name", "a3"}});
    out.push_back({a, 4, "request.updated", "active", ""});
    return out;
}

// The entry has the documented members and describes the committed version.
testing::AssertionResult entry_matches(const json::object& e, std::int64_t seq, const committed& want)
{
    std::set<std::string> keys;
    for (const auto& k : keys_of(e))
        keys.insert(k);
    std::set<std::string> expected{"seq", "event", "id", "type", "version", "status", "at"};
    if (!want.from.empty())
        expected.insert("from");
    if (keys != expected)
        return testing::AssertionFailure() << "members of " << to_json(e);
    if (number(e, "seq") != seq || text(e, "event") != want.event || text(e, "id") != want.id ||
        number(e, "version") != want.version || text(e, "status") != want.status ||
        !is_timestamp(text(e, "at")))
        return testing::AssertionFailure()
               << to_json(e) << " is not seq " << seq << " " << want.event << " of " << want.id << " v"
               << want.version << " (" << want.status << ")";
    if (!want.from.empty() && text(e, "from") != want.from)
        return testing::AssertionFailure() << to_json(e) << ": from should be " << want.from;
    return testing::AssertionSuccess();
}

json::object page(client& c, const std::string& target)
{
    auto r = c.get(target);
    if (r.status() != 200)
        throw std::runtime_error("GET " + target + " failed:\n" + describe(r));
    return r.object();
}

double seconds_since(steady::time_point t)
{
    return std::chrono::duration<double>(steady::now() - t).count();
}

} // namespace

TEST(ChangeFeed, PagesWithAfterAndLimitAreGapFreeAcrossRecordsIncludingDeletions)
{
    server srv;
    auto c = srv.connect();
    const auto history = make_history(c);
    const auto n = static_cast<std::int64_t>(history.size());

    // Without after: from the oldest entry, seq 1.
    const auto first = page(c, "/v1/events?limit=1");
    ASSERT_EQ(first.at("data").as_array().size(), 1u) << to_json(first);
    EXPECT_EQ(number(first.at("data").as_array()[0].as_object(), "seq"), 1);
    EXPECT_EQ(number(first, "next_after"), 1);

    // Pages of 3 following next_after, until an empty page.
    std::vector<json::object> entries;
    std::string target = "/v1/events?limit=3";
    int pages = 0;
    for (; pages < 20; ++pages)
    {
        const auto p = page(c, target);
        const auto& data = p.at("data").as_array();
        EXPECT_LE(data.size(), 3u);
        if (data.empty())
        {
            EXPECT_EQ(number(p, "next_after"), n) << "an empty page's next_after stays where it was";
            break;
        }
        for (const auto& e : data)
            entries.push_back(e.as_object());
        EXPECT_EQ(number(p, "next_after"), number(entries.back(), "seq")) << to_json(p);
        target = "/v1/events?limit=3&after=" + std::to_string(number(p, "next_after"));
    }
    EXPECT_EQ(pages, 3);
    ASSERT_EQ(entries.size(), history.size());
    for (std::size_t i = 0; i < entries.size(); ++i)
        EXPECT_TRUE(entry_matches(entries[i], static_cast<std::int64_t>(i + 1), history[i]));

    // The same in one page, from any position, and past the end.
    const auto all = page(c, "/v1/events?after=0&limit=1000");
    ASSERT_EQ(all.at("data").as_array().size(), history.size());
    for (std::size_t i = 0; i < history.size(); ++i)
        EXPECT_EQ(all.at("data").as_array()[i], json::value(entries[i]));
    const auto tail = page(c, "/v1/events?after=5");
    ASSERT_EQ(tail.at("data").as_array().size(), history.size() - 5);
    EXPECT_EQ(number(tail.at("data").as_array()[0].as_object(), "seq"), 6);
    const auto past = page(c, "/v1/events?after=" + std::to_string(n + 10));
    EXPECT_TRUE(past.at("data").as_array().empty()) << to_json(past);

    // Every entry names a version that can be read.
    for (const auto& e : entries)
    {
        auto r = c.get(path_of(text(e, "id")) + "/versions/" + std::to_string(number(e, "version")));
        EXPECT_EQ(r.status(), 200u) << to_json(e) << "\n" << r;
    }
}

TEST(ChangeFeed, AnEmptyFeedIsAnEmptyPage)
{
    server srv;
    auto c = srv.connect();
    const auto p = page(c, "/v1/events");
    EXPECT_TRUE(p.at("data").as_array().empty()) << to_json(p);
    EXPECT_EQ(number(p, "next_after"), 0);
    EXPECT_EQ(number(p, "last_seq"), 0);
}

TEST(ChangeFeed, EveryPageNamesTheNewestSequenceNumber)
{
    server srv;
    auto c = srv.connect();
    const auto history = make_history(c);
    const auto n = static_cast<std::int64_t>(history.size());
    // On the first page, in the middle and past the end: always the newest entry's number.
    const std::vector<std::string> targets{"/v1/events?limit=1", "/v1/events?after=2&limit=2",
                                           "/v1/events?after=" + std::to_string(n)};
    for (const auto& target : targets)
    {
        const auto p = page(c, target);
        EXPECT_EQ(number(p, "last_seq"), n) << target << ": " << to_json(p);
    }
    patch_record(c, history[0].id, {{"name", "one more"}});
    EXPECT_EQ(number(page(c, "/v1/events?limit=1"), "last_seq"), n + 1);
}

TEST(ChangeFeed, LongPollAnswersAsSoonAsAWriteCommits)
{
    server srv;
    auto c = srv.connect();
    const std::string id = text(create_record(c), "id");

    std::optional<response> answer;
    steady::time_point answered;
    std::string failure;
    const auto started = steady::now();
    std::thread poller(
        [&]
        {
            try
            {
                client p(srv.port(), 10s);
                answer = p.get("/v1/events?after=1&wait=5");
                answered = steady::now();
            }
            catch (const std::exception& e)
            {
                failure = e.what();
            }
        });
    std::this_thread::sleep_for(500ms);
    const auto written = steady::now();
    patch_record(c, id, {{"name", "news"}});
    poller.join();
    ASSERT_TRUE(failure.empty()) << failure;
    ASSERT_TRUE(answer.has_value());
    ASSERT_EQ(answer->status(), 200u) << *answer;
    const auto o = answer->object();
    ASSERT_EQ(o.at("data").as_array().size(), 1u) << to_json(o);
    EXPECT_EQ(number(o.at("data").as_array()[0].as_object(), "seq"), 2);
    EXPECT_EQ(number(o, "next_after"), 2);
    const double after_write = std::chrono::duration<double>(answered - written).count();
    const double total = std::chrono::duration<double>(answered - started).count();
    EXPECT_LT(after_write, 2.0) << "the long poll answered " << after_write << " s after the commit";
    EXPECT_GE(total, 0.4) << "the long poll answered before there was news";

    // With news already there, wait does not wait.
    const auto t = steady::now();
    const auto now = page(c, "/v1/events?after=0&wait=5");
    EXPECT_EQ(now.at("data").as_array().size(), 2u);
    EXPECT_LT(seconds_since(t), 1.0);
}

TEST(ChangeFeed, LongPollAnswersEmptyAfterTheWaitWhenNothingHappens)
{
    server srv;
    auto c = srv.connect();
    create_record(c);
    const auto t = steady::now();
    const auto p = page(c, "/v1/events?after=1&wait=1");
    const double took = seconds_since(t);
    EXPECT_TRUE(p.at("data").as_array().empty()) << to_json(p);
    EXPECT_EQ(number(p, "next_after"), 1);
    EXPECT_GE(took, 0.9);
    EXPECT_LT(took, 3.0);
    // wait=0 does not wait.
    const auto t0 = steady::now();
    EXPECT_TRUE(page(c, "/v1/events?after=1&wait=0").at("data").as_array().empty());
    EXPECT_LT(seconds_since(t0), 0.5);
}

TEST(ChangeFeed, BadParametersAre400)
{
    server srv;
    auto c = srv.connect();
    create_record(c);
    for (const char* query :
         {"after=-1", "after=abc", "after=1.5", "after=", "limit=0", "limit=1001", "limit=x", "limit=-1",
          "wait=31", "wait=-1", "wait=1.5", "wait=soon", "since=1", "after=1&cursor=2"})
    {
        auto r = c.get(std::string("/v1/events?") + query);
        EXPECT_EQ(r.status(), 400u) << query << "\n" << r;
        EXPECT_FALSE(slug_of(r).empty()) << query << " is no problem document\n" << r;
    }
    // The limits themselves are fine.
    for (const char* query : {"limit=1", "limit=1000", "wait=0", "after=0", "after=18446744073709551615"})
        EXPECT_EQ(c.get(std::string("/v1/events?") + query).status(), 200u) << query;
    // The stream's position.
    EXPECT_EQ(c.get("/v1/events/stream", {{"Last-Event-ID", "abc"}}).status(), 400u);
    EXPECT_EQ(c.get("/v1/events/stream?after=-3").status(), 400u);
    EXPECT_EQ(c.get("/v1/events/stream?limit=3").status(), 400u);
    // The feed needs credentials.
    client anonymous(srv.port());
    anonymous.set_credentials(std::nullopt);
    EXPECT_EQ(anonymous.get("/v1/events").status(), 401u);
    EXPECT_EQ(anonymous.get("/v1/events/stream").status(), 401u);
}

TEST(ChangeFeed, StreamSendsEveryEntryAsAFrameAndResumesAfterLastEventId)
{
    server srv;
    auto c = srv.connect();
    const auto history = make_history(c);
    const std::size_t n = history.size();
    const auto feed = whole_feed(c);
    ASSERT_EQ(feed.size(), n);

    {
        sse_reader s(srv.port());
        ASSERT_TRUE(s.open("/v1/events/stream"));
        EXPECT_EQ(s.status(), 200u) << s.head();
        std::string head = s.head();
        for (auto& ch : head)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_TRUE(contains(head, "content-type: text/event-stream")) << s.head();
        ASSERT_TRUE(s.read_events(n, 5s)) << s.events().size() << " frames";
        for (std::size_t i = 0; i < n; ++i)
        {
            const auto& e = s.events()[i];
            EXPECT_EQ(e.id, std::to_string(i + 1));
            EXPECT_EQ(e.event, history[i].event);
            EXPECT_EQ(parse_json(e.data), json::value(feed[i])) << e.data;
            EXPECT_TRUE(
                entry_matches(parse_json(e.data).as_object(), static_cast<std::int64_t>(i + 1), history[i]));
        }
    }
    {
        // Resuming after the fifth: exactly 6..n.
        sse_reader s(srv.port());
        ASSERT_TRUE(s.open("/v1/events/stream", {{"Last-Event-ID", "5"}}));
        EXPECT_EQ(s.status(), 200u) << s.head();
        ASSERT_TRUE(s.read_events(n - 5, 5s)) << s.events().size() << " frames";
        std::this_thread::sleep_for(200ms);
        s.read_until([] { return false; }, 200ms);
        ASSERT_EQ(s.events().size(), n - 5);
        for (std::size_t i = 0; i < n - 5; ++i)
            EXPECT_EQ(s.events()[i].id, std::to_string(i + 6));
    }
    {
        // ?after= does the same.
        sse_reader s(srv.port());
        ASSERT_TRUE(s.open("/v1/events/stream?after=3"));
        ASSERT_TRUE(s.read_events(n - 3, 5s)) << s.events().size() << " frames";
        EXPECT_EQ(s.events().front().id, "4");
        EXPECT_EQ(s.events().back().id, std::to_string(n));
    }
    {
        // Both: Last-Event-ID wins, as when an EventSource opened with ?after=3 reconnects after
        // having read up to 6.
        sse_reader s(srv.port());
        ASSERT_TRUE(s.open("/v1/events/stream?after=3", {{"Last-Event-ID", "6"}}));
        ASSERT_TRUE(s.read_events(n - 6, 5s)) << s.events().size() << " frames";
        EXPECT_EQ(s.events().front().id, "7");
    }
    {
        // At the end: nothing until the next commit, which then arrives on the open stream.
        sse_reader s(srv.port());
        ASSERT_TRUE(s.open("/v1/events/stream", {{"Last-Event-ID", std::to_string(n)}}));
        s.read_until([] { return false; }, 300ms);
        EXPECT_TRUE(s.events().empty()) << s.events().front().id;
        const auto written = steady::now();
        patch_record(c, history[0].id, {{"name", "live"}});
        ASSERT_TRUE(s.read_events(1, 5s));
        EXPECT_LT(seconds_since(written), 2.0);
        EXPECT_EQ(s.events()[0].id, std::to_string(n + 1));
        EXPECT_EQ(s.events()[0].event, "request.updated");
        EXPECT_EQ(number(parse_json(s.events()[0].data).as_object(), "version"), 5);
    }
}

TEST(ChangeFeed, StreamReceivesNewCommitsAndEndsOnSigterm)
{
    server_options options;
    options.config = R"({"limits": {"drain_timeout": 2}})";
    server srv(options);
    auto c = srv.connect();
    const std::string id = text(create_record(c), "id");

    sse_reader s(srv.port());
    ASSERT_TRUE(s.open("/v1/events/stream"));
    ASSERT_EQ(s.status(), 200u) << s.head();
    ASSERT_TRUE(s.read_events(1, 5s));
    EXPECT_EQ(s.events()[0].id, "1");

    // Commits made after the stream opened arrive on it, in order.
    std::this_thread::sleep_for(300ms);
    patch_record(c, id, {{"name", "x"}});
    patch_record(c, id, {{"status", "active"}});
    const std::string other = text(create_record(c), "id");
    ASSERT_TRUE(s.read_events(4, 5s)) << s.events().size() << " frames";
    EXPECT_EQ(s.events()[1].id, "2");
    EXPECT_EQ(s.events()[2].id, "3");
    EXPECT_EQ(s.events()[2].event, "request.status_changed");
    EXPECT_EQ(s.events()[3].id, "4");
    EXPECT_EQ(text(parse_json(s.events()[3].data).as_object(), "id"), other);
    EXPECT_FALSE(s.closed());

    // SIGTERM: the stream ends and the server exits 0 within the drain timeout.
    c.close();
    const auto t = steady::now();
    srv.send_signal(SIGTERM);
    EXPECT_TRUE(s.read_to_close(5s)) << "the stream stayed open after SIGTERM";
    const int status = srv.wait_exit(10s);
    EXPECT_EQ(status, 0) << srv.log();
    EXPECT_LT(seconds_since(t), 3.0) << "drain_timeout is 2 s";
    EXPECT_EQ(s.events().size(), 4u);
}
