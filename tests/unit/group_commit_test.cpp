// Unit tests for group commit (group_commit.hpp) and the RocksDB store behind it (rocks_store.hpp): batching,
// per-commit outcomes, the gap-free event sequence, compare-and-swap, reads, and reopening.
#include <reqstore/store/group_commit.hpp>
#include <reqstore/store/rocks_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

namespace
{

namespace net = boost::asio;
using reqstore::core::commit_receipt;
using reqstore::core::commit_request;
using reqstore::core::errc;
using reqstore::core::event_draft;
using reqstore::core::failure;
using reqstore::core::list_filter;
using reqstore::core::list_page;
using reqstore::core::result;
using reqstore::core::stored_version;
using reqstore::core::unix_millis;
using reqstore::store::commit_observer;
using reqstore::store::durability;
using reqstore::store::flush_on;
using reqstore::store::group_commit;
using reqstore::store::queued_commit;
using reqstore::store::rocks_store;
using reqstore::store::store_options;

// Every asynchronous wait in this file ends by then: a bug fails the test instead of hanging it.
constexpr auto deadline = std::chrono::seconds(30);

using reqstore::test::temp_dir;

// Runs `ioc` on `threads` threads until it has no work left. False when the deadline came first.
bool run_until_idle(net::io_context& ioc, int threads = 1)
{
    ioc.restart();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back([&ioc] { ioc.run_for(deadline); });
    for (auto& t : pool)
        t.join();
    return ioc.stopped();
}

std::string describe(const result<commit_receipt>& r)
{
    if (r.has_value())
        return "first_sequence " + std::to_string(r->first_sequence);
    return "errc " + std::to_string(static_cast<int>(r.error().code)) + ": " + r.error().detail;
}

queued_commit entry_for(std::string id, std::uint64_t expected_version)
{
    queued_commit entry;
    entry.request.id = std::move(id);
    entry.request.expected_version = expected_version;
    entry.request.next.version = expected_version + 1;
    return entry;
}

// --- group_commit ----------------------------------------------------------------------------------------

// A flush function standing in for a slow synced write: it records each batch's size, takes ~20 ms, and
// gives every commit an outcome derived from its request, so that each waiter can check it got its own.
struct recording_flush
{
    std::mutex mutex;
    std::vector<std::size_t> batch_sizes; // guarded by mutex

    group_commit::flush_function function()
    {
        return [this](std::vector<queued_commit>& batch)
        {
            {
                std::lock_guard lock(mutex);
                batch_sizes.push_back(batch.size());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            for (auto& entry : batch)
            {
                const std::uint64_t n = entry.request.expected_version;
                if (n % 2 == 1)
                    entry.outcome = failure(errc::precondition_failed, "refused " + entry.request.id);
                else
                    entry.outcome = commit_receipt{1000 + n};
            }
        };
    }

    std::vector<std::size_t> sizes()
    {
        std::lock_guard lock(mutex);
        return batch_sizes;
    }
};

// The tests that hold for both writers: the commit thread and a flush posted to the I/O executor.
class GroupCommitEither : public ::testing::TestWithParam<flush_on>
{
};

INSTANTIATE_TEST_SUITE_P(Writers, GroupCommitEither,
                         ::testing::Values(flush_on::commit_thread, flush_on::io_executor),
                         [](const auto& writer)
                         { return writer.param == flush_on::commit_thread ? "CommitThread" : "IoExecutor"; });

TEST_P(GroupCommitEither, ConcurrentCommitsShareFewFlushesAndEachGetsItsOwnOutcome)
{
    net::io_context ioc(2);
    recording_flush flush;
    group_commit committer(ioc.get_executor(), flush.function(), GetParam());

    constexpr std::size_t commits = 200;
    std::vector<std::optional<result<commit_receipt>>> outcomes(commits);
    std::atomic<std::size_t> exceptions{0};
    for (std::size_t i = 0; i < commits; ++i)
        net::co_spawn(ioc, committer.submit(entry_for("req_" + std::to_string(i), i)),
                      [&outcomes, &exceptions, i](std::exception_ptr e, result<commit_receipt> r)
                      {
                          if (e)
                              ++exceptions;
                          else
                              outcomes[i] = std::move(r);
                      });
    ASSERT_TRUE(run_until_idle(ioc, 2)) << "commits still pending after the deadline";

    EXPECT_EQ(exceptions.load(), 0u);
    for (std::size_t i = 0; i < commits; ++i)
    {
        ASSERT_TRUE(outcomes[i].has_value()) << "commit " << i << " never completed";
        const std::string expected = i % 2 == 1 ? "errc " + std::to_string(int(errc::precondition_failed)) +
                                                      ": refused req_" + std::to_string(i)
                                                : "first_sequence " + std::to_string(1000 + i);
        EXPECT_EQ(describe(*outcomes[i]), expected) << "commit " << i;
    }

    const auto sizes = flush.sizes();
    EXPECT_LT(sizes.size(), 50u) << "one flush per commit is not group commit";
    std::size_t total = 0;
    for (const std::size_t n : sizes)
    {
        EXPECT_GT(n, 0u) << "an empty batch was flushed";
        total += n;
    }
    EXPECT_EQ(total, commits);
}

TEST_P(GroupCommitEither, SubmitAfterStopCompletesWithUnavailable)
{
    net::io_context ioc(1);
    recording_flush flush;
    group_commit committer(ioc.get_executor(), flush.function(), GetParam());

    auto first = net::co_spawn(ioc, committer.submit(entry_for("req_a", 0)), net::use_future);
    ASSERT_TRUE(run_until_idle(ioc));
    EXPECT_EQ(describe(first.get()), "first_sequence 1000");

    committer.stop();
    committer.stop(); // idempotent

    auto refused = net::co_spawn(ioc, committer.submit(entry_for("req_b", 0)), net::use_future);
    ASSERT_TRUE(run_until_idle(ioc)) << "a submit after stop() never completed";
    const auto outcome = refused.get();
    ASSERT_TRUE(outcome.has_error()) << describe(outcome);
    EXPECT_EQ(outcome.error().code, errc::unavailable);
    EXPECT_EQ(flush.sizes().size(), 1u) << "a commit after stop() reached the flush function";
}

TEST(GroupCommit, StopWritesEverythingQueuedBeforeIt)
{
    net::io_context ioc(1);
    std::promise<void> first_flush_entered;
    std::promise<void> release_first_flush;
    auto released = release_first_flush.get_future().share();
    std::atomic<int> flushes{0};
    std::atomic<std::size_t> flushed{0};
    group_commit committer(ioc.get_executor(),
                           [&](std::vector<queued_commit>& batch)
                           {
                               if (flushes++ == 0)
                               {
                                   first_flush_entered.set_value();
                                   released.wait_for(deadline);
                               }
                               for (auto& entry : batch)
                                   entry.outcome = commit_receipt{entry.request.expected_version};
                               flushed += batch.size();
                           });

    std::vector<std::future<result<commit_receipt>>> outcomes;
    outcomes.push_back(net::co_spawn(ioc, committer.submit(entry_for("req_0", 0)), net::use_future));
    // jthreads join when the test returns early; everything they wait for ends by the deadline.
    std::jthread runner([&ioc] { run_until_idle(ioc); });

    ASSERT_EQ(first_flush_entered.get_future().wait_for(deadline), std::future_status::ready);
    // The flush is now blocked: these queue behind it. The marker posted after them runs once each of
    // them has been handed to submit(), because the context has one thread and runs handlers in order.
    for (std::uint64_t i = 1; i <= 9; ++i)
        outcomes.push_back(
            net::co_spawn(ioc, committer.submit(entry_for("req_" + std::to_string(i), i)), net::use_future));
    std::promise<void> all_queued;
    net::post(ioc, [&all_queued] { all_queued.set_value(); });
    ASSERT_EQ(all_queued.get_future().wait_for(deadline), std::future_status::ready);

    std::jthread stopper([&committer] { committer.stop(); });
    // Gives stop() time to begin waiting while the flush is blocked; the outcome must not depend on it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    release_first_flush.set_value();
    stopper.join();
    runner.join();

    EXPECT_EQ(flushed.load(), 10u);
    for (std::size_t i = 0; i < outcomes.size(); ++i)
    {
        ASSERT_EQ(outcomes[i].wait_for(std::chrono::seconds(0)), std::future_status::ready) << "commit " << i;
        EXPECT_EQ(describe(outcomes[i].get()), "first_sequence " + std::to_string(i)) << "commit " << i;
    }
}

// Submits on the strand it runs on, and says whether it was resumed there.
net::awaitable<bool> submit_on_strand(group_commit* committer,
                                      net::strand<net::io_context::executor_type> strand, std::string id)
{
    (void)co_await committer->submit(entry_for(std::move(id), 0));
    co_return strand.running_in_this_thread();
}

TEST_P(GroupCommitEither, ResumesEachCoroutineOnItsOwnExecutor)
{
    net::io_context ioc(4);
    recording_flush flush;
    group_commit committer(ioc.get_executor(), flush.function(), GetParam());

    std::vector<std::future<bool>> resumed_on_strand;
    for (int i = 0; i < 20; ++i)
    {
        auto strand = net::make_strand(ioc);
        resumed_on_strand.push_back(net::co_spawn(
            strand, submit_on_strand(&committer, strand, "req_" + std::to_string(i)), net::use_future));
    }
    ASSERT_TRUE(run_until_idle(ioc, 4));
    for (std::size_t i = 0; i < resumed_on_strand.size(); ++i)
        EXPECT_TRUE(resumed_on_strand[i].get()) << "coroutine " << i << " resumed off its strand";
}

TEST(GroupCommit, OnTheIoExecutorTheFlushRunsOnAThreadOfThatExecutor)
{
    net::io_context ioc(1);
    std::thread::id io_thread;
    std::vector<std::thread::id> flushed_on;
    group_commit committer(
        ioc.get_executor(),
        [&flushed_on](std::vector<queued_commit>& batch)
        {
            flushed_on.push_back(std::this_thread::get_id());
            for (auto& entry : batch)
                entry.outcome = commit_receipt{entry.request.expected_version};
        },
        flush_on::io_executor);

    std::vector<std::future<result<commit_receipt>>> outcomes;
    for (std::uint64_t i = 0; i < 10; ++i)
        outcomes.push_back(
            net::co_spawn(ioc, committer.submit(entry_for("req_" + std::to_string(i), i)), net::use_future));
    std::thread runner(
        [&]
        {
            io_thread = std::this_thread::get_id();
            ioc.run_for(deadline);
        });
    runner.join();

    for (std::size_t i = 0; i < outcomes.size(); ++i)
    {
        ASSERT_EQ(outcomes[i].wait_for(std::chrono::seconds(0)), std::future_status::ready) << "commit " << i;
        EXPECT_EQ(describe(outcomes[i].get()), "first_sequence " + std::to_string(i)) << "commit " << i;
    }
    // All ten were queued before the context ran: one flush, posted once, wrote them.
    ASSERT_EQ(flushed_on.size(), 1u);
    EXPECT_EQ(flushed_on[0], io_thread);
}

TEST(GroupCommit, OnTheIoExecutorStopWritesWhatIsQueuedWhenTheExecutorNoLongerRuns)
{
    // The commits' coroutines run on `ioc`; the group commit posts its flushes to `stopped`, which never
    // runs, as at shutdown once the I/O threads have returned.
    net::io_context ioc(1);
    net::io_context stopped(1);
    std::atomic<std::size_t> flushed{0};
    group_commit committer(
        stopped.get_executor(),
        [&flushed](std::vector<queued_commit>& batch)
        {
            for (auto& entry : batch)
                entry.outcome = commit_receipt{entry.request.expected_version};
            flushed += batch.size();
        },
        flush_on::io_executor);

    std::vector<std::future<result<commit_receipt>>> outcomes;
    for (std::uint64_t i = 0; i < 5; ++i)
        outcomes.push_back(
            net::co_spawn(ioc, committer.submit(entry_for("req_" + std::to_string(i), i)), net::use_future));
    // Each waiting commit keeps `ioc` busy: poll runs the coroutines up to their submits and returns.
    ioc.poll();
    EXPECT_EQ(flushed.load(), 0u) << "a flush ran although its executor never ran";

    committer.stop();
    EXPECT_EQ(flushed.load(), 5u);
    ASSERT_TRUE(run_until_idle(ioc)) << "the commits were not resumed";
    for (std::size_t i = 0; i < outcomes.size(); ++i)
    {
        ASSERT_EQ(outcomes[i].wait_for(std::chrono::seconds(0)), std::future_status::ready) << "commit " << i;
        EXPECT_EQ(describe(outcomes[i].get()), "first_sequence " + std::to_string(i)) << "commit " << i;
    }
}

// --- rocks_store -----------------------------------------------------------------------------------------

constexpr unix_millis base_time = 1'700'000'000'000; // 2023-11-14T22:13:20Z

// One version of a record, as a test writes it.
struct change
{
    std::string id;
    std::uint64_t version = 1; // the commit expects version - 1
    std::string status = "pending";
    std::string type = "request";
    unix_millis at = base_time;
    bool deleted = false;
    std::size_t events = 1;
};

std::string body_of(const change& c)
{
    return R"({"id":")" + c.id + R"(","type":")" + c.type + R"(","status":")" + c.status + R"(","version":)" +
           std::to_string(c.version) + "}";
}

commit_request make_commit(const change& c)
{
    commit_request r;
    r.id = c.id;
    r.expected_version = c.version - 1;
    r.next.version = c.version;
    r.next.updated_at = c.at;
    r.next.deleted = c.deleted;
    r.next.type = c.type;
    r.next.status = c.status;
    r.next.updated_by = "dev";
    r.next.changed =
        c.version == 1 ? std::vector<std::string>{"type", "status"} : std::vector<std::string>{"status"};
    r.next.body = body_of(c);
    for (std::size_t i = 0; i < c.events; ++i)
    {
        event_draft e;
        e.name = c.deleted ? "request.deleted" : c.version == 1 ? "request.created" : "request.updated";
        e.id = c.id;
        e.type = c.type;
        e.version = c.version;
        e.status = c.status;
        e.at = c.at;
        r.events.push_back(std::move(e));
    }
    return r;
}

// A rocks_store in its own temporary directory, with an io_context to run its commits on and a
// commit_observer that counts batches.
struct store_fixture
{
    temp_dir dir;
    net::io_context ioc{2};
    std::atomic<std::size_t> batches{0};
    std::atomic<std::size_t> batched_commits{0};
    std::unique_ptr<rocks_store> store; // last: closed before everything above goes

    explicit store_fixture(durability mode = durability::fsync) { open(mode); }

    store_options options(durability mode) const
    {
        store_options o;
        o.data_dir = dir.path() + "/db";
        o.durability = mode;
        o.block_cache_bytes = 1u << 20;
        o.write_buffer_bytes = 8u << 20;
        return o;
    }

    void open(durability mode = durability::fsync)
    {
        commit_observer observer;
        observer.on_batch_written = [this](std::size_t batch_size, std::chrono::nanoseconds)
        {
            ++batches;
            batched_commits += batch_size;
        };
        auto opened = rocks_store::open(options(mode), ioc.get_executor(), std::move(observer));
        if (!opened)
            throw std::runtime_error("open failed: " + opened.error().detail);
        store = std::move(*opened);
    }

    // Commits and waits for the outcome (at most `deadline`).
    result<commit_receipt> commit(const change& c) { return commit_request_now(make_commit(c)); }
    result<commit_receipt> commit_request_now(commit_request request)
    {
        auto outcome = net::co_spawn(ioc, store->commit(std::move(request)), net::use_future);
        if (!run_until_idle(ioc) || outcome.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        {
            ADD_FAILURE() << "a commit did not complete within the deadline";
            return failure(errc::internal, "timed out");
        }
        return outcome.get();
    }

    // Commits versions 1..n of `id`, the status of version v taken from `statuses[v - 1]`.
    void commit_versions(const std::string& id, const std::vector<std::string>& statuses)
    {
        for (std::size_t v = 1; v <= statuses.size(); ++v)
        {
            const auto r =
                commit({.id = id, .version = v, .status = statuses[v - 1], .at = base_time + 1000 * long(v)});
            ASSERT_TRUE(r.has_value()) << id << " version " << v << ": " << describe(r);
        }
    }

    // The current version of `id` as "version status" (+ " deleted"), or "absent".
    std::string current(const std::string& id)
    {
        const auto loaded = store->load(id);
        if (!loaded)
            return "error: " + loaded.error().detail;
        if (!*loaded)
            return "absent";
        return std::to_string((*loaded)->version) + " " + (*loaded)->status +
               ((*loaded)->deleted ? " deleted" : "");
    }
};

// "id@version status" for each entry, comma-separated.
std::string show(const std::vector<stored_version>& versions, const std::string& id = {})
{
    std::string out;
    for (const auto& v : versions)
    {
        if (!out.empty())
            out += ", ";
        out += (id.empty() ? "" : id + "@") + std::to_string(v.version) + " " + v.status +
               (v.deleted ? " deleted" : "");
    }
    return out;
}

// The ids of a page, comma-separated, then " | more after <id>" when more may follow.
std::string show(const list_page& page)
{
    std::string out;
    for (const auto& v : page.records)
    {
        if (!out.empty())
            out += ",";
        // The body starts with {"id":"<id>"
        const auto start = v.body.find(R"("id":")") + 6;
        out += v.body.substr(start, v.body.find('"', start) - start);
    }
    if (page.last_examined_id)
        out += " | more after " + *page.last_examined_id;
    return out;
}

TEST(RocksStore, ConcurrentCommitsGetGapFreeSequenceNumbersInFewerBatches)
{
    store_fixture f;
    ASSERT_EQ(f.store->last_sequence(), 0u);

    constexpr std::size_t commits = 100;
    std::vector<std::optional<result<commit_receipt>>> outcomes(commits);
    for (std::size_t i = 0; i < commits; ++i)
        net::co_spawn(f.ioc, f.store->commit(make_commit({.id = "req_" + std::to_string(1000 + i)})),
                      [&outcomes, i](std::exception_ptr e, result<commit_receipt> r)
                      {
                          if (!e)
                              outcomes[i] = std::move(r);
                      });
    ASSERT_TRUE(run_until_idle(f.ioc, 2)) << "commits still pending after the deadline";

    std::set<std::uint64_t> sequences;
    for (std::size_t i = 0; i < commits; ++i)
    {
        ASSERT_TRUE(outcomes[i].has_value()) << "commit " << i << " did not complete";
        ASSERT_TRUE(outcomes[i]->has_value()) << "commit " << i << ": " << describe(*outcomes[i]);
        sequences.insert((*outcomes[i])->first_sequence);
    }
    std::set<std::uint64_t> one_to_n;
    for (std::uint64_t s = 1; s <= commits; ++s)
        one_to_n.insert(s);
    EXPECT_EQ(sequences, one_to_n);
    EXPECT_EQ(f.store->last_sequence(), commits);

    EXPECT_EQ(f.batched_commits.load(), commits);
    EXPECT_LT(f.batches.load(), commits) << "every commit had a batch (and an fsync) of its own";
    EXPECT_GE(f.batches.load(), 1u);

    for (std::size_t i = 0; i < commits; ++i)
        EXPECT_EQ(f.current("req_" + std::to_string(1000 + i)), "1 pending");
}

TEST(RocksStore, EventsOfOneCommitTakeConsecutiveSequenceNumbers)
{
    store_fixture f;
    EXPECT_EQ(describe(f.commit({.id = "req_A", .events = 2})), "first_sequence 1");
    EXPECT_EQ(describe(f.commit({.id = "req_A", .version = 2, .status = "active", .events = 3})),
              "first_sequence 3");
    EXPECT_EQ(describe(f.commit({.id = "req_B"})), "first_sequence 6");
    EXPECT_EQ(f.store->last_sequence(), 6u);
}

TEST(RocksStore, StaleExpectedVersionFailsAndWritesNothing)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active"});
    const std::uint64_t sequence_before = f.store->last_sequence();
    const std::size_t batches_before = f.batches.load();

    // Expects version 1, but the record is at 2: its version 2 would overwrite the stored one.
    const auto stale = f.commit({.id = "req_A", .version = 2, .status = "canceled"});
    ASSERT_TRUE(stale.has_error()) << describe(stale);
    EXPECT_EQ(stale.error().code, errc::precondition_failed);

    EXPECT_EQ(f.current("req_A"), "2 active");
    const auto v2 = f.store->load_version("req_A", 2);
    ASSERT_TRUE(v2.has_value() && v2->has_value());
    EXPECT_EQ((*v2)->status, "active");
    EXPECT_EQ((*v2)->body, body_of({.id = "req_A", .version = 2, .status = "active"}));
    EXPECT_EQ(f.store->last_sequence(), sequence_before);
    EXPECT_EQ(f.batches.load(), batches_before) << "a refused commit was written";
}

TEST(RocksStore, CreatingAnExistingRecordFails)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending"});
    const auto again = f.commit({.id = "req_A", .status = "active"});
    ASSERT_TRUE(again.has_error()) << describe(again);
    EXPECT_EQ(again.error().code, errc::precondition_failed);
    EXPECT_EQ(f.current("req_A"), "1 pending");
    EXPECT_EQ(f.store->last_sequence(), 1u);
}

TEST(RocksStore, ExpectedVersionAheadOfTheRecordFails)
{
    store_fixture f;
    const auto ahead = f.commit({.id = "req_A", .version = 3});
    ASSERT_TRUE(ahead.has_error()) << describe(ahead);
    EXPECT_EQ(ahead.error().code, errc::precondition_failed);
    EXPECT_EQ(f.current("req_A"), "absent");
    EXPECT_EQ(f.store->last_sequence(), 0u);
}

TEST(RocksStore, ConcurrentCreatesOfOneIdLetExactlyOneWin)
{
    store_fixture f;
    constexpr std::size_t attempts = 20;
    std::vector<std::future<result<commit_receipt>>> outcomes;
    for (std::size_t i = 0; i < attempts; ++i)
        outcomes.push_back(net::co_spawn(
            f.ioc, f.store->commit(make_commit({.id = "req_A", .status = "attempt " + std::to_string(i)})),
            net::use_future));
    ASSERT_TRUE(run_until_idle(f.ioc, 2));

    std::size_t won = 0, refused = 0;
    for (auto& outcome : outcomes)
    {
        const auto r = outcome.get();
        if (r.has_value())
            ++won;
        else if (r.error().code == errc::precondition_failed)
            ++refused;
    }
    EXPECT_EQ(won, 1u);
    EXPECT_EQ(refused, attempts - 1);
    EXPECT_EQ(f.store->last_sequence(), 1u);
}

TEST(RocksStore, LoadOfAnUnknownIdIsNothing)
{
    store_fixture f;
    const auto loaded = f.store->load("req_NOPE");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().detail;
    EXPECT_FALSE(loaded->has_value());
}

TEST(RocksStore, LoadReturnsTheCurrentVersionWithItsBody)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "completed"});
    const auto loaded = f.store->load("req_A");
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    const stored_version& v = **loaded;
    EXPECT_EQ(v.version, 3u);
    EXPECT_EQ(v.status, "completed");
    EXPECT_EQ(v.type, "request");
    EXPECT_EQ(v.updated_by, "dev");
    EXPECT_EQ(v.updated_at, base_time + 3000);
    EXPECT_FALSE(v.deleted);
    EXPECT_EQ(v.changed, std::vector<std::string>{"status"});
    EXPECT_EQ(v.body, R"({"id":"req_A","type":"request","status":"completed","version":3})");
}

TEST(RocksStore, LoadIncludesTombstones)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending"});
    ASSERT_TRUE(f.commit({.id = "req_A", .version = 2, .status = "pending", .deleted = true}).has_value());
    EXPECT_EQ(f.current("req_A"), "2 pending deleted");
}

TEST(RocksStore, LoadVersionReturnsThatVersionWithItsBody)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "completed"});
    for (std::uint64_t n = 1; n <= 3; ++n)
    {
        const auto v = f.store->load_version("req_A", n);
        ASSERT_TRUE(v.has_value() && v->has_value()) << "version " << n;
        EXPECT_EQ((*v)->version, n);
        EXPECT_EQ((*v)->updated_at, base_time + 1000 * long(n));
        EXPECT_EQ((*v)->body, body_of({.id = "req_A", .version = n, .status = (*v)->status}));
    }
    EXPECT_EQ(f.store->load_version("req_A", 2).value()->status, "active");
}

TEST(RocksStore, LoadVersionOfAMissingVersionOrIdIsNothing)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active"});
    for (const auto& [id, n] : std::vector<std::pair<std::string, std::uint64_t>>{
             {"req_A", 0}, {"req_A", 3}, {"req_A", 256}, {"req_B", 1}, {"req_", 1}, {"req_A1", 1}})
    {
        const auto v = f.store->load_version(id, n);
        ASSERT_TRUE(v.has_value()) << v.error().detail;
        EXPECT_FALSE(v->has_value()) << id << " version " << n;
    }
}

TEST(RocksStore, LoadVersionStillReadsADeletedRecordsHistory)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active"});
    ASSERT_TRUE(f.commit({.id = "req_A", .version = 3, .status = "active", .deleted = true}).has_value());
    const auto v1 = f.store->load_version("req_A", 1);
    ASSERT_TRUE(v1.has_value() && v1->has_value());
    EXPECT_EQ((*v1)->status, "pending");
    const auto v3 = f.store->load_version("req_A", 3);
    ASSERT_TRUE(v3.has_value() && v3->has_value());
    EXPECT_TRUE((*v3)->deleted);
}

TEST(RocksStore, HistoryIsNewestFirstWithoutBodies)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "pending", "active", "completed"});
    const auto history = f.store->history("req_A", 6, 100);
    ASSERT_TRUE(history.has_value()) << history.error().detail;
    EXPECT_EQ(show(*history), "5 completed, 4 active, 3 pending, 2 active, 1 pending");
    for (const auto& v : *history)
    {
        EXPECT_EQ(v.body, "") << "version " << v.version;
        EXPECT_EQ(v.updated_at, base_time + 1000 * long(v.version));
        EXPECT_EQ(v.updated_by, "dev");
        EXPECT_EQ(v.type, "request");
    }
    EXPECT_EQ(history->back().changed, (std::vector<std::string>{"type", "status"}));
}

TEST(RocksStore, HistoryStartsBelowTheGivenVersion)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "pending", "active", "completed"});
    EXPECT_EQ(show(f.store->history("req_A", 4, 100).value()), "3 pending, 2 active, 1 pending");
    EXPECT_EQ(show(f.store->history("req_A", 2, 100).value()), "1 pending");
    EXPECT_EQ(show(f.store->history("req_A", 1, 100).value()), "");
    EXPECT_EQ(show(f.store->history("req_A", 0, 100).value()), "");
    EXPECT_EQ(show(f.store->history("req_A", std::numeric_limits<std::uint64_t>::max(), 100).value()),
              "5 completed, 4 active, 3 pending, 2 active, 1 pending");
}

TEST(RocksStore, HistoryReturnsAtMostLimitVersions)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "pending", "active", "completed"});
    EXPECT_EQ(show(f.store->history("req_A", 6, 2).value()), "5 completed, 4 active");
    EXPECT_EQ(show(f.store->history("req_A", 4, 2).value()), "3 pending, 2 active");
    EXPECT_EQ(show(f.store->history("req_A", 2, 2).value()), "1 pending");
    EXPECT_EQ(show(f.store->history("req_A", 6, 0).value()), "");
}

TEST(RocksStore, HistoryKeepsToItsOwnId)
{
    store_fixture f;
    f.commit_versions("req_", {"pending", "active"});
    f.commit_versions("req_A", {"pending", "active", "completed"});
    f.commit_versions("req_A1", {"canceled"});
    f.commit_versions("req_B", {"active"});
    EXPECT_EQ(show(f.store->history("req_A", 100, 100).value(), "req_A"),
              "req_A@3 completed, req_A@2 active, req_A@1 pending");
    EXPECT_EQ(show(f.store->history("req_A1", 100, 100).value(), "req_A1"), "req_A1@1 canceled");
    EXPECT_EQ(show(f.store->history("req_", 100, 100).value(), "req_"), "req_@2 active, req_@1 pending");
    EXPECT_EQ(show(f.store->history("req_C", 100, 100).value()), "");
    EXPECT_EQ(show(f.store->history("req_0", 100, 100).value()), "");
}

TEST(RocksStore, HistoryIncludesTheDeletion)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending"});
    ASSERT_TRUE(f.commit({.id = "req_A", .version = 2, .status = "pending", .deleted = true}).has_value());
    EXPECT_EQ(show(f.store->history("req_A", 3, 100).value()), "2 pending deleted, 1 pending");
}

// Ten records req_01..req_10 with varied types, states and times; req_04 and req_07 deleted.
void fill_for_listing(store_fixture& f)
{
    for (int i = 1; i <= 10; ++i)
    {
        const std::string id = i < 10 ? "req_0" + std::to_string(i) : "req_" + std::to_string(i);
        const std::string type = i % 3 == 0 ? "ticket" : "request";
        const std::string status = i % 2 == 0 ? "active" : "pending";
        ASSERT_TRUE(
            f.commit({.id = id, .status = status, .type = type, .at = base_time + i * 1000}).has_value());
        if (i == 4 || i == 7)
        {
            ASSERT_TRUE(f.commit({.id = id,
                                  .version = 2,
                                  .status = status,
                                  .type = type,
                                  .at = base_time + i * 1000,
                                  .deleted = true})
                            .has_value());
        }
    }
}

TEST(RocksStore, ListReturnsLiveRecordsInIdOrder)
{
    store_fixture f;
    fill_for_listing(f);
    const auto page = f.store->list({}, "", 100, 10'000);
    ASSERT_TRUE(page.has_value()) << page.error().detail;
    EXPECT_EQ(show(*page), "req_01,req_02,req_03,req_05,req_06,req_08,req_09,req_10");
    for (const auto& v : page->records)
        EXPECT_FALSE(v.body.empty()) << "listed records carry their bodies";
}

TEST(RocksStore, ListPagesResumeAfterTheLastExaminedId)
{
    store_fixture f;
    fill_for_listing(f);
    std::vector<std::string> pages;
    std::string after;
    for (int guard = 0; guard < 20; ++guard)
    {
        const auto page = f.store->list({}, after, 3, 10'000);
        ASSERT_TRUE(page.has_value()) << page.error().detail;
        pages.push_back(show(*page));
        if (!page->last_examined_id)
            break;
        after = *page->last_examined_id;
    }
    EXPECT_EQ(pages, (std::vector<std::string>{"req_01,req_02,req_03 | more after req_03",
                                               "req_05,req_06,req_08 | more after req_08", "req_09,req_10"}));
}

TEST(RocksStore, ListOfAnEmptyStoreIsCompleteAndEmpty)
{
    store_fixture f;
    const auto page = f.store->list({}, "", 100, 10'000);
    ASSERT_TRUE(page.has_value()) << page.error().detail;
    EXPECT_EQ(show(*page), "");
}

TEST(RocksStore, ListAfterAnIdThatIsNotStored)
{
    store_fixture f;
    fill_for_listing(f);
    EXPECT_EQ(show(f.store->list({}, "req_05x", 100, 10'000).value()), "req_06,req_08,req_09,req_10");
    EXPECT_EQ(show(f.store->list({}, "req_10", 100, 10'000).value()), "");
    EXPECT_EQ(show(f.store->list({}, "zzz", 100, 10'000).value()), "");
}

TEST(RocksStore, ListFiltersByTypeStatusAndUpdatedSince)
{
    store_fixture f;
    fill_for_listing(f);
    list_filter by_type;
    by_type.type = "ticket";
    EXPECT_EQ(show(f.store->list(by_type, "", 100, 10'000).value()), "req_03,req_06,req_09");

    list_filter by_status;
    by_status.status = "active";
    EXPECT_EQ(show(f.store->list(by_status, "", 100, 10'000).value()), "req_02,req_06,req_08,req_10");

    list_filter since;
    since.updated_since = base_time + 8000;
    EXPECT_EQ(show(f.store->list(since, "", 100, 10'000).value()), "req_08,req_09,req_10");

    list_filter all_three;
    all_three.type = "request";
    all_three.status = "pending";
    all_three.updated_since = base_time + 2000;
    EXPECT_EQ(show(f.store->list(all_three, "", 100, 10'000).value()), "req_05");
}

TEST(RocksStore, ListExaminesAtMostMaxExamined)
{
    store_fixture f;
    fill_for_listing(f);
    list_filter by_type;
    by_type.type = "ticket";
    // Examines req_01 and req_02, neither a ticket: an empty page that is not the end.
    EXPECT_EQ(show(f.store->list(by_type, "", 100, 2).value()), " | more after req_02");
    EXPECT_EQ(show(f.store->list(by_type, "req_02", 100, 2).value()), "req_03 | more after req_04");

    std::vector<std::string> pages;
    std::string after;
    for (int guard = 0; guard < 20; ++guard)
    {
        const auto page = f.store->list(by_type, after, 100, 4);
        ASSERT_TRUE(page.has_value()) << page.error().detail;
        pages.push_back(show(*page));
        if (!page->last_examined_id)
            break;
        after = *page->last_examined_id;
    }
    EXPECT_EQ(pages, (std::vector<std::string>{"req_03 | more after req_04", "req_06 | more after req_08",
                                               "req_09"}));
}

TEST(RocksStore, ListShowsTheCurrentVersion)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "completed"});
    const auto page = f.store->list({}, "", 100, 10'000).value();
    ASSERT_EQ(page.records.size(), 1u);
    EXPECT_EQ(page.records[0].version, 3u);
    EXPECT_EQ(page.records[0].status, "completed");
}

TEST(RocksStore, CloseThenReopenKeepsRecordsHistoryAndSequence)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active", "completed"});
    f.commit_versions("req_B", {"pending"});
    ASSERT_TRUE(f.commit({.id = "req_B", .version = 2, .status = "pending", .deleted = true}).has_value());
    ASSERT_EQ(f.store->last_sequence(), 5u);

    const auto closed = f.store->close();
    ASSERT_TRUE(closed.has_value()) << closed.error().detail;
    EXPECT_TRUE(f.store->close().has_value()) << "close() twice";
    f.store.reset();
    f.open();

    EXPECT_EQ(f.store->last_sequence(), 5u);
    EXPECT_EQ(f.current("req_A"), "3 completed");
    EXPECT_EQ(f.current("req_B"), "2 pending deleted");
    EXPECT_EQ(show(f.store->history("req_A", 4, 100).value()), "3 completed, 2 active, 1 pending");
    EXPECT_EQ(f.store->load_version("req_A", 2).value()->body,
              body_of({.id = "req_A", .version = 2, .status = "active"}));
    EXPECT_EQ(show(f.store->list({}, "", 100, 10'000).value()), "req_A");

    EXPECT_EQ(describe(f.commit({.id = "req_A", .version = 4, .status = "completed"})), "first_sequence 6");
    EXPECT_EQ(f.store->last_sequence(), 6u);
}

TEST(RocksStore, CommitAfterCloseFailsWithUnavailable)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending"});
    ASSERT_TRUE(f.store->close().has_value());
    const auto late = f.commit({.id = "req_B"});
    ASSERT_TRUE(late.has_error()) << describe(late);
    EXPECT_EQ(late.error().code, errc::unavailable);

    f.store.reset();
    f.open();
    EXPECT_EQ(f.current("req_B"), "absent");
    EXPECT_EQ(f.store->last_sequence(), 1u);
}

TEST(RocksStore, BufferedDurabilityCommitsAndReopens)
{
    store_fixture f(durability::buffered);
    f.commit_versions("req_A", {"pending", "active"});
    ASSERT_TRUE(f.store->close().has_value());
    f.store.reset();
    f.open(durability::buffered);
    EXPECT_EQ(f.current("req_A"), "2 active");
    EXPECT_EQ(f.store->last_sequence(), 2u);
}

TEST(RocksStore, OpeningADirectoryInUseFailsNamingTheCause)
{
    store_fixture f;
    auto second = rocks_store::open(f.options(durability::fsync), f.ioc.get_executor());
    ASSERT_TRUE(second.has_error()) << "two stores opened one directory";
    EXPECT_EQ(second.error().code, errc::internal);
    std::string detail = second.error().detail;
    EXPECT_NE(detail.find(f.options(durability::fsync).data_dir), std::string::npos) << detail;
    std::transform(detail.begin(), detail.end(), detail.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    EXPECT_NE(detail.find("lock"), std::string::npos) << detail;
}

} // namespace
