// Unit tests for group commit (group_commit.hpp): batching, per-commit outcomes, stopping, and where
// the flush runs and each waiter resumes.
#include <reqstore/store/group_commit.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>

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
    entry.request.expected = {expected_version, 0};
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
                const std::uint64_t n = entry.request.expected.version;
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
                                   entry.outcome = commit_receipt{entry.request.expected.version};
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
                entry.outcome = commit_receipt{entry.request.expected.version};
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
                entry.outcome = commit_receipt{entry.request.expected.version};
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

} // namespace
