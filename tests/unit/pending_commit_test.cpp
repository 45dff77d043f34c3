// Unit tests for pending_commit (pending_commit.hpp): a commit's outcome reaches every waiter, on its
// own executor, whether it waits before or after the outcome arrives, from any thread.
#include <reqstore/core/pending_commit.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace
{

namespace net = boost::asio;
using reqstore::core::commit_receipt;
using reqstore::core::errc;
using reqstore::core::failure;
using reqstore::core::pending_commit;
using reqstore::core::result;

constexpr auto deadline = std::chrono::seconds(10);

net::awaitable<result<commit_receipt>> wait_on(std::shared_ptr<pending_commit> pending)
{
    co_return co_await pending->wait();
}

TEST(PendingCommit, WaitersBeforeAndAfterTheOutcomeAllGetIt)
{
    net::io_context ioc(2);
    auto work = net::make_work_guard(ioc);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&] { ioc.run(); });

    auto pending = std::make_shared<pending_commit>();
    std::vector<std::future<result<commit_receipt>>> early;
    for (int i = 0; i < 8; ++i)
        early.push_back(net::co_spawn(net::make_strand(ioc), wait_on(pending), net::use_future));
    // Nobody is woken before the outcome arrives.
    EXPECT_EQ(early[0].wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);

    // Completed from a thread that runs no I/O context, like the commit thread.
    std::thread([pending] { pending->complete(commit_receipt{42}); }).join();
    for (auto& f : early)
    {
        ASSERT_EQ(f.wait_for(deadline), std::future_status::ready);
        auto r = f.get();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->first_sequence, 42u);
    }
    auto late = net::co_spawn(net::make_strand(ioc), wait_on(pending), net::use_future);
    ASSERT_EQ(late.wait_for(deadline), std::future_status::ready);
    EXPECT_EQ(late.get()->first_sequence, 42u);

    work.reset();
    for (auto& t : threads)
        t.join();
}

TEST(PendingCommit, AFailureReachesEveryWaiter)
{
    net::io_context ioc(1);
    auto pending = std::make_shared<pending_commit>();
    auto a = net::co_spawn(ioc, wait_on(pending), net::use_future);
    auto b = net::co_spawn(ioc, wait_on(pending), net::use_future);
    ioc.run_for(std::chrono::milliseconds(20)); // both now wait
    pending->complete(failure(errc::unavailable, "the store is closed"));
    ioc.restart();
    ioc.run_for(std::chrono::seconds(1));
    for (auto* f : {&a, &b})
    {
        ASSERT_EQ(f->wait_for(std::chrono::seconds(0)), std::future_status::ready);
        auto r = f->get();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::unavailable);
    }
}

// completed() tells a commit that ended, even before any waiter has run (a record's next writer
// asks it while the commit's own writer has not yet settled it).
TEST(PendingCommit, CompletedIsTrueOnceTheOutcomeIsSetWhetherOrNotAnyoneWaited)
{
    pending_commit succeeded;
    EXPECT_FALSE(succeeded.completed());
    succeeded.complete(commit_receipt{7});
    EXPECT_TRUE(succeeded.completed());

    pending_commit failed;
    failed.complete(failure(errc::precondition_failed, "the record moved on"));
    EXPECT_TRUE(failed.completed());
}

} // namespace
