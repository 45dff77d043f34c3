// Concurrency: compare-and-swap under contention loses no update and leaves no gap in the history.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
// Collects the first failure of worker threads; gtest assertions stay on the test's thread.
class failures
{
public:
    void add(std::string what)
    {
        std::lock_guard lock(mutex_);
        all_.push_back(std::move(what));
    }
    std::vector<std::string> take()
    {
        std::lock_guard lock(mutex_);
        return all_;
    }

private:
    std::mutex mutex_;
    std::vector<std::string> all_; // guarded by mutex_
};

// Twelve clients increment one counter with GET then PUT If-Match, retrying on 412: every increment
// must land once, each in a version of its own, with a history that has no gap.
void twelve_clients_increment_one_counter(const server_options& options)
{
    constexpr int clients = 12;
    constexpr int per_client = 40;
    server srv(options);
    auto c = srv.connect();
    auto rec = create_record(c, {{"counter", 0}});
    const std::string id = text(rec, "id");
    const std::string path = path_of(id);

    std::atomic<int> successes{0};
    std::atomic<int> conflicts{0};
    failures failed;
    std::mutex versions_mutex;
    std::vector<std::int64_t> committed_versions; // guarded by versions_mutex
    const auto deadline = steady::now() + 150s;

    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
    {
        threads.emplace_back(
            [&]
            {
                try
                {
                    auto cc = srv.connect(20s);
                    int mine = 0;
                    while (mine < per_client)
                    {
                        if (steady::now() > deadline)
                            throw std::runtime_error("deadline passed after " + std::to_string(mine) +
                                                     " increments");
                        auto g = cc.get(path);
                        if (g.status() != 200)
                            throw std::runtime_error("GET: " + describe(g));
                        const std::int64_t n = number(g.object(), "counter");
                        const std::string etag = g.header("ETag");
                        auto p =
                            cc.put(path, "{\"counter\":" + std::to_string(n + 1) + "}", {{"If-Match", etag}});
                        if (p.status() == 200)
                        {
                            ++mine;
                            ++successes;
                            std::lock_guard lock(versions_mutex);
                            committed_versions.push_back(number(p.object(), "version"));
                            if (p.header("ETag") != etag_of(committed_versions.back()))
                                throw std::runtime_error("PUT answer's ETag does not match its version: " +
                                                         describe(p));
                        }
                        else if (p.status() == 412)
                        {
                            ++conflicts;
                            if (p.header("ETag").empty())
                                throw std::runtime_error("412 without ETag: " + describe(p));
                        }
                        else
                            throw std::runtime_error("PUT If-Match " + etag + ": " + describe(p));
                    }
                }
                catch (const std::exception& e)
                {
                    failed.add(e.what());
                }
            });
    }
    for (auto& t : threads)
        t.join();
    auto errors = failed.take();
    ASSERT_TRUE(errors.empty()) << errors.size() << " clients failed; first: " << errors.front();

    constexpr int total = clients * per_client;
    EXPECT_EQ(successes.load(), total);
    auto now = get_record(c, id);
    EXPECT_EQ(number(now, "counter"), total) << "lost updates";
    EXPECT_EQ(number(now, "version"), total + 1);
    EXPECT_EQ(text(now, "etag"), etag_of(total + 1));

    // Every successful PUT got its own version, 2..481.
    std::set<std::int64_t> distinct(committed_versions.begin(), committed_versions.end());
    EXPECT_EQ(distinct.size(), committed_versions.size()) << "two PUTs were answered with the same version";
    EXPECT_EQ(*distinct.begin(), 2);
    EXPECT_EQ(*distinct.rbegin(), total + 1);

    // Each version holds counter = version - 1, and the history lists versions total+1 .. 1, newest
    // first, without a gap.
    for (std::int64_t v = 1; v <= total + 1; ++v)
    {
        auto r = c.get(path + "/versions/" + std::to_string(v));
        ASSERT_EQ(r.status(), 200u) << r;
        ASSERT_EQ(number(r.object(), "counter"), v - 1) << "version " << v;
    }
    auto h = history_of(c, id);
    ASSERT_EQ(h.size(), static_cast<std::size_t>(total + 1));
    for (std::size_t i = 0; i < h.size(); ++i)
        ASSERT_EQ(number(h[i], "version"), static_cast<std::int64_t>(total + 1 - i)) << "gap at entry " << i;
    std::printf("[ info ] %d increments needed %d conflicts\n", total, conflicts.load());
}
} // namespace

TEST(Concurrency, TwelveClientsIncrementingOneCounterLoseNoUpdate)
{
    twelve_clients_increment_one_counter({});
}

// With one I/O thread the sessions and the per-record locks run without strands, and the commit
// thread's completions come back to that thread: the same guarantees must hold. (Buffered, on one
// thread: Torture.OnOneIoThreadFaultFreeHistoryIsLinearizable.)
TEST(Concurrency, OnOneIoThreadTwelveClientsIncrementingOneCounterLoseNoUpdate)
{
    twelve_clients_increment_one_counter({.threads = 1});
}

TEST(Concurrency, WritersOnDifferentRecordsRunSideBySide)
{
    constexpr int writers = 8;
    constexpr int updates = 25;
    server srv;
    failures failed;
    std::vector<std::string> ids(writers);
    std::vector<std::thread> threads;
    for (int t = 0; t < writers; ++t)
    {
        threads.emplace_back(
            [&, t]
            {
                try
                {
                    auto cc = srv.connect(20s);
                    auto rec = create_record(cc, {{"writer", t}});
                    ids[static_cast<std::size_t>(t)] = text(rec, "id");
                    std::string etag = "\"1\"";
                    for (int i = 1; i <= updates; ++i)
                    {
                        auto p = cc.put(path_of(text(rec, "id")), "{\"i\":" + std::to_string(i) + "}",
                                        {{"If-Match", etag}});
                        if (p.status() != 200)
                            throw std::runtime_error("PUT: " + describe(p));
                        etag = p.header("ETag");
                        if (etag != etag_of(i + 1))
                            throw std::runtime_error("unexpected ETag " + etag);
                    }
                }
                catch (const std::exception& e)
                {
                    failed.add(e.what());
                }
            });
    }
    for (auto& t : threads)
        t.join();
    auto errors = failed.take();
    ASSERT_TRUE(errors.empty()) << errors.front();
    auto c = srv.connect();
    for (const auto& id : ids)
    {
        auto rec = get_record(c, id);
        EXPECT_EQ(number(rec, "version"), updates + 1);
        EXPECT_EQ(number(rec, "i"), updates);
        EXPECT_EQ(history_of(c, id).size(), static_cast<std::size_t>(updates + 1));
    }
}

TEST(Concurrency, ConcurrentCreatesGetDistinctIds)
{
    constexpr int creators = 8;
    constexpr int each = 25;
    server srv;
    failures failed;
    std::mutex ids_mutex;
    std::vector<std::string> ids; // guarded by ids_mutex
    std::vector<std::thread> threads;
    for (int t = 0; t < creators; ++t)
    {
        threads.emplace_back(
            [&]
            {
                try
                {
                    auto cc = srv.connect(20s);
                    for (int i = 0; i < each; ++i)
                    {
                        auto id = text(create_record(cc), "id");
                        std::lock_guard lock(ids_mutex);
                        ids.push_back(id);
                    }
                }
                catch (const std::exception& e)
                {
                    failed.add(e.what());
                }
            });
    }
    for (auto& t : threads)
        t.join();
    auto errors = failed.take();
    ASSERT_TRUE(errors.empty()) << errors.front();
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(),
              static_cast<std::size_t>(creators * each));
    auto c = srv.connect();
    EXPECT_EQ(list_all(c).size(), static_cast<std::size_t>(creators * each));
}

TEST(Concurrency, OnlyOneOfConcurrentCreatesUnderOneIdWins)
{
    constexpr int racers = 8;
    server srv;
    const std::string id = fresh_id();
    failures failed;
    std::atomic<int> created{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < racers; ++t)
    {
        threads.emplace_back(
            [&, t]
            {
                try
                {
                    auto cc = srv.connect(20s);
                    auto r = cc.put(path_of(id), "{\"type\":\"request\",\"racer\":" + std::to_string(t) + "}",
                                    {{"If-None-Match", "*"}});
                    if (r.status() == 201)
                        ++created;
                    else if (r.status() == 412)
                        ++refused;
                    else
                        throw std::runtime_error(describe(r));
                }
                catch (const std::exception& e)
                {
                    failed.add(e.what());
                }
            });
    }
    for (auto& t : threads)
        t.join();
    auto errors = failed.take();
    ASSERT_TRUE(errors.empty()) << errors.front();
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(refused.load(), racers - 1);
    auto c = srv.connect();
    EXPECT_EQ(number(get_record(c, id), "version"), 1);
    EXPECT_EQ(history_of(c, id).size(), 1u);
}
