// The store conformance suite: what every engine behind core::record_store and core::outbox_store
// must do, checked through those two interfaces alone, once per engine (the factories below).
#include <reqstore/core/outbox.hpp>
#include <reqstore/core/pending_commit.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/store/memory/memory_store.hpp>
#include <reqstore/store/pg/connection.hpp>
#include <reqstore/store/pg/pg_store.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "pg_test_instance.hpp"
#include "store_test_support.hpp"
#include "temp_dir.hpp"

namespace
{

namespace net = boost::asio;
using reqstore::core::attachment_blob;
using reqstore::core::commit_observer;
using reqstore::core::commit_receipt;
using reqstore::core::commit_request;
using reqstore::core::delivery;
using reqstore::core::delivery_attempt;
using reqstore::core::delivery_filter;
using reqstore::core::delivery_status;
using reqstore::core::errc;
using reqstore::core::event_draft;
using reqstore::core::feed_entry;
using reqstore::core::idempotency_entry;
using reqstore::core::list_filter;
using reqstore::core::outbox_store;
using reqstore::core::pending_commit;
using reqstore::core::predecessor;
using reqstore::core::record_store;
using reqstore::core::result;
using reqstore::core::stored_version;
using reqstore::core::subscription;
using reqstore::core::timer_key;
using reqstore::core::unix_millis;
using reqstore::test::base_time;
using reqstore::test::body_of;
using reqstore::test::change;
using reqstore::test::describe;
using reqstore::test::make_commit;
using reqstore::test::show;
using reqstore::test::store_deadline;
using reqstore::test::tag_of;
using reqstore::test::temp_dir;

// ---- the engines: the only part of this file that names one ---------------------------------------

// One engine opened for one test: the two interfaces the core sees, and whatever keeps them alive.
class engine
{
public:
    virtual ~engine() = default;
    virtual record_store& records() = 0;
    virtual outbox_store& outbox() = 0;
};

// How a parameter of the suite opens a fresh, empty engine. `executor` runs the engine's completions
// (the test runs it); `observer` must hear of every commit the engine writes.
struct engine_factory
{
    std::string name;
    std::function<std::unique_ptr<engine>(net::any_io_executor executor, commit_observer observer)> open;
};

void PrintTo(const engine_factory& factory, std::ostream* os)
{
    *os << factory.name;
}

// RocksDB in a directory of its own. Buffered: no test of this suite is about fsync, and a buffered
// store writes its batches on the test's io_context rather than on a commit thread.
class rocks_engine final : public engine
{
public:
    rocks_engine(net::any_io_executor executor, commit_observer observer)
    {
        reqstore::store::store_options options;
        options.data_dir = dir_.path() + "/db";
        options.durability = reqstore::store::durability::buffered;
        options.block_cache_bytes = 1u << 20;
        options.write_buffer_bytes = 8u << 20;
        auto opened = reqstore::store::rocks_store::open(options, std::move(executor), std::move(observer));
        if (!opened)
            throw std::runtime_error("cannot open the RocksDB store: " + opened.error().detail);
        store_ = std::move(*opened);
    }

    record_store& records() override { return *store_; }
    outbox_store& outbox() override { return *store_; }

private:
    temp_dir dir_;
    std::unique_ptr<reqstore::store::rocks_store> store_; // closed before dir_ is removed
};

class memory_engine final : public engine
{
public:
    explicit memory_engine(commit_observer observer) : store_(std::move(observer)) {}

    record_store& records() override { return store_; }
    outbox_store& outbox() override { return store_; }

private:
    reqstore::store::memory_store store_;
};

// PostgreSQL (the test instance of tests/pg/instance), in a schema of its own that is dropped after
// the test.
class postgres_engine final : public engine
{
public:
    postgres_engine(net::any_io_executor executor, commit_observer observer)
        : store_(std::move(executor), std::move(observer), "conformance")
    {
    }

    record_store& records() override { return *store_; }
    outbox_store& outbox() override { return *store_; }

private:
    reqstore::test::scratch_pg_store store_;
};

const engine_factory rocks_factory{"Rocks", [](net::any_io_executor executor, commit_observer observer)
                                   {
                                       return std::unique_ptr<engine>(std::make_unique<rocks_engine>(
                                           std::move(executor), std::move(observer)));
                                   }};

const engine_factory memory_factory{"Memory", [](net::any_io_executor, commit_observer observer)
                                    {
                                        return std::unique_ptr<engine>(
                                            std::make_unique<memory_engine>(std::move(observer)));
                                    }};

const engine_factory postgres_factory{"Postgres", [](net::any_io_executor executor, commit_observer observer)
                                      {
                                          return std::unique_ptr<engine>(std::make_unique<postgres_engine>(
                                              std::move(executor), std::move(observer)));
                                      }};

// ---- the fixture --------------------------------------------------------------------------------

net::awaitable<std::vector<result<commit_receipt>>>
wait_for_all(std::vector<std::shared_ptr<pending_commit>> pending)
{
    std::vector<result<commit_receipt>> outcomes;
    for (const auto& p : pending)
        outcomes.push_back(co_await p->wait());
    co_return outcomes;
}

// The sequence numbers of feed entries, space-separated.
std::string sequences_of(const std::vector<feed_entry>& entries)
{
    std::string out;
    for (const auto& e : entries)
        out += (out.empty() ? "" : " ") + std::to_string(e.sequence);
    return out;
}

// "+<ms after base_time> <id>" for each timer, comma-separated.
std::string show(const std::vector<timer_key>& timers)
{
    std::string out;
    for (const auto& t : timers)
        out += (out.empty() ? "" : ", ") + ("+" + std::to_string(t.due - base_time)) + " " + t.id;
    return out;
}

std::string show(const std::optional<timer_key>& timer)
{
    return timer ? show(std::vector<timer_key>{*timer}) : "none";
}

// "target#sequence status" for each delivery, comma-separated: the ids are the engine's to choose.
std::string show(const std::vector<delivery>& deliveries)
{
    std::string out;
    for (const auto& d : deliveries)
        out += (out.empty() ? "" : ", ") + d.target + "#" + std::to_string(d.sequence) + " " +
               std::string(to_string(d.status));
    return out;
}

// Every member of a delivery but its id.
std::string describe(const delivery& d)
{
    std::string out = d.target + " lane=" + d.lane + " seq=" + std::to_string(d.sequence) + " " + d.event +
                      " " + d.record_id + "/" + d.record_type + "@" + std::to_string(d.version) + " " +
                      d.url + " " + d.webhook_id + " payload=" + d.payload + " " +
                      std::string(to_string(d.status)) + " created=" + std::to_string(d.created_at) +
                      " committed=" + std::to_string(d.committed_at) +
                      " next=" + std::to_string(d.next_attempt_at) + " attempts=[";
    for (const auto& a : d.attempts)
        out += std::to_string(a.at) + " " + std::to_string(a.status) + " " + std::to_string(a.latency_us) +
               "us '" + a.error + "';";
    return out + "]";
}

std::string describe(const subscription& s)
{
    std::string out = s.id + " " + s.url + " events=";
    for (const auto& e : s.events)
        out += e + ";";
    out += " types=";
    for (const auto& t : s.types)
        out += t + ";";
    out += " " + s.secret + (s.enabled ? " enabled" : " disabled") +
           " created=" + std::to_string(s.created_at) + " updated=" + std::to_string(s.updated_at) +
           " failing_since=" + (s.failing_since ? std::to_string(*s.failing_since) : "-") +
           " reason=" + s.disabled_reason.value_or("-");
    return out;
}

std::string describe(const std::vector<subscription>& subscriptions)
{
    std::string out;
    for (const auto& s : subscriptions)
        out += (out.empty() ? "" : " | ") + describe(s);
    return out;
}

delivery delivery_to(const std::string& target, std::uint64_t sequence)
{
    delivery d;
    d.target = target;
    d.lane = target;
    d.sequence = sequence;
    d.event = "request.created";
    d.record_id = "req_" + std::to_string(sequence);
    d.record_type = "request";
    d.version = 1;
    d.url = "https://hooks.example/" + target;
    d.webhook_id = "msg_" + std::to_string(sequence);
    d.created_at = base_time + 10;
    d.committed_at = base_time;
    d.next_attempt_at = base_time + 20;
    return d;
}

subscription subscription_named(const std::string& id, const std::string& url)
{
    subscription s;
    s.id = id;
    s.url = url;
    s.events = {"request.created", "request.deleted"};
    s.types = {"ticket"};
    s.secret = "whsec_" + id;
    s.created_at = base_time;
    s.updated_at = base_time + 1;
    return s;
}

class StoreConformance : public ::testing::TestWithParam<engine_factory>
{
protected:
    void SetUp() override
    {
        commit_observer observer;
        observer.on_batch_written = [this](std::size_t batch_size, std::chrono::nanoseconds)
        {
            written_commits_ += batch_size;
        };
        engine_ = GetParam().open(ioc_.get_executor(), std::move(observer));
    }

    record_store& records() { return engine_->records(); }
    outbox_store& outbox() { return engine_->outbox(); }

    // Runs one call of the store to completion (at most store_deadline) and returns its outcome.
    template <class T>
    T run(net::awaitable<T> op)
    {
        return reqstore::test::run_with_deadline(ioc_, std::move(op));
    }

    // Commits and waits for the outcome.
    result<commit_receipt> commit(const change& c) { return commit_request_now(make_commit(c)); }
    result<commit_receipt> commit_request_now(commit_request request)
    {
        const auto pending = records().start_commit(std::move(request));
        return run(pending->wait());
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

    // Starts every request from several threads at once, while two threads run the io_context, and
    // returns their outcomes in the order of `requests`.
    std::vector<result<commit_receipt>> commit_concurrently(std::vector<commit_request> requests)
    {
        constexpr std::size_t starters = 4;
        constexpr int runners = 2;
        std::vector<std::shared_ptr<pending_commit>> pending(requests.size());
        auto work = net::make_work_guard(ioc_);
        ioc_.restart();
        std::vector<std::thread> running;
        for (int i = 0; i < runners; ++i)
            running.emplace_back([this] { ioc_.run_for(store_deadline); });
        std::vector<std::thread> starting;
        for (std::size_t t = 0; t < starters; ++t)
            starting.emplace_back(
                [this, t, &requests, &pending]
                {
                    for (std::size_t i = t; i < requests.size(); i += starters)
                        pending[i] = records().start_commit(std::move(requests[i]));
                });
        for (auto& t : starting)
            t.join();
        auto outcomes = net::co_spawn(ioc_, wait_for_all(std::move(pending)), net::use_future);
        work.reset();
        for (auto& t : running)
            t.join();
        if (outcomes.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        {
            ADD_FAILURE() << "concurrent commits did not complete within the deadline";
            return {};
        }
        return outcomes.get();
    }

    // The current version of `id` as "version status" (+ " deleted"), or "absent".
    std::string current(const std::string& id)
    {
        const auto loaded = run(records().load(id));
        if (!loaded)
            return "error: " + loaded.error().detail;
        if (!*loaded)
            return "absent";
        return std::to_string((*loaded)->version) + " " + (*loaded)->status +
               ((*loaded)->deleted ? " deleted" : "");
    }

    // The whole change feed.
    std::vector<feed_entry> feed()
    {
        auto entries = run(outbox().events_after(0, 1'000'000));
        if (!entries)
        {
            ADD_FAILURE() << "events_after: " << entries.error().detail;
            return {};
        }
        return std::move(*entries);
    }

    // The sequence number of the newest event in the feed (0 when it is empty).
    std::uint64_t newest_sequence()
    {
        const auto entries = feed();
        return entries.empty() ? 0 : entries.back().sequence;
    }

    // The timers due at any time.
    std::string all_timers()
    {
        return show(run(records().timers_due(std::numeric_limits<unix_millis>::max(), 1000)).value());
    }

    // Ten records req_01..req_10 with varied types, states and times; req_04 and req_07 deleted.
    void fill_for_listing()
    {
        for (int i = 1; i <= 10; ++i)
        {
            const std::string id = i < 10 ? "req_0" + std::to_string(i) : "req_" + std::to_string(i);
            const std::string type = i % 3 == 0 ? "ticket" : "request";
            const std::string status = i % 2 == 0 ? "active" : "pending";
            ASSERT_TRUE(
                commit({.id = id, .status = status, .type = type, .at = base_time + i * 1000}).has_value());
            if (i == 4 || i == 7)
            {
                ASSERT_TRUE(commit({.id = id,
                                    .version = 2,
                                    .status = status,
                                    .type = type,
                                    .at = base_time + i * 1000,
                                    .deleted = true})
                                .has_value());
            }
        }
    }

    // Fans out `deliveries` and returns them with the ids the engine gave them.
    std::vector<delivery> fan_out(std::uint64_t cursor, std::vector<delivery> deliveries)
    {
        const auto done = run(outbox().fan_out(cursor, deliveries));
        if (!done)
            ADD_FAILURE() << "fan_out: " << done.error().detail;
        return deliveries;
    }

    std::size_t written_commits() const { return written_commits_.load(); }

private:
    // Declared in this order so that the engine closes first, while the context it posts to lives.
    net::io_context ioc_;
    std::atomic<std::size_t> written_commits_{0}; // heard from the engine's commit_observer
    std::unique_ptr<engine> engine_;
};

INSTANTIATE_TEST_SUITE_P(Engines, StoreConformance,
                         ::testing::Values(rocks_factory, memory_factory, postgres_factory),
                         [](const ::testing::TestParamInfo<engine_factory>& engine_info)
                         { return engine_info.param.name; });

// ---- compare-and-swap -----------------------------------------------------------------------------

TEST_P(StoreConformance, ACommitFromTheExactPredecessorSucceeds)
{
    EXPECT_EQ(describe(commit({.id = "req_A"})), "first_sequence 1");
    EXPECT_EQ(describe(commit({.id = "req_A", .version = 2, .status = "active"})), "first_sequence 2");
    EXPECT_EQ(current("req_A"), "2 active");
    const auto loaded = run(records().load("req_A"));
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    EXPECT_EQ((*loaded)->tag, tag_of(2));
    EXPECT_EQ(written_commits(), 2u);
}

TEST_P(StoreConformance, StaleExpectedVersionFailsAndWritesNothing)
{
    commit_versions("req_A", {"pending", "active"});
    const std::uint64_t sequence_before = newest_sequence();
    const std::size_t written_before = written_commits();

    // Expects version 1, but the record is at 2: its version 2 would overwrite the stored one.
    const auto stale = commit({.id = "req_A", .version = 2, .status = "canceled"});
    ASSERT_TRUE(stale.has_error()) << describe(stale);
    EXPECT_EQ(stale.error().code, errc::precondition_failed);

    EXPECT_EQ(current("req_A"), "2 active");
    const auto v2 = run(records().load_version("req_A", 2));
    ASSERT_TRUE(v2.has_value() && v2->has_value());
    EXPECT_EQ((*v2)->status, "active");
    EXPECT_EQ((*v2)->body, body_of({.id = "req_A", .version = 2, .status = "active"}));
    EXPECT_EQ(newest_sequence(), sequence_before);
    EXPECT_EQ(written_commits(), written_before) << "a refused commit was written";
}

TEST_P(StoreConformance, CreatingAnExistingRecordFails)
{
    commit_versions("req_A", {"pending"});
    const auto again = commit({.id = "req_A", .status = "active"});
    ASSERT_TRUE(again.has_error()) << describe(again);
    EXPECT_EQ(again.error().code, errc::precondition_failed);
    EXPECT_EQ(current("req_A"), "1 pending");
    EXPECT_EQ(newest_sequence(), 1u);
}

TEST_P(StoreConformance, ExpectedVersionAheadOfTheRecordFails)
{
    const auto ahead = commit({.id = "req_A", .version = 3});
    ASSERT_TRUE(ahead.has_error()) << describe(ahead);
    EXPECT_EQ(ahead.error().code, errc::precondition_failed);
    EXPECT_EQ(current("req_A"), "absent");
    EXPECT_EQ(newest_sequence(), 0u);

    commit_versions("req_B", {"pending"});
    const auto ahead_of_b = commit({.id = "req_B", .version = 3, .status = "active"});
    ASSERT_TRUE(ahead_of_b.has_error()) << describe(ahead_of_b);
    EXPECT_EQ(ahead_of_b.error().code, errc::precondition_failed);
    EXPECT_EQ(current("req_B"), "1 pending");
    EXPECT_EQ(newest_sequence(), 1u);
}

TEST_P(StoreConformance, AStaleTagWithTheRightVersionNumberFails)
{
    commit_versions("req_A", {"pending", "active"});
    const std::size_t written_before = written_commits();

    // Judged against a version 2 that another write replaced: the number is right, the tag is not.
    const auto replaced = commit(
        {.id = "req_A", .version = 3, .status = "canceled", .expected = predecessor{2, tag_of(2) + 1000}});
    ASSERT_TRUE(replaced.has_error()) << describe(replaced);
    EXPECT_EQ(replaced.error().code, errc::precondition_failed);

    // Tag 0 (a version stored before tags existed) is no wildcard for a tagged version.
    const auto untagged =
        commit({.id = "req_A", .version = 3, .status = "canceled", .expected = predecessor{2, 0}});
    ASSERT_TRUE(untagged.has_error()) << describe(untagged);
    EXPECT_EQ(untagged.error().code, errc::precondition_failed);

    EXPECT_EQ(current("req_A"), "2 active");
    EXPECT_EQ(newest_sequence(), 2u);
    EXPECT_EQ(written_commits(), written_before) << "a refused commit was written";
    const auto absent = run(records().load_version("req_A", 3));
    ASSERT_TRUE(absent.has_value());
    EXPECT_FALSE(absent->has_value());

    // The same write judged against the stored version passes.
    EXPECT_EQ(describe(commit({.id = "req_A", .version = 3, .status = "canceled"})), "first_sequence 3");
}

TEST_P(StoreConformance, ANextVersionOtherThanExpectedPlusOneFails)
{
    commit_versions("req_A", {"pending"});
    for (const std::uint64_t next : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{0}})
    {
        commit_request request = make_commit({.id = "req_A", .version = 2, .status = "active"});
        request.next.version = next;
        const auto refused = commit_request_now(std::move(request));
        ASSERT_TRUE(refused.has_error()) << "next version " << next << ": " << describe(refused);
        EXPECT_EQ(refused.error().code, errc::precondition_failed) << "next version " << next;
    }
    commit_request skip = make_commit({.id = "req_B"});
    skip.next.version = 2;
    const auto refused = commit_request_now(std::move(skip));
    ASSERT_TRUE(refused.has_error()) << describe(refused);
    EXPECT_EQ(refused.error().code, errc::precondition_failed);

    EXPECT_EQ(current("req_A"), "1 pending");
    EXPECT_EQ(current("req_B"), "absent");
    EXPECT_EQ(newest_sequence(), 1u);
}

TEST_P(StoreConformance, ConcurrentCreatesOfOneIdLetExactlyOneWin)
{
    constexpr std::size_t attempts = 20;
    std::vector<commit_request> requests;
    for (std::size_t i = 0; i < attempts; ++i)
        requests.push_back(
            make_commit({.id = "req_A", .status = "attempt " + std::to_string(i), .tag = 1000 + i}));
    const auto outcomes = commit_concurrently(std::move(requests));
    ASSERT_EQ(outcomes.size(), attempts);

    std::size_t won = 0, refused = 0;
    std::optional<std::size_t> winner;
    for (std::size_t i = 0; i < attempts; ++i)
    {
        if (outcomes[i].has_value())
        {
            ++won;
            winner = i;
        }
        else if (outcomes[i].error().code == errc::precondition_failed)
            ++refused;
    }
    EXPECT_EQ(won, 1u);
    EXPECT_EQ(refused, attempts - 1);
    EXPECT_EQ(newest_sequence(), 1u);
    ASSERT_TRUE(winner.has_value());
    EXPECT_EQ(current("req_A"), "1 attempt " + std::to_string(*winner));
    EXPECT_EQ(run(records().load("req_A")).value()->tag, 1000 + *winner);
}

// ---- batch atomicity ----------------------------------------------------------------------------

// A commit that carries everything a commit can: three events, timers added and removed, an
// idempotency answer and two attachments.
commit_request everything_of(const change& c)
{
    commit_request r = make_commit(c);
    r.timers_added = {{base_time + 60'000, c.id}, {base_time + 120'000, c.id}};
    r.timers_removed = {{base_time + 30'000, c.id}};
    r.idempotency = idempotency_entry{"key_1:" + c.id, "fp-" + c.id, base_time, "answer of " + c.id};
    r.attachments = {{std::string(64, 'a'), std::string("first\0file", 10)},
                     {std::string(64, 'b'), "second"}};
    return r;
}

TEST_P(StoreConformance, EverythingOfACommitIsVisibleAfterItSucceeds)
{
    commit_request first = make_commit({.id = "req_A"});
    first.timers_added = {{base_time + 30'000, "req_A"}};
    ASSERT_TRUE(commit_request_now(std::move(first)).has_value());

    const auto committed =
        commit_request_now(everything_of({.id = "req_A", .version = 2, .status = "active", .events = 3}));
    ASSERT_EQ(describe(committed), "first_sequence 2");

    EXPECT_EQ(current("req_A"), "2 active");
    EXPECT_EQ(run(records().load_version("req_A", 2)).value()->body,
              body_of({.id = "req_A", .version = 2, .status = "active"}));
    EXPECT_EQ(show(run(records().history("req_A", 3, 10)).value()), "2 active, 1 pending");
    EXPECT_EQ(sequences_of(feed()), "1 2 3 4");
    EXPECT_EQ(all_timers(), "+60000 req_A, +120000 req_A");
    const auto answer = run(records().load_idempotency("key_1:req_A")).value();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->answer, "answer of req_A");
    EXPECT_EQ(run(records().load_attachment("req_A", std::string(64, 'a'))).value(),
              std::string("first\0file", 10));
    EXPECT_EQ(run(records().load_attachment("req_A", std::string(64, 'b'))).value(), "second");
}

TEST_P(StoreConformance, NothingOfARefusedCommitIsVisible)
{
    commit_request first = make_commit({.id = "req_A"});
    first.timers_added = {{base_time + 30'000, "req_A"}};
    ASSERT_TRUE(commit_request_now(std::move(first)).has_value());
    const std::size_t written_before = written_commits();

    // Judged against a version 1 that is not the stored one.
    const auto refused = commit_request_now(everything_of(
        {.id = "req_A", .version = 2, .status = "active", .events = 3, .expected = predecessor{1, 77}}));
    ASSERT_TRUE(refused.has_error()) << describe(refused);
    EXPECT_EQ(refused.error().code, errc::precondition_failed);

    EXPECT_EQ(current("req_A"), "1 pending");
    EXPECT_FALSE(run(records().load_version("req_A", 2)).value().has_value());
    EXPECT_EQ(show(run(records().history("req_A", 10, 10)).value()), "1 pending");
    EXPECT_EQ(sequences_of(feed()), "1");
    EXPECT_EQ(all_timers(), "+30000 req_A") << "the refused commit's timers were applied";
    EXPECT_FALSE(run(records().load_idempotency("key_1:req_A")).value().has_value());
    EXPECT_FALSE(run(records().load_attachment("req_A", std::string(64, 'a'))).value().has_value());
    EXPECT_FALSE(run(records().load_attachment("req_A", std::string(64, 'b'))).value().has_value());
    EXPECT_EQ(written_commits(), written_before);

    // No sequence number was consumed: the next event takes 2.
    EXPECT_EQ(describe(commit({.id = "req_B"})), "first_sequence 2");
}

// ---- the gap-free sequence -----------------------------------------------------------------------

TEST_P(StoreConformance, ConcurrentCommitsOnManyRecordsGetSequenceNumbersOneToN)
{
    constexpr std::size_t commits = 100;
    std::vector<commit_request> requests;
    std::size_t events = 0;
    for (std::size_t i = 0; i < commits; ++i)
    {
        requests.push_back(make_commit({.id = "req_" + std::to_string(1000 + i), .events = 1 + i % 3}));
        events += 1 + i % 3;
    }
    const std::vector<commit_request> sent = requests;
    const auto outcomes = commit_concurrently(std::move(requests));
    ASSERT_EQ(outcomes.size(), commits);

    // Each commit's events take the numbers first_sequence.. first_sequence + its events - 1; together
    // they are 1..N, each taken once, and the feed holds each commit's events under its numbers.
    std::vector<const event_draft*> by_sequence(events + 1, nullptr);
    for (std::size_t i = 0; i < commits; ++i)
    {
        ASSERT_TRUE(outcomes[i].has_value()) << "commit " << i << ": " << describe(outcomes[i]);
        for (std::size_t k = 0; k < sent[i].events.size(); ++k)
        {
            const std::uint64_t sequence = outcomes[i]->first_sequence + k;
            ASSERT_GE(sequence, 1u);
            ASSERT_LE(sequence, events) << "commit " << i;
            ASSERT_EQ(by_sequence[sequence], nullptr) << "sequence " << sequence << " given twice";
            by_sequence[sequence] = &sent[i].events[k];
        }
    }
    const auto entries = feed();
    ASSERT_EQ(entries.size(), events);
    for (std::size_t s = 1; s <= events; ++s)
    {
        EXPECT_EQ(entries[s - 1].sequence, s);
        EXPECT_EQ(entries[s - 1].json, reqstore::core::feed_entry_json(*by_sequence[s], s));
    }
    EXPECT_EQ(written_commits(), commits);
    for (std::size_t i = 0; i < commits; ++i)
        EXPECT_EQ(current("req_" + std::to_string(1000 + i)), "1 pending");
}

TEST_P(StoreConformance, EventsOfOneCommitTakeConsecutiveSequenceNumbers)
{
    EXPECT_EQ(describe(commit({.id = "req_A", .events = 2})), "first_sequence 1");
    EXPECT_EQ(describe(commit({.id = "req_A", .version = 2, .status = "active", .events = 3})),
              "first_sequence 3");
    EXPECT_EQ(describe(commit({.id = "req_B"})), "first_sequence 6");
    EXPECT_EQ(newest_sequence(), 6u);
    EXPECT_EQ(sequences_of(feed()), "1 2 3 4 5 6");
}

TEST_P(StoreConformance, ARefusedCommitConsumesNoSequenceNumber)
{
    EXPECT_EQ(describe(commit({.id = "req_A", .events = 2})), "first_sequence 1");
    const auto refused = commit({.id = "req_A", .status = "again", .events = 3});
    ASSERT_TRUE(refused.has_error()) << describe(refused);
    EXPECT_EQ(describe(commit({.id = "req_B"})), "first_sequence 3");
    EXPECT_EQ(sequences_of(feed()), "1 2 3");
}

TEST_P(StoreConformance, ACommitWithoutEventsTakesNoSequenceNumber)
{
    EXPECT_EQ(describe(commit({.id = "req_A"})), "first_sequence 1");
    ASSERT_TRUE(commit({.id = "req_A", .version = 2, .status = "active", .events = 0}).has_value());
    EXPECT_EQ(current("req_A"), "2 active");
    EXPECT_EQ(describe(commit({.id = "req_B"})), "first_sequence 2");
    EXPECT_EQ(sequences_of(feed()), "1 2");
}

// ---- the change feed ------------------------------------------------------------------------------

TEST_P(StoreConformance, TheFeedHoldsOneEntryPerVersionAsTheCoreWritesIt)
{
    commit_request created = make_commit({.id = "req_A", .at = base_time + 1000});
    commit_request moved =
        make_commit({.id = "req_A", .version = 2, .status = "active", .at = base_time + 2000});
    moved.events[0].name = "request.status_changed";
    moved.events[0].from_status = "pending";
    commit_request deleted = make_commit(
        {.id = "req_A", .version = 3, .status = "active", .at = base_time + 3000, .deleted = true});
    for (auto* request : {&created, &moved, &deleted})
        ASSERT_TRUE(commit_request_now(std::move(*request)).has_value());

    const auto entries = feed();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].json, R"({"seq":1,"event":"request.created","id":"req_A","type":"request",)"
                               R"("version":1,"status":"pending","at":"2023-11-14T22:13:21.000Z"})");
    EXPECT_EQ(entries[1].json,
              R"({"seq":2,"event":"request.status_changed","id":"req_A","type":"request",)"
              R"("version":2,"status":"active","from":"pending","at":"2023-11-14T22:13:22.000Z"})");
    EXPECT_EQ(entries[2].json, R"({"seq":3,"event":"request.deleted","id":"req_A","type":"request",)"
                               R"("version":3,"status":"active","at":"2023-11-14T22:13:23.000Z"})");
}

TEST_P(StoreConformance, EventsAfterAPositionComeInOrderUpToTheLimit)
{
    for (int i = 1; i <= 5; ++i)
        ASSERT_TRUE(commit({.id = "req_" + std::to_string(i)}).has_value());
    EXPECT_EQ(sequences_of(run(outbox().events_after(0, 100)).value()), "1 2 3 4 5");
    EXPECT_EQ(sequences_of(run(outbox().events_after(0, 2)).value()), "1 2");
    EXPECT_EQ(sequences_of(run(outbox().events_after(2, 2)).value()), "3 4");
    EXPECT_EQ(sequences_of(run(outbox().events_after(4, 100)).value()), "5");
    EXPECT_EQ(sequences_of(run(outbox().events_after(5, 100)).value()), "");
    EXPECT_EQ(sequences_of(run(outbox().events_after(99, 100)).value()), "");
    EXPECT_EQ(sequences_of(run(outbox().events_after(0, 0)).value()), "");

    const auto third = run(outbox().events_after(2, 1)).value();
    ASSERT_EQ(third.size(), 1u);
    EXPECT_NE(third[0].json.find(R"("id":"req_3")"), std::string::npos) << third[0].json;
}

TEST_P(StoreConformance, TheFeedOfAnEmptyStoreIsEmpty)
{
    EXPECT_EQ(sequences_of(run(outbox().events_after(0, 100)).value()), "");
    EXPECT_EQ(run(outbox().oldest_sequence()).value(), 0u);
}

TEST_P(StoreConformance, TrimEventsRemovesEntriesBeforeTheCutoffAndBelowTheBound)
{
    for (int i = 1; i <= 6; ++i)
        ASSERT_TRUE(commit({.id = "req_" + std::to_string(i), .at = base_time + 1000 * i}).has_value());
    EXPECT_EQ(run(outbox().oldest_sequence()).value(), 1u);

    // Committed strictly before the cutoff: 1 and 2 (3 was committed at the cutoff itself).
    EXPECT_EQ(run(outbox().trim_events(base_time + 3000, 100)).value(), 2u);
    EXPECT_EQ(sequences_of(feed()), "3 4 5 6");
    EXPECT_EQ(run(outbox().oldest_sequence()).value(), 3u);

    // Every entry is old enough, but only those below 5 go.
    EXPECT_EQ(run(outbox().trim_events(base_time + 60'000, 5)).value(), 2u);
    EXPECT_EQ(sequences_of(feed()), "5 6");
    EXPECT_EQ(run(outbox().oldest_sequence()).value(), 5u);
    EXPECT_EQ(sequences_of(run(outbox().events_after(0, 1)).value()), "5");
    EXPECT_EQ(run(outbox().trim_events(base_time + 60'000, 5)).value(), 0u);

    // Trimming never gives a sequence number again.
    EXPECT_EQ(describe(commit({.id = "req_7", .at = base_time + 7000})), "first_sequence 7");
    EXPECT_EQ(sequences_of(feed()), "5 6 7");
}

// ---- reads of records ------------------------------------------------------------------------------

TEST_P(StoreConformance, LoadOfAnUnknownIdIsNothing)
{
    const auto loaded = run(records().load("req_NOPE"));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().detail;
    EXPECT_FALSE(loaded->has_value());
}

TEST_P(StoreConformance, LoadReturnsTheCurrentVersionWithItsBody)
{
    commit_versions("req_A", {"pending", "active", "completed"});
    const auto loaded = run(records().load("req_A"));
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    const stored_version& v = **loaded;
    EXPECT_EQ(v.version, 3u);
    EXPECT_EQ(v.tag, tag_of(3));
    EXPECT_EQ(v.status, "completed");
    EXPECT_EQ(v.type, "request");
    EXPECT_EQ(v.updated_by, "dev");
    EXPECT_EQ(v.updated_at, base_time + 3000);
    EXPECT_FALSE(v.deleted);
    EXPECT_EQ(v.changed, std::vector<std::string>{"status"});
    EXPECT_EQ(v.body, R"({"id":"req_A","type":"request","status":"completed","version":3})");
}

TEST_P(StoreConformance, LoadIncludesTombstones)
{
    commit_versions("req_A", {"pending"});
    ASSERT_TRUE(commit({.id = "req_A", .version = 2, .status = "pending", .deleted = true}).has_value());
    EXPECT_EQ(current("req_A"), "2 pending deleted");
}

TEST_P(StoreConformance, LoadVersionReturnsThatVersionWithItsBody)
{
    commit_versions("req_A", {"pending", "active", "completed"});
    for (std::uint64_t n = 1; n <= 3; ++n)
    {
        const auto v = run(records().load_version("req_A", n));
        ASSERT_TRUE(v.has_value() && v->has_value()) << "version " << n;
        EXPECT_EQ((*v)->version, n);
        EXPECT_EQ((*v)->tag, tag_of(n));
        EXPECT_EQ((*v)->updated_at, base_time + 1000 * long(n));
        EXPECT_EQ((*v)->body, body_of({.id = "req_A", .version = n, .status = (*v)->status}));
    }
    EXPECT_EQ(run(records().load_version("req_A", 2)).value()->status, "active");
}

TEST_P(StoreConformance, LoadVersionOfAMissingVersionOrIdIsNothing)
{
    commit_versions("req_A", {"pending", "active"});
    for (const auto& [id, n] : std::vector<std::pair<std::string, std::uint64_t>>{
             {"req_A", 0}, {"req_A", 3}, {"req_A", 256}, {"req_B", 1}, {"req_", 1}, {"req_A1", 1}})
    {
        const auto v = run(records().load_version(id, n));
        ASSERT_TRUE(v.has_value()) << v.error().detail;
        EXPECT_FALSE(v->has_value()) << id << " version " << n;
    }
}

TEST_P(StoreConformance, LoadVersionsGivesEachAskedVersionInItsOrderAndNothingForAMissingOne)
{
    commit_versions("req_A", {"pending", "active", "completed"});
    commit_versions("req_B", {"pending"});
    const auto loaded = run(records().load_versions(
        {{"req_B", 1}, {"req_A", 3}, {"req_A", 9}, {"req_C", 1}, {"req_A", 1}, {"req_A", 3}}));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().detail;
    ASSERT_EQ(loaded->size(), 6u);
    const std::vector<std::pair<std::string, std::uint64_t>> expected{
        {"req_B", 1}, {"req_A", 3}, {"", 0}, {"", 0}, {"req_A", 1}, {"req_A", 3}};
    for (std::size_t i = 0; i < expected.size(); ++i)
    {
        const auto& [id, n] = expected[i];
        const auto& v = (*loaded)[i];
        if (n == 0)
        {
            EXPECT_FALSE(v.has_value()) << "entry " << i;
            continue;
        }
        ASSERT_TRUE(v.has_value()) << "entry " << i;
        EXPECT_EQ(v->version, n) << "entry " << i;
        EXPECT_EQ(v->body, body_of({.id = id, .version = n, .status = v->status})) << "entry " << i;
    }
    const auto none = run(records().load_versions({}));
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, LoadVersionStillReadsADeletedRecordsHistory)
{
    commit_versions("req_A", {"pending", "active"});
    ASSERT_TRUE(commit({.id = "req_A", .version = 3, .status = "active", .deleted = true}).has_value());
    const auto v1 = run(records().load_version("req_A", 1));
    ASSERT_TRUE(v1.has_value() && v1->has_value());
    EXPECT_EQ((*v1)->status, "pending");
    const auto v3 = run(records().load_version("req_A", 3));
    ASSERT_TRUE(v3.has_value() && v3->has_value());
    EXPECT_TRUE((*v3)->deleted);
}

// ---- history ----------------------------------------------------------------------------------------

TEST_P(StoreConformance, HistoryIsNewestFirstWithoutBodies)
{
    commit_versions("req_A", {"pending", "active", "pending", "active", "completed"});
    const auto history = run(records().history("req_A", 6, 100));
    ASSERT_TRUE(history.has_value()) << history.error().detail;
    EXPECT_EQ(show(*history), "5 completed, 4 active, 3 pending, 2 active, 1 pending");
    for (const auto& v : *history)
    {
        EXPECT_EQ(v.body, "") << "version " << v.version;
        EXPECT_EQ(v.updated_at, base_time + 1000 * long(v.version));
        EXPECT_EQ(v.updated_by, "dev");
        EXPECT_EQ(v.type, "request");
        EXPECT_EQ(v.tag, tag_of(v.version));
    }
    EXPECT_EQ(history->back().changed, (std::vector<std::string>{"type", "status"}));
}

TEST_P(StoreConformance, HistoryStartsBelowTheGivenVersion)
{
    commit_versions("req_A", {"pending", "active", "pending", "active", "completed"});
    EXPECT_EQ(show(run(records().history("req_A", 4, 100)).value()), "3 pending, 2 active, 1 pending");
    EXPECT_EQ(show(run(records().history("req_A", 2, 100)).value()), "1 pending");
    EXPECT_EQ(show(run(records().history("req_A", 1, 100)).value()), "");
    EXPECT_EQ(show(run(records().history("req_A", 0, 100)).value()), "");
    EXPECT_EQ(show(run(records().history("req_A", std::numeric_limits<std::uint64_t>::max(), 100)).value()),
              "5 completed, 4 active, 3 pending, 2 active, 1 pending");
}

TEST_P(StoreConformance, HistoryReturnsAtMostLimitVersions)
{
    commit_versions("req_A", {"pending", "active", "pending", "active", "completed"});
    EXPECT_EQ(show(run(records().history("req_A", 6, 2)).value()), "5 completed, 4 active");
    EXPECT_EQ(show(run(records().history("req_A", 4, 2)).value()), "3 pending, 2 active");
    EXPECT_EQ(show(run(records().history("req_A", 2, 2)).value()), "1 pending");
    EXPECT_EQ(show(run(records().history("req_A", 6, 0)).value()), "");
}

TEST_P(StoreConformance, HistoryKeepsToItsOwnId)
{
    commit_versions("req_", {"pending", "active"});
    commit_versions("req_A", {"pending", "active", "completed"});
    commit_versions("req_A1", {"canceled"});
    commit_versions("req_B", {"active"});
    EXPECT_EQ(show(run(records().history("req_A", 100, 100)).value(), "req_A"),
              "req_A@3 completed, req_A@2 active, req_A@1 pending");
    EXPECT_EQ(show(run(records().history("req_A1", 100, 100)).value(), "req_A1"), "req_A1@1 canceled");
    EXPECT_EQ(show(run(records().history("req_", 100, 100)).value(), "req_"),
              "req_@2 active, req_@1 pending");
    EXPECT_EQ(show(run(records().history("req_C", 100, 100)).value()), "");
    EXPECT_EQ(show(run(records().history("req_0", 100, 100)).value()), "");
}

TEST_P(StoreConformance, HistoryIncludesTheDeletion)
{
    commit_versions("req_A", {"pending"});
    ASSERT_TRUE(commit({.id = "req_A", .version = 2, .status = "pending", .deleted = true}).has_value());
    EXPECT_EQ(show(run(records().history("req_A", 3, 100)).value()), "2 pending deleted, 1 pending");
}

// ---- listing -----------------------------------------------------------------------------------------

TEST_P(StoreConformance, ListReturnsLiveRecordsInIdOrder)
{
    fill_for_listing();
    const auto page = run(records().list({}, "", 100, 10'000));
    ASSERT_TRUE(page.has_value()) << page.error().detail;
    EXPECT_EQ(show(*page), "req_01,req_02,req_03,req_05,req_06,req_08,req_09,req_10");
    for (const auto& v : page->records)
        EXPECT_FALSE(v.body.empty()) << "listed records carry their bodies";
}

TEST_P(StoreConformance, ListPagesResumeAfterTheLastExaminedId)
{
    fill_for_listing();
    std::vector<std::string> pages;
    std::string after;
    for (int guard = 0; guard < 20; ++guard)
    {
        const auto page = run(records().list({}, after, 3, 10'000));
        ASSERT_TRUE(page.has_value()) << page.error().detail;
        pages.push_back(show(*page));
        if (!page->last_examined_id)
            break;
        after = *page->last_examined_id;
    }
    EXPECT_EQ(pages, (std::vector<std::string>{"req_01,req_02,req_03 | more after req_03",
                                               "req_05,req_06,req_08 | more after req_08", "req_09,req_10"}));
}

TEST_P(StoreConformance, ListOfAnEmptyStoreIsCompleteAndEmpty)
{
    const auto page = run(records().list({}, "", 100, 10'000));
    ASSERT_TRUE(page.has_value()) << page.error().detail;
    EXPECT_EQ(show(*page), "");
}

TEST_P(StoreConformance, ListAfterAnIdThatIsNotStored)
{
    fill_for_listing();
    EXPECT_EQ(show(run(records().list({}, "req_05x", 100, 10'000)).value()), "req_06,req_08,req_09,req_10");
    EXPECT_EQ(show(run(records().list({}, "req_10", 100, 10'000)).value()), "");
    EXPECT_EQ(show(run(records().list({}, "zzz", 100, 10'000)).value()), "");
}

TEST_P(StoreConformance, ListFiltersByTypeStatusAndUpdatedSince)
{
    fill_for_listing();
    list_filter by_type;
    by_type.type = "ticket";
    EXPECT_EQ(show(run(records().list(by_type, "", 100, 10'000)).value()), "req_03,req_06,req_09");

    list_filter by_status;
    by_status.status = "active";
    EXPECT_EQ(show(run(records().list(by_status, "", 100, 10'000)).value()), "req_02,req_06,req_08,req_10");

    list_filter since;
    since.updated_since = base_time + 8000;
    EXPECT_EQ(show(run(records().list(since, "", 100, 10'000)).value()), "req_08,req_09,req_10");

    list_filter all_three;
    all_three.type = "request";
    all_three.status = "pending";
    all_three.updated_since = base_time + 2000;
    EXPECT_EQ(show(run(records().list(all_three, "", 100, 10'000)).value()), "req_05");
}

TEST_P(StoreConformance, ListExaminesAtMostMaxExamined)
{
    fill_for_listing();
    list_filter by_type;
    by_type.type = "ticket";
    // Examines req_01 and req_02, neither a ticket: an empty page that is not the end.
    EXPECT_EQ(show(run(records().list(by_type, "", 100, 2)).value()), " | more after req_02");
    EXPECT_EQ(show(run(records().list(by_type, "req_02", 100, 2)).value()), "req_03 | more after req_04");

    std::vector<std::string> pages;
    std::string after;
    for (int guard = 0; guard < 20; ++guard)
    {
        const auto page = run(records().list(by_type, after, 100, 4));
        ASSERT_TRUE(page.has_value()) << page.error().detail;
        pages.push_back(show(*page));
        if (!page->last_examined_id)
            break;
        after = *page->last_examined_id;
    }
    EXPECT_EQ(pages, (std::vector<std::string>{"req_03 | more after req_04", "req_06 | more after req_08",
                                               "req_09"}));
}

TEST_P(StoreConformance, ListShowsTheCurrentVersion)
{
    commit_versions("req_A", {"pending", "active", "completed"});
    const auto page = run(records().list({}, "", 100, 10'000)).value();
    ASSERT_EQ(page.records.size(), 1u);
    EXPECT_EQ(page.records[0].version, 3u);
    EXPECT_EQ(page.records[0].status, "completed");
}

// ---- scheduled transitions -----------------------------------------------------------------------

TEST_P(StoreConformance, TimersDueComeEarliestFirstThenById)
{
    for (const auto& [id, due] : std::vector<std::pair<std::string, unix_millis>>{
             {"req_A", 3000}, {"req_C", 2000}, {"req_B", 2000}, {"req_D", 1000}})
    {
        commit_request r = make_commit({.id = id});
        r.timers_added = {{base_time + due, id}};
        ASSERT_TRUE(commit_request_now(std::move(r)).has_value());
    }
    EXPECT_EQ(all_timers(), "+1000 req_D, +2000 req_B, +2000 req_C, +3000 req_A");
    // Due at or before up_to.
    EXPECT_EQ(show(run(records().timers_due(base_time + 2000, 100)).value()),
              "+1000 req_D, +2000 req_B, +2000 req_C");
    EXPECT_EQ(show(run(records().timers_due(base_time + 1999, 100)).value()), "+1000 req_D");
    EXPECT_EQ(show(run(records().timers_due(base_time + 999, 100)).value()), "");
    // At most `limit` of them.
    EXPECT_EQ(show(run(records().timers_due(base_time + 3000, 2)).value()), "+1000 req_D, +2000 req_B");
    EXPECT_EQ(show(run(records().timers_due(base_time + 3000, 0)).value()), "");
    EXPECT_EQ(show(run(records().earliest_timer()).value()), "+1000 req_D");
}

TEST_P(StoreConformance, AStoreWithoutTimersHasNoneDue)
{
    EXPECT_EQ(all_timers(), "");
    EXPECT_EQ(show(run(records().earliest_timer()).value()), "none");
}

TEST_P(StoreConformance, RemoveTimerRemovesExactlyThatTimer)
{
    commit_request a = make_commit({.id = "req_A"});
    a.timers_added = {{base_time + 1000, "req_A"}, {base_time + 2000, "req_A"}};
    ASSERT_TRUE(commit_request_now(std::move(a)).has_value());
    commit_request b = make_commit({.id = "req_B"});
    b.timers_added = {{base_time + 1000, "req_B"}};
    ASSERT_TRUE(commit_request_now(std::move(b)).has_value());

    EXPECT_TRUE(run(records().remove_timer({base_time + 1000, "req_A"})).has_value());
    EXPECT_EQ(all_timers(), "+1000 req_B, +2000 req_A");
    EXPECT_EQ(show(run(records().earliest_timer()).value()), "+1000 req_B");

    // Removing one that is not there succeeds and changes nothing: another due time, another id.
    EXPECT_TRUE(run(records().remove_timer({base_time + 1000, "req_A"})).has_value());
    EXPECT_TRUE(run(records().remove_timer({base_time + 2000, "req_B"})).has_value());
    EXPECT_TRUE(run(records().remove_timer({base_time + 5000, "req_X"})).has_value());
    EXPECT_EQ(all_timers(), "+1000 req_B, +2000 req_A");
}

TEST_P(StoreConformance, ACommitRemovesAndAddsTimers)
{
    commit_request first = make_commit({.id = "req_A"});
    first.timers_added = {{base_time + 1000, "req_A"}};
    ASSERT_TRUE(commit_request_now(std::move(first)).has_value());
    commit_request second = make_commit({.id = "req_A", .version = 2, .status = "active"});
    second.timers_removed = {{base_time + 1000, "req_A"}, {base_time + 9000, "req_A"}};
    second.timers_added = {{base_time + 4000, "req_A"}};
    ASSERT_TRUE(commit_request_now(std::move(second)).has_value());
    EXPECT_EQ(all_timers(), "+4000 req_A");
}

// ---- idempotency answers -------------------------------------------------------------------------

TEST_P(StoreConformance, IdempotencyAnswersLoadAsCommittedAndExpireBeforeTheCutoff)
{
    const std::string binary_answer("HTTP/1.1 201\0\xff", 14);
    int n = 0;
    for (const auto& [key, created_at] :
         std::vector<std::pair<std::string, unix_millis>>{{"key_1:abc", base_time + 1000},
                                                          {"key_1:def", base_time + 2000},
                                                          {"key_2:abc", base_time + 3000}})
    {
        commit_request r = make_commit({.id = "req_" + std::to_string(++n)});
        r.idempotency = idempotency_entry{key, "fp " + key, created_at, binary_answer + key};
        ASSERT_TRUE(commit_request_now(std::move(r)).has_value());
    }

    const auto loaded = run(records().load_idempotency("key_1:def")).value();
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->key, "key_1:def");
    EXPECT_EQ(loaded->fingerprint, "fp key_1:def");
    EXPECT_EQ(loaded->created_at, base_time + 2000);
    EXPECT_EQ(loaded->answer, binary_answer + "key_1:def");
    EXPECT_FALSE(run(records().load_idempotency("key_1:ab")).value().has_value());
    EXPECT_FALSE(run(records().load_idempotency("key_3:abc")).value().has_value());

    // Created strictly before the cutoff.
    EXPECT_EQ(run(records().remove_idempotency_before(base_time + 2000)).value(), 1u);
    EXPECT_FALSE(run(records().load_idempotency("key_1:abc")).value().has_value());
    EXPECT_TRUE(run(records().load_idempotency("key_1:def")).value().has_value());
    EXPECT_EQ(run(records().remove_idempotency_before(base_time + 2000)).value(), 0u);
    EXPECT_EQ(run(records().remove_idempotency_before(base_time + 3001)).value(), 2u);
    EXPECT_FALSE(run(records().load_idempotency("key_2:abc")).value().has_value());
}

// A write carrying an idempotency key is refused when an answer for the key was stored since the
// time it names: a duplicate of it, sent to another node, committed first.
TEST_P(StoreConformance, ACommitWhoseIdempotencyKeyWasAnsweredSinceIsRefusedWhole)
{
    const auto keyed =
        [](const std::string& id, const std::string& key, unix_millis created_at, unix_millis answered_since)
    {
        commit_request r = make_commit({.id = id, .at = created_at});
        r.idempotency = idempotency_entry{key, "fp " + id, created_at, "answer of " + id};
        r.idempotency_answered_since = answered_since;
        return r;
    };
    ASSERT_TRUE(commit_request_now(keyed("req_A", "key_1\nK", base_time, base_time - 1000)).has_value());

    const auto duplicate = commit_request_now(keyed("req_B", "key_1\nK", base_time + 10, base_time - 1000));
    ASSERT_FALSE(duplicate.has_value());
    EXPECT_EQ(duplicate.error().code, errc::idempotency_in_flight) << describe(duplicate);
    EXPECT_EQ(current("req_B"), "absent");
    EXPECT_EQ(sequences_of(feed()), "1");
    EXPECT_EQ(run(records().load_idempotency("key_1\nK")).value()->answer, "answer of req_A");

    // An answer older than the time named has expired: the new one replaces it.
    ASSERT_TRUE(commit_request_now(keyed("req_C", "key_1\nK", base_time + 20, base_time + 1)).has_value());
    EXPECT_EQ(run(records().load_idempotency("key_1\nK")).value()->answer, "answer of req_C");
    // Without a time named, nothing is checked (a writer that claimed the key alone).
    ASSERT_TRUE(commit_request_now(keyed("req_D", "key_1\nK", base_time + 30, 0)).has_value());

    // Two duplicates queued back to back, in one batch where the engine batches: the first wins.
    auto first = records().start_commit(keyed("req_E", "key_1\nL", base_time, base_time - 1000));
    auto second = records().start_commit(keyed("req_F", "key_1\nL", base_time, base_time - 1000));
    const auto outcomes = run(wait_for_all({first, second}));
    EXPECT_TRUE(outcomes[0].has_value()) << describe(outcomes[0]);
    ASSERT_FALSE(outcomes[1].has_value());
    EXPECT_EQ(outcomes[1].error().code, errc::idempotency_in_flight);
    EXPECT_EQ(current("req_F"), "absent");
}

// ---- attachments ----------------------------------------------------------------------------------

TEST_P(StoreConformance, AttachmentsLoadByRecordAndDigest)
{
    const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
    commit_request r = make_commit({.id = "req_A"});
    r.attachments = {{a, std::string("\0binary\xff", 8)}, {b, "text"}};
    ASSERT_TRUE(commit_request_now(std::move(r)).has_value());
    ASSERT_TRUE(commit({.id = "req_A", .version = 2, .status = "active"}).has_value());
    ASSERT_TRUE(commit({.id = "req_B"}).has_value());

    EXPECT_EQ(run(records().load_attachment("req_A", a)).value(), std::string("\0binary\xff", 8))
        << "a later version keeps the files of earlier ones";
    EXPECT_EQ(run(records().load_attachment("req_A", b)).value(), "text");
    EXPECT_FALSE(run(records().load_attachment("req_A", c)).value().has_value());
    EXPECT_FALSE(run(records().load_attachment("req_B", a)).value().has_value()) << "another record's file";
    EXPECT_FALSE(run(records().load_attachment("req_", a)).value().has_value());
    EXPECT_FALSE(run(records().load_attachment("req_NOPE", a)).value().has_value());
}

// ---- the outbox ---------------------------------------------------------------------------------------

TEST_P(StoreConformance, FanOutGivesAscendingIdsAndMovesTheCursor)
{
    EXPECT_EQ(run(outbox().fan_out_cursor()).value(), 0u);
    const auto first =
        fan_out(3, {delivery_to("whk_A", 1), delivery_to("whk_B", 1), delivery_to("whk_A", 3)});
    EXPECT_EQ(run(outbox().fan_out_cursor()).value(), 3u);
    const auto second = fan_out(5, {delivery_to("whk_B", 5), delivery_to("cb_req_5", 5)});
    EXPECT_EQ(run(outbox().fan_out_cursor()).value(), 5u);

    std::vector<std::uint64_t> ids;
    for (const auto* batch : {&first, &second})
        for (const auto& d : *batch)
            ids.push_back(d.id);
    ASSERT_EQ(ids.size(), 5u);
    EXPECT_GT(ids[0], 0u);
    for (std::size_t i = 1; i < ids.size(); ++i)
        EXPECT_GT(ids[i], ids[i - 1]) << "delivery " << i;

    for (const auto* batch : {&first, &second})
        for (const auto& d : *batch)
        {
            const auto loaded = run(outbox().load_delivery(d.id)).value();
            ASSERT_TRUE(loaded.has_value()) << "delivery " << d.id;
            EXPECT_EQ(loaded->id, d.id);
            EXPECT_EQ(describe(*loaded), describe(d));
        }
    EXPECT_FALSE(run(outbox().load_delivery(ids.back() + 1)).value().has_value());

    // A fan-out that found nothing to deliver still moves the cursor.
    EXPECT_EQ(fan_out(9, {}).size(), 0u);
    EXPECT_EQ(run(outbox().fan_out_cursor()).value(), 9u);
    const auto third = fan_out(10, {delivery_to("whk_A", 10)});
    ASSERT_EQ(third.size(), 1u);
    EXPECT_GT(third[0].id, ids.back()) << "an id was given twice";
}

TEST_P(StoreConformance, SaveDeliveryReplacesItsState)
{
    auto d = fan_out(1, {delivery_to("whk_A", 1)}).at(0);
    d.status = delivery_status::failed;
    d.attempts.push_back({base_time + 100, 503, 1500, ""});
    d.attempts.push_back({base_time + 200, 0, 30'000'000, "timed out"});
    d.next_attempt_at = base_time + 60'000;
    d.payload = R"({"type":"webhook.disabled"})";
    ASSERT_TRUE(run(outbox().save_delivery(d)).has_value());

    const auto loaded = run(outbox().load_delivery(d.id)).value();
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(
        describe(*loaded),
        "whk_A lane=whk_A seq=1 request.created req_1/request@1 https://hooks.example/whk_A msg_1 "
        R"(payload={"type":"webhook.disabled"} failed created=1700000000010 committed=1700000000000 )"
        "next=1700000060000 attempts=[1700000000100 503 1500us '';1700000000200 0 30000000us 'timed out';]");

    d.status = delivery_status::succeeded;
    ASSERT_TRUE(run(outbox().save_delivery(d)).has_value());
    EXPECT_EQ(to_string(run(outbox().load_delivery(d.id)).value()->status), "succeeded");
}

TEST_P(StoreConformance, OpenDeliveriesArePendingOrFailedInIdOrder)
{
    EXPECT_EQ(show(run(outbox().open_deliveries()).value()), "");
    auto ds = fan_out(6, {delivery_to("whk_A", 1), delivery_to("whk_B", 2), delivery_to("whk_A", 3),
                          delivery_to("whk_B", 4), delivery_to("whk_A", 5), delivery_to("whk_C", 6)});
    ASSERT_EQ(ds.size(), 6u);
    EXPECT_EQ(show(run(outbox().open_deliveries()).value()),
              "whk_A#1 pending, whk_B#2 pending, whk_A#3 pending, whk_B#4 pending, whk_A#5 pending, whk_C#6 "
              "pending");

    const std::vector<delivery_status> next = {delivery_status::succeeded, delivery_status::failed,
                                               delivery_status::dead,      delivery_status::pending,
                                               delivery_status::failed,    delivery_status::succeeded};
    for (std::size_t i = 0; i < ds.size(); ++i)
    {
        ds[i].status = next[i];
        ASSERT_TRUE(run(outbox().save_delivery(ds[i])).has_value());
    }
    EXPECT_EQ(show(run(outbox().open_deliveries()).value()),
              "whk_B#2 failed, whk_B#4 pending, whk_A#5 failed");

    // A settled delivery that a retry by API opens again.
    ds[2].status = delivery_status::pending;
    ASSERT_TRUE(run(outbox().save_delivery(ds[2])).has_value());
    EXPECT_EQ(show(run(outbox().open_deliveries()).value()),
              "whk_B#2 failed, whk_A#3 pending, whk_B#4 pending, whk_A#5 failed");
}

TEST_P(StoreConformance, DeliveriesToFilterByTargetStatusAfterIdAndLimit)
{
    auto ds = fan_out(8, {delivery_to("whk_A", 1), delivery_to("whk_AB", 2), delivery_to("whk_A", 3),
                          delivery_to("whk_B", 4), delivery_to("whk_A", 5), delivery_to("whk_A", 6),
                          delivery_to("whk_", 7), delivery_to("whk_A", 8)});
    ASSERT_EQ(ds.size(), 8u);
    for (const std::size_t i : {std::size_t{2}, std::size_t{5}})
    {
        ds[i].status = delivery_status::dead;
        ASSERT_TRUE(run(outbox().save_delivery(ds[i])).has_value());
    }
    const auto to = [this](std::string_view target, const delivery_filter& filter)
    {
        return show(run(outbox().deliveries_to(target, filter)).value());
    };

    EXPECT_EQ(to("whk_A", {}),
              "whk_A#1 pending, whk_A#3 dead, whk_A#5 pending, whk_A#6 dead, whk_A#8 pending");
    EXPECT_EQ(to("whk_AB", {}), "whk_AB#2 pending");
    EXPECT_EQ(to("whk_", {}), "whk_#7 pending");
    EXPECT_EQ(to("whk_C", {}), "");
    EXPECT_EQ(to("whk_A", {.status = delivery_status::dead}), "whk_A#3 dead, whk_A#6 dead");
    EXPECT_EQ(to("whk_A", {.status = delivery_status::pending}),
              "whk_A#1 pending, whk_A#5 pending, whk_A#8 pending");
    EXPECT_EQ(to("whk_A", {.status = delivery_status::failed}), "");
    EXPECT_EQ(to("whk_A", {.after_id = ds[2].id}), "whk_A#5 pending, whk_A#6 dead, whk_A#8 pending");
    EXPECT_EQ(to("whk_A", {.after_id = ds[7].id}), "");
    EXPECT_EQ(to("whk_A", {.limit = 2}), "whk_A#1 pending, whk_A#3 dead");
    EXPECT_EQ(to("whk_A", {.limit = 0}), "");
    // The limit counts the deliveries that pass the filter.
    EXPECT_EQ(to("whk_A", {.status = delivery_status::pending, .after_id = ds[0].id, .limit = 1}),
              "whk_A#5 pending");
}

TEST_P(StoreConformance, SubscriptionsAreSavedReplacedAndDeleted)
{
    EXPECT_EQ(describe(run(outbox().load_subscriptions()).value()), "");
    subscription b = subscription_named("whk_B", "https://b.example/hook");
    subscription a = subscription_named("whk_A", "https://a.example/hook");
    a.enabled = false;
    a.failing_since = base_time + 5;
    a.disabled_reason = "failing for 3 days";
    a.types = {};
    a.events = {"*"};
    ASSERT_TRUE(run(outbox().save_subscription(b)).has_value());
    ASSERT_TRUE(run(outbox().save_subscription(a)).has_value());
    EXPECT_EQ(
        describe(run(outbox().load_subscriptions()).value()),
        "whk_A https://a.example/hook events=*; types= whsec_whk_A disabled created=1700000000000 "
        "updated=1700000000001 failing_since=1700000000005 reason=failing for 3 days | "
        "whk_B https://b.example/hook events=request.created;request.deleted; types=ticket; whsec_whk_B "
        "enabled created=1700000000000 updated=1700000000001 failing_since=- reason=-");

    b.url = "https://b.example/v2";
    b.updated_at = base_time + 9;
    ASSERT_TRUE(run(outbox().save_subscription(b)).has_value());
    ASSERT_TRUE(run(outbox().delete_subscription("whk_A")).has_value());
    ASSERT_TRUE(run(outbox().delete_subscription("whk_A")).has_value()) << "deleting an absent one";
    ASSERT_TRUE(run(outbox().delete_subscription("whk_NOPE")).has_value());
    EXPECT_EQ(describe(run(outbox().load_subscriptions()).value()),
              "whk_B https://b.example/v2 events=request.created;request.deleted; types=ticket; whsec_whk_B "
              "enabled created=1700000000000 updated=1700000000009 failing_since=- reason=-");
}

// ---- pending commits ----------------------------------------------------------------------------------

TEST_P(StoreConformance, CommitsStartedBackToBackOnOneRecordBothSucceedInOrder)
{
    commit_versions("req_A", {"pending"});
    // Version 3 is started before version 2 completes, as the core does once version 2 is queued.
    const auto second =
        records().start_commit(make_commit({.id = "req_A", .version = 2, .status = "active"}));
    const auto third = records().start_commit(
        make_commit({.id = "req_A", .version = 3, .status = "completed", .events = 2}));
    // Waited for in the other order: the third's outcome does not need the second's waiter.
    EXPECT_EQ(describe(run(third->wait())), "first_sequence 3");
    EXPECT_EQ(describe(run(second->wait())), "first_sequence 2");
    EXPECT_EQ(current("req_A"), "3 completed");
    EXPECT_EQ(show(run(records().history("req_A", 4, 10)).value()), "3 completed, 2 active, 1 pending");
    EXPECT_EQ(sequences_of(feed()), "1 2 3 4");
}

TEST_P(StoreConformance, WhenTheFirstOfTwoBackToBackCommitsIsRefusedTheSecondFailsItsCompareAndSwap)
{
    commit_versions("req_A", {"pending"});
    // The first is judged against a version 1 that is not the stored one; the second against the
    // version the first would have written.
    const auto second = records().start_commit(make_commit(
        {.id = "req_A", .version = 2, .status = "active", .expected = predecessor{1, tag_of(1) + 1}}));
    const auto third =
        records().start_commit(make_commit({.id = "req_A", .version = 3, .status = "completed"}));
    const auto second_outcome = run(second->wait());
    const auto third_outcome = run(third->wait());
    ASSERT_TRUE(second_outcome.has_error()) << describe(second_outcome);
    EXPECT_EQ(second_outcome.error().code, errc::precondition_failed);
    ASSERT_TRUE(third_outcome.has_error()) << describe(third_outcome);
    EXPECT_EQ(third_outcome.error().code, errc::precondition_failed);
    EXPECT_EQ(current("req_A"), "1 pending");
    EXPECT_EQ(sequences_of(feed()), "1");
}

// Commits of several records started together, as a batch takes them: one refused in the middle
// leaves the others written, new and existing records alike, and takes no sequence number.
TEST_P(StoreConformance, CommitsOfSeveralRecordsStartedTogetherSucceedOrFailEachOnItsOwn)
{
    commit_versions("req_A", {"pending"});
    commit_versions("req_B", {"pending", "active"});
    const auto a = records().start_commit(make_commit({.id = "req_A", .version = 2, .status = "active"}));
    const auto b = records().start_commit(make_commit({.id = "req_B", .version = 2, .status = "canceled"}));
    const auto c = records().start_commit(make_commit({.id = "req_C", .events = 2}));
    EXPECT_EQ(describe(run(a->wait())), "first_sequence 4");
    const auto refused = run(b->wait());
    ASSERT_TRUE(refused.has_error()) << describe(refused);
    EXPECT_EQ(refused.error().code, errc::precondition_failed);
    EXPECT_EQ(describe(run(c->wait())), "first_sequence 5");
    EXPECT_EQ(current("req_A"), "2 active");
    EXPECT_EQ(current("req_B"), "2 active");
    EXPECT_EQ(current("req_C"), "1 pending");
    EXPECT_EQ(show(run(records().history("req_A", 3, 10)).value()), "2 active, 1 pending");
    EXPECT_EQ(sequences_of(feed()), "1 2 3 4 5 6");
}

TEST_P(StoreConformance, AnOutcomeReachesEveryWaiter)
{
    const auto pending = records().start_commit(make_commit({.id = "req_A"}));
    EXPECT_EQ(describe(run(pending->wait())), "first_sequence 1");
    EXPECT_EQ(describe(run(pending->wait())), "first_sequence 1") << "a second wait, after the outcome";
}

} // namespace
