// The RocksDB engine's own tests, beside the conformance suite that every engine passes: group
// commit's batching, durability modes, and what survives closing and reopening the database.
#include <reqstore/core/pending_commit.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store_test_support.hpp"
#include "temp_dir.hpp"

namespace
{

namespace net = boost::asio;
using reqstore::core::commit_observer;
using reqstore::core::commit_receipt;
using reqstore::core::commit_request;
using reqstore::core::errc;
using reqstore::core::predecessor;
using reqstore::core::result;
using reqstore::store::durability;
using reqstore::store::rocks_store;
using reqstore::store::store_options;
using reqstore::test::base_time;
using reqstore::test::body_of;
using reqstore::test::change;
using reqstore::test::describe;
using reqstore::test::make_commit;
using reqstore::test::show;
using reqstore::test::store_deadline;
using reqstore::test::tag_of;
using reqstore::test::temp_dir;

// Runs `ioc` on `threads` threads until it has no work left. False when the deadline came first.
bool run_until_idle(net::io_context& ioc, int threads = 1)
{
    ioc.restart();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back([&ioc] { ioc.run_for(store_deadline); });
    for (auto& t : pool)
        t.join();
    return ioc.stopped();
}

// Starts a commit and waits for its outcome. The store outlives every coroutine of a test.
net::awaitable<result<commit_receipt>> commit_on(rocks_store* store, commit_request request)
{
    const auto pending = store->start_commit(std::move(request));
    co_return co_await pending->wait();
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

    // Closes the store and opens it again, as a restart does.
    void reopen(durability mode = durability::fsync)
    {
        if (const auto closed = store->close(); !closed)
            throw std::runtime_error("close failed: " + closed.error().detail);
        store.reset();
        open(mode);
    }

    // Runs one call of the store to completion (at most store_deadline) and returns its outcome.
    template <class T>
    T run(net::awaitable<T> op)
    {
        return reqstore::test::run_with_deadline(ioc, std::move(op));
    }

    // Commits and waits for the outcome.
    result<commit_receipt> commit(const change& c) { return run(commit_on(store.get(), make_commit(c))); }

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
        const auto loaded = run(store->load(id));
        if (!loaded)
            return "error: " + loaded.error().detail;
        if (!*loaded)
            return "absent";
        return std::to_string((*loaded)->version) + " " + (*loaded)->status +
               ((*loaded)->deleted ? " deleted" : "");
    }
};

TEST(RocksStore, ConcurrentCommitsGetGapFreeSequenceNumbersInFewerBatches)
{
    store_fixture f;
    ASSERT_EQ(f.store->last_sequence(), 0u);

    constexpr std::size_t commits = 100;
    std::vector<std::optional<result<commit_receipt>>> outcomes(commits);
    for (std::size_t i = 0; i < commits; ++i)
        net::co_spawn(f.ioc, commit_on(f.store.get(), make_commit({.id = "req_" + std::to_string(1000 + i)})),
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
    EXPECT_EQ(show(f.run(f.store->history("req_A", 4, 100)).value()), "3 completed, 2 active, 1 pending");
    EXPECT_EQ(f.run(f.store->load_version("req_A", 2)).value()->body,
              body_of({.id = "req_A", .version = 2, .status = "active"}));
    EXPECT_EQ(show(f.run(f.store->list({}, "", 100, 10'000)).value()), "req_A");

    EXPECT_EQ(describe(f.commit({.id = "req_A", .version = 4, .status = "completed"})), "first_sequence 6");
    EXPECT_EQ(f.store->last_sequence(), 6u);
}

TEST(RocksStore, AVersionsTagSurvivesAReopen)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active"});
    f.reopen();

    const auto loaded = f.run(f.store->load("req_A"));
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    EXPECT_EQ((*loaded)->tag, tag_of(2));
    EXPECT_EQ(f.run(f.store->load_version("req_A", 1)).value()->tag, tag_of(1));

    // The compare-and-swap reads the stored tag: a write judged against a version 2 that another
    // write replaced still fails after the restart.
    const auto stale = f.commit(
        {.id = "req_A", .version = 3, .status = "canceled", .expected = predecessor{2, tag_of(2) + 1}});
    ASSERT_TRUE(stale.has_error()) << describe(stale);
    EXPECT_EQ(stale.error().code, errc::precondition_failed);
    EXPECT_EQ(f.current("req_A"), "2 active");
    EXPECT_EQ(f.store->last_sequence(), 2u);

    EXPECT_EQ(describe(f.commit({.id = "req_A", .version = 3, .status = "canceled"})), "first_sequence 3");
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

// A regression test: a read after close() once dereferenced the closed database.
TEST(RocksStore, ReadsAfterCloseAnswerUnavailable)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending"});
    ASSERT_TRUE(f.store->close().has_value());
    const auto loaded = f.run(f.store->load("req_A"));
    ASSERT_TRUE(loaded.has_error());
    EXPECT_EQ(loaded.error().code, errc::unavailable);
    const auto feed = f.run(f.store->events_after(0, 10));
    ASSERT_TRUE(feed.has_error());
    EXPECT_EQ(feed.error().code, errc::unavailable);
    const auto deliveries = f.run(f.store->open_deliveries());
    ASSERT_TRUE(deliveries.has_error());
    EXPECT_EQ(deliveries.error().code, errc::unavailable);
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

// A new store's column families are created after its first open, in one call: a start stopped between
// the two leaves a directory with only some of them, which the next open completes.
TEST(RocksStore, OpensADirectoryThatLacksSomeOfItsColumnFamiliesAndCreatesThem)
{
    store_fixture f;
    const std::string path = f.options(durability::fsync).data_dir;
    ASSERT_TRUE(f.store->close().has_value());
    f.store.reset();
    const auto families_of = [&path]
    {
        std::vector<std::string> names;
        EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
        std::sort(names.begin(), names.end());
        return names;
    };
    const auto all = families_of();
    ASSERT_EQ(all.size(), 10u);
    {
        std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
        for (const auto& name : all)
            descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
        std::unique_ptr<rocksdb::DB> db(raw);
        for (auto* handle : handles)
        {
            const std::string name = handle->GetName();
            if (name == "versions" || name == "timers" || name == "attachments")
            {
                EXPECT_TRUE(db->DropColumnFamily(handle).ok()) << name;
            }
            EXPECT_TRUE(db->DestroyColumnFamilyHandle(handle).ok()) << name;
        }
    }
    ASSERT_EQ(families_of().size(), 7u);

    f.open();
    f.commit_versions("req_B", {"pending", "active"});
    EXPECT_EQ(f.current("req_B"), "2 active");
    ASSERT_TRUE(f.store->close().has_value());
    f.store.reset();
    EXPECT_EQ(families_of(), all);
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

// Disabled: it fails. open_db (src/store/rocks/rocks_store.cpp) refuses to open a store whose
// sequence counter is above the newest event, which is every store whose feed trim_events emptied:
// "the event sequence counter (2) disagrees with the newest event (0)". Enable it with the fix.
// A regression test: the counter once had to equal the newest entry, so a feed trimmed empty refused
// to open.
TEST(RocksStore, ReopensAfterTheWholeFeedWasTrimmed)
{
    store_fixture f;
    f.commit_versions("req_A", {"pending", "active"});
    // As the server's hourly trim does once the fan-out has read every event and all are old.
    ASSERT_EQ(f.run(f.store->trim_events(base_time + 60'000, 3)).value(), 2u);
    ASSERT_EQ(f.run(f.store->oldest_sequence()).value(), 0u);

    f.reopen();
    EXPECT_EQ(f.store->last_sequence(), 2u);
    EXPECT_EQ(describe(f.commit({.id = "req_A", .version = 3, .status = "completed"})), "first_sequence 3");
}

} // namespace
