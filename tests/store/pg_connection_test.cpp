// The PostgreSQL client layer (store/pg: connection, pool) against a real PostgreSQL, the throwaway
// instance of the ctest fixture `pg` (tests/pg/instance). No mocks: what libpq and the server do is
// what is tested.
#include <reqstore/store/pg/connection.hpp>
#include <reqstore/store/pg/pool.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "pg_test_instance.hpp"
#include "store_test_support.hpp"

namespace
{
namespace net = boost::asio;
namespace pg = reqstore::store::pg;
using namespace std::chrono_literals;
using reqstore::test::pg_test_conninfo;
using reqstore::test::run_with_deadline;

// Generous for calls that should succeed: a shared CI machine can be slow. The tests about
// deadlines set their own.
constexpr auto call_deadline = 10s;

pg::clock::time_point after(pg::clock::duration d)
{
    return pg::clock::now() + d;
}

std::chrono::milliseconds since(pg::clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(pg::clock::now() - start);
}

std::string describe(const pg::query_failure& f)
{
    const char* kind = f.kind == pg::failure_kind::not_connected     ? "not_connected"
                       : f.kind == pg::failure_kind::outcome_unknown ? "outcome_unknown"
                                                                     : "server_error";
    return std::string(kind) + (f.sqlstate.empty() ? "" : " " + f.sqlstate) + ": " + f.message;
}

template <class T>
T value_or_throw(pg::query_result<T> r, const std::string& what)
{
    if (!r)
        throw std::runtime_error(what + ": " + describe(r.error()));
    return std::move(*r);
}

// Names no other test process uses: ctest runs the tests side by side.
std::string unique_name(const std::string& stem)
{
    return stem + "_" + std::to_string(::getpid());
}

// A loopback port nothing listens on (bound, then closed again).
unsigned short closed_port(net::io_context& ioc)
{
    net::ip::tcp::acceptor probe(ioc, {net::ip::make_address("127.0.0.1"), 0});
    return probe.local_endpoint().port();
}

class PgTest : public ::testing::Test
{
protected:
    template <class T>
    T run(net::awaitable<T> op)
    {
        return run_with_deadline(ioc_, std::move(op));
    }

    // Runs the context until `f` is ready; throws (failing the test) after `limit`.
    template <class T>
    T wait(std::future<T>& f, std::chrono::seconds limit = 30s)
    {
        const auto until = pg::clock::now() + limit;
        while (f.wait_for(0s) != std::future_status::ready)
        {
            if (pg::clock::now() >= until)
                throw std::runtime_error("an operation did not complete within the test's deadline");
            ioc_.restart();
            if (ioc_.run_one_for(10ms) == 0)
                std::this_thread::sleep_for(1ms);
        }
        return f.get();
    }

    pg::query_result<std::unique_ptr<pg::connection>> try_connect(std::string conninfo,
                                                                  pg::clock::duration within = call_deadline)
    {
        return run(pg::connection::connect(ioc_.get_executor(), std::move(conninfo), after(within)));
    }

    std::unique_ptr<pg::connection> connect()
    {
        return value_or_throw(try_connect(pg_test_conninfo()), "connecting to the test PostgreSQL");
    }

    pg::query_result<std::vector<pg::rows>> execute(pg::connection& c, std::vector<pg::statement> statements,
                                                    pg::clock::duration within = call_deadline)
    {
        return run(c.execute(std::move(statements), after(within)));
    }

    // The rows of one statement that must succeed.
    pg::rows query(pg::connection& c, const std::string& sql, std::vector<pg::param> params = {})
    {
        auto all = value_or_throw(execute(c, {{sql, std::move(params)}}), sql);
        return std::move(all.at(0));
    }

    net::io_context ioc_;
};

using PgConnection = PgTest;
using PgPool = PgTest;
using PgRows = PgTest;

TEST_F(PgConnection, RoundTripsEveryParameterTypeInBinary)
{
    auto c = connect();
    const std::string utf8 = "h\xc3\xa9llo \xe2\x9c\x93"; // "héllo ✓"
    const std::string with_nuls("a\0b\0\xff", 5);
    pg::array_builder texts(pg::oid::text);
    texts.add_text("first");
    texts.add_null();
    texts.add_text("");
    texts.add_text(utf8);
    pg::array_builder blobs(pg::oid::bytea);
    blobs.add_text(with_nuls);
    blobs.add_null();
    pg::array_builder no_texts(pg::oid::text);

    const auto r =
        query(*c, "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11",
              {pg::text_param(utf8), pg::bytea_param(with_nuls),
               pg::int8_param(std::numeric_limits<std::int64_t>::min()),
               pg::int8_param(std::numeric_limits<std::int64_t>::max()), pg::int4_param(-123456),
               pg::bool_param(true), pg::bool_param(false), pg::null_param(pg::oid::text),
               std::move(texts).finish(), std::move(blobs).finish(), std::move(no_texts).finish()});

    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r.bytes(0, 0), utf8);
    EXPECT_EQ(r.bytes(0, 1), with_nuls);
    EXPECT_EQ(r.int8(0, 2), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(r.int8(0, 3), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(r.int4(0, 4), -123456);
    EXPECT_TRUE(r.boolean(0, 5));
    EXPECT_FALSE(r.boolean(0, 6));
    EXPECT_TRUE(r.is_null(0, 7));
    EXPECT_FALSE(r.is_null(0, 0));
    EXPECT_EQ(r.text_array(0, 8), (std::vector<std::string>{"first", "", "", utf8}));
    EXPECT_EQ(r.text_array(0, 9), (std::vector<std::string>{with_nuls, ""}));
    EXPECT_EQ(r.text_array(0, 10), std::vector<std::string>{});
}

TEST_F(PgConnection, ArraysArriveAsTheServerSeesThem)
{
    auto c = connect();
    pg::array_builder texts(pg::oid::text);
    texts.add_text("a");
    texts.add_null();
    texts.add_text("");
    pg::array_builder numbers(pg::oid::int8);
    numbers.add_int8(std::numeric_limits<std::int64_t>::min());
    numbers.add_null();
    numbers.add_int8(42);
    pg::array_builder blobs(pg::oid::bytea);
    blobs.add_text(std::string("\0\1", 2));
    blobs.add_null();
    pg::array_builder flags(pg::oid::boolean);
    flags.add_bool(true);
    flags.add_bool(false);
    pg::array_builder small(pg::oid::int4);
    small.add_int4(-7);
    pg::array_builder no_numbers(pg::oid::int8);
    EXPECT_EQ(texts.size(), 3u);

    // What the server made of each array, in text: NULL elements shown as <null>.
    const auto r =
        query(*c,
              "SELECT array_to_string($1, ',', '<null>'), cardinality($1), "
              "array_to_string($2, ',', '<null>'), encode($3[1], 'hex'), $3[2] IS NULL, "
              "array_to_string($4, ','), array_to_string($5, ','), cardinality($6), $6 = '{}'",
              {std::move(texts).finish(), std::move(numbers).finish(), std::move(blobs).finish(),
               std::move(flags).finish(), std::move(small).finish(), std::move(no_numbers).finish()});

    EXPECT_EQ(r.bytes(0, 0), "a,<null>,");
    EXPECT_EQ(r.int4(0, 1), 3);
    EXPECT_EQ(r.bytes(0, 2), "-9223372036854775808,<null>,42");
    EXPECT_EQ(r.bytes(0, 3), "0001");
    EXPECT_TRUE(r.boolean(0, 4));
    EXPECT_EQ(r.bytes(0, 5), "t,f");
    EXPECT_EQ(r.bytes(0, 6), "-7");
    EXPECT_EQ(r.int4(0, 7), 0);
    EXPECT_TRUE(r.boolean(0, 8));
}

TEST_F(PgConnection, CarriesValuesLargerThanTheSocketBuffers)
{
    // Larger than libpq's buffers and the kernel's: the send waits to write, the read waits to read.
    auto c = connect();
    std::string big(8 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 7919 % 251);
    const auto r = query(*c, "SELECT $1, md5($1), repeat('x', 3000000)", {pg::bytea_param(big)});
    EXPECT_EQ(r.bytes(0, 0).size(), big.size());
    EXPECT_TRUE(r.bytes(0, 0) == big);
    EXPECT_EQ(r.bytes(0, 2).size(), 3000000u);
    EXPECT_EQ(query(*c, "SELECT md5($1)", {pg::bytea_param(big)}).bytes(0, 0), r.bytes(0, 1));
}

TEST_F(PgRows, TypedAccessorsRefuseNullsOtherTypesAndMissingCells)
{
    auto c = connect();
    const auto r = query(*c, "SELECT NULL::int8, 5::int4, 'x'::text, ARRAY[1,2]::int8[]");
    EXPECT_THROW(r.int8(0, 0), std::runtime_error);    // NULL
    EXPECT_THROW(r.int8(0, 1), std::runtime_error);    // int4, not int8
    EXPECT_THROW(r.boolean(0, 2), std::runtime_error); // text
    EXPECT_THROW(r.text_array(0, 3), std::runtime_error);
    EXPECT_THROW(r.bytes(1, 0), std::runtime_error); // no second row
    EXPECT_THROW(r.bytes(0, 4), std::runtime_error); // no fifth column
    EXPECT_EQ(r.int4(0, 1), 5);
    EXPECT_THROW(pg::array_builder{pg::oid::int4_array}, std::invalid_argument);
}

TEST_F(PgConnection, ReusesThePreparedStatementOfTheSameSql)
{
    auto c = connect();
    const std::string sql = "SELECT $1::int8 + 1";
    EXPECT_EQ(query(*c, sql, {pg::int8_param(1)}).int8(0, 0), 2);
    EXPECT_EQ(query(*c, sql, {pg::int8_param(41)}).int8(0, 0), 42);
    EXPECT_EQ(query(*c, sql, {pg::int8_param(-1)}).int8(0, 0), 0);
    const auto prepared =
        query(*c, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", {pg::text_param(sql)});
    EXPECT_EQ(prepared.int8(0, 0), 1);
}

TEST_F(PgConnection, StatementsOfOneCallTakeEffectAllOrNone)
{
    auto c = connect();
    query(*c, "CREATE TEMP TABLE all_or_none (id int8 PRIMARY KEY)");
    const std::string insert = "INSERT INTO all_or_none (id) VALUES ($1)";
    EXPECT_EQ(query(*c, insert, {pg::int8_param(1)}).affected(), 1u);

    // The second insert repeats a key: the first of the call is rolled back with it.
    const auto duplicate = execute(*c, {{insert, {pg::int8_param(2)}}, {insert, {pg::int8_param(1)}}});
    ASSERT_FALSE(duplicate.has_value());
    EXPECT_EQ(duplicate.error().kind, pg::failure_kind::server_error);
    EXPECT_EQ(duplicate.error().sqlstate, "23505") << duplicate.error().message;

    const auto by_zero = execute(*c, {{insert, {pg::int8_param(3)}},
                                      {"SELECT 1 / $1", {pg::int4_param(0)}},
                                      {insert, {pg::int8_param(4)}}});
    ASSERT_FALSE(by_zero.has_value());
    EXPECT_EQ(by_zero.error().kind, pg::failure_kind::server_error);
    EXPECT_EQ(by_zero.error().sqlstate, "22012") << by_zero.error().message;

    EXPECT_TRUE(c->usable());
    const auto ids = query(*c, "SELECT string_agg(id::text, ',' ORDER BY id) FROM all_or_none");
    EXPECT_EQ(ids.bytes(0, 0), "1");

    // A call of several statements returns one rows per statement, in order.
    const auto both =
        value_or_throw(execute(*c, {{insert, {pg::int8_param(5)}}, {"SELECT count(*) FROM all_or_none", {}}}),
                       "insert, count");
    ASSERT_EQ(both.size(), 2u);
    EXPECT_EQ(both[0].affected(), 1u);
    EXPECT_EQ(both[1].int8(0, 0), 2);
}

TEST_F(PgConnection, AStatementWhosePrepareFailedIsPreparedAgain)
{
    auto c = connect();
    const std::string count = "SELECT count(*) FROM pg_temp.made_later";
    const auto missing = execute(*c, {{count, {}}});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().sqlstate, "42P01") << missing.error().message;
    query(*c, "CREATE TEMP TABLE made_later (x int4)");
    EXPECT_EQ(query(*c, count).int8(0, 0), 0);

    // A prepare that never ran, because a statement before it failed, is sent again too.
    const std::string doubled = "SELECT $1::int4 * 2";
    const auto aborted = execute(*c, {{"SELECT 1 / 0", {}}, {doubled, {pg::int4_param(21)}}});
    ASSERT_FALSE(aborted.has_value());
    EXPECT_EQ(aborted.error().sqlstate, "22012");
    EXPECT_EQ(query(*c, doubled, {pg::int4_param(21)}).int4(0, 0), 42);
}

TEST_F(PgConnection, ADeadlineCutsASlowStatementShortAndLeavesTheConnectionUnusable)
{
    auto c = connect();
    const auto start = pg::clock::now();
    const auto slept = execute(*c, {{"SELECT pg_sleep(5)", {}}}, 200ms);
    const auto took = since(start);
    ASSERT_FALSE(slept.has_value());
    EXPECT_EQ(slept.error().kind, pg::failure_kind::outcome_unknown) << describe(slept.error());
    EXPECT_GE(took, 190ms);
    EXPECT_LT(took, 1s);
    EXPECT_FALSE(c->usable());

    const auto again_start = pg::clock::now();
    const auto again = execute(*c, {{"SELECT 1", {}}});
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().kind, pg::failure_kind::not_connected);
    EXPECT_LT(since(again_start), 100ms);
}

TEST_F(PgConnection, ConnectingToAClosedPortFailsWithinTheDeadline)
{
    const auto port = closed_port(ioc_);
    const auto start = pg::clock::now();
    const auto made = try_connect("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres", 2s);
    ASSERT_FALSE(made.has_value());
    EXPECT_EQ(made.error().kind, pg::failure_kind::not_connected);
    EXPECT_FALSE(made.error().message.empty());
    EXPECT_LT(since(start), 2s);
}

TEST_F(PgConnection, ConnectingToAServerThatNeverAnswersStopsAtTheDeadline)
{
    // The kernel completes the handshake for a listening socket; nothing ever answers libpq.
    net::ip::tcp::acceptor silent(ioc_, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = silent.local_endpoint().port();
    const auto start = pg::clock::now();
    const auto made =
        try_connect("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres sslmode=disable", 300ms);
    const auto took = since(start);
    ASSERT_FALSE(made.has_value());
    EXPECT_EQ(made.error().kind, pg::failure_kind::not_connected) << describe(made.error());
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 2s);
}

TEST_F(PgConnection, AMultiHostConninfoSkipsAHostThatRefuses)
{
    std::string host;
    std::string port;
    std::string user;
    std::string database;
    {
        auto direct = connect();
        const auto server = direct->server();
        host = server.substr(0, server.rfind(':'));
        port = server.substr(server.rfind(':') + 1);
        const auto who = query(*direct, "SELECT current_user::text, current_database()::text");
        user = who.bytes(0, 0);
        database = who.bytes(0, 1);
    }
    const auto refusing = std::to_string(closed_port(ioc_));
    const auto made =
        try_connect("host=127.0.0.1," + host + " port=" + refusing + "," + port + " user=" + user +
                    " dbname=" + database + " target_session_attrs=read-write");
    ASSERT_TRUE(made.has_value()) << describe(made.error());
    const auto& c = *made;
    EXPECT_EQ(c->server(), host + ":" + port);
    EXPECT_EQ(query(*c, "SELECT 7::int4").int4(0, 0), 7);
}

TEST_F(PgConnection, ReceivesNotificationsAndReturnsEmptyAtTheDeadline)
{
    auto listener = connect();
    auto notifier = connect();
    const auto channel = unique_name("reqstore_test_notify");
    query(*listener, "LISTEN " + channel);

    query(*notifier, "SELECT pg_notify($1, $2)", {pg::text_param(channel), pg::text_param("from another")});
    const auto got = value_or_throw(run(listener->wait_for_notifications(after(5s))), "waiting");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].channel, channel);
    EXPECT_EQ(got[0].payload, "from another");

    const auto quiet_start = pg::clock::now();
    const auto none = value_or_throw(run(listener->wait_for_notifications(after(200ms))), "waiting");
    EXPECT_TRUE(none.empty());
    EXPECT_GE(since(quiet_start), 190ms);
    EXPECT_TRUE(listener->usable());

    // A notification that arrived with the results of an execute() is returned without waiting.
    query(*listener, "SELECT pg_notify($1, $2)", {pg::text_param(channel), pg::text_param("to itself")});
    const auto early_start = pg::clock::now();
    const auto early = value_or_throw(run(listener->wait_for_notifications(after(5s))), "waiting");
    ASSERT_EQ(early.size(), 1u);
    EXPECT_EQ(early[0].payload, "to itself");
    EXPECT_LT(since(early_start), 1s);
}

TEST_F(PgConnection, ABackendTerminatedByTheServerMakesTheConnectionUnusable)
{
    auto victim = connect();
    auto killer = connect();
    const auto pid = query(*victim, "SELECT pg_backend_pid()").int4(0, 0);
    // With a timeout, pg_terminate_backend returns once the backend has exited.
    const auto terminated =
        query(*killer, "SELECT pg_terminate_backend($1, $2)", {pg::int4_param(pid), pg::int8_param(5000)});
    ASSERT_TRUE(terminated.boolean(0, 0));

    const auto after_kill = execute(*victim, {{"SELECT 1", {}}});
    ASSERT_FALSE(after_kill.has_value());
    EXPECT_TRUE(after_kill.error().kind == pg::failure_kind::outcome_unknown ||
                after_kill.error().kind == pg::failure_kind::not_connected)
        << describe(after_kill.error());
    EXPECT_FALSE(victim->usable());
    EXPECT_TRUE(killer->usable());
}

TEST_F(PgConnection, DroppingALostConnectionLeavesAloneASocketThatReusedItsNumber)
{
    auto victim = connect();
    auto killer = connect();
    const auto pid = query(*victim, "SELECT pg_backend_pid()").int4(0, 0);
    // Terminated while it waits on its socket: it reads the server's reason, then the end of the
    // stream, upon which libpq closes its socket by itself. That number is free again.
    auto waiting = net::co_spawn(ioc_, victim->wait_for_notifications(after(10s)), net::use_future);
    ASSERT_TRUE(
        query(*killer, "SELECT pg_terminate_backend($1, $2)", {pg::int4_param(pid), pg::int8_param(5000)})
            .boolean(0, 0));
    const auto lost = wait(waiting);
    ASSERT_FALSE(lost.has_value());
    ASSERT_FALSE(victim->usable());

    // New sockets of the same reactor take the lowest free numbers, that one among them.
    constexpr int pairs = 4;
    int ends[pairs][2];
    std::vector<std::unique_ptr<net::posix::stream_descriptor>> watched;
    int readable = 0;
    for (auto& pair : ends)
    {
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        watched.push_back(std::make_unique<net::posix::stream_descriptor>(ioc_, pair[0]));
        watched.back()->async_wait(net::posix::descriptor_base::wait_read,
                                   [&readable](boost::system::error_code error)
                                   {
                                       if (!error)
                                           ++readable;
                                   });
    }
    // Dropping the lost connection must not deregister (or close) whatever holds its old number now.
    victim.reset();
    for (const auto& pair : ends)
        ASSERT_EQ(::write(pair[1], "x", 1), 1);
    const auto until = after(5s);
    while (readable < pairs && pg::clock::now() < until)
    {
        ioc_.restart();
        ioc_.run_for(10ms);
    }
    EXPECT_EQ(readable, pairs);
    for (const auto& pair : ends)
        ::close(pair[1]);
}

pg::pool_options test_pool_options(std::size_t size)
{
    pg::pool_options o;
    o.conninfo = pg_test_conninfo();
    o.size = size;
    o.name = "test";
    return o;
}

TEST_F(PgPool, AnAcquirerBeyondTheSizeWaitsForALeaseGivenBack)
{
    pg::pool p(ioc_.get_executor(), test_pool_options(2));
    auto first = run(p.acquire(after(call_deadline)));
    auto second = run(p.acquire(after(call_deadline)));
    ASSERT_TRUE(first.has_value()) << describe(first.error());
    ASSERT_TRUE(second.has_value()) << describe(second.error());
    EXPECT_EQ(p.in_use(), 2u);
    EXPECT_TRUE(p.connected());

    // A third with a short deadline gives up at it.
    const auto hurried_start = pg::clock::now();
    const auto hurried = run(p.acquire(after(150ms)));
    ASSERT_FALSE(hurried.has_value());
    EXPECT_EQ(hurried.error().kind, pg::failure_kind::not_connected);
    EXPECT_GE(since(hurried_start), 140ms);

    auto third = net::co_spawn(ioc_, p.acquire(after(call_deadline)), net::use_future);
    ioc_.restart();
    ioc_.run_for(200ms);
    EXPECT_NE(third.wait_for(0s), std::future_status::ready);

    pg::connection* const given_back = &**first;
    *first = pg::pool::lease(); // gives the connection back
    auto got = wait(third);
    ASSERT_TRUE(got.has_value()) << describe(got.error());
    EXPECT_EQ(&**got, given_back);
    EXPECT_EQ(p.in_use(), 2u);
    EXPECT_EQ(p.reconnects(), 0u);
    EXPECT_EQ(query(**got, "SELECT 3::int4").int4(0, 0), 3);
}

// A TCP server that counts the connections it accepts and closes each at once: a database that is
// down, from libpq's side.
class closing_server
{
public:
    explicit closing_server(net::io_context& ioc) : acceptor_(ioc, {net::ip::make_address("127.0.0.1"), 0})
    {
        net::co_spawn(ioc, accept_loop(), net::detached);
    }
    ~closing_server() { acceptor_.close(); }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    int accepted() const { return accepted_; }

private:
    net::awaitable<void> accept_loop()
    {
        for (;;)
        {
            auto [error, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
            if (error)
                co_return;
            ++accepted_;
        }
    }

    net::ip::tcp::acceptor acceptor_;
    int accepted_ = 0;
};

TEST_F(PgPool, ADatabaseThatIsDownFailsFastAndIsNotTriedAgainBeforeTheBackoff)
{
    closing_server down(ioc_);
    pg::pool_options o;
    // No SSL or GSS negotiation: one TCP connection per attempt.
    o.conninfo = "host=127.0.0.1 port=" + std::to_string(down.port()) +
                 " user=postgres sslmode=disable gssencmode=disable";
    o.size = 2;
    o.min_backoff = 1s;
    o.max_backoff = 4s;
    pg::pool p(ioc_.get_executor(), o);

    const auto first_start = pg::clock::now();
    const auto first = run(p.acquire(after(5s)));
    ASSERT_FALSE(first.has_value());
    EXPECT_EQ(first.error().kind, pg::failure_kind::not_connected);
    EXPECT_LT(since(first_start), 1s);
    EXPECT_EQ(down.accepted(), 1);
    EXPECT_FALSE(p.connected());

    // Its deadline comes before the backoff ends: refused at once, without an attempt.
    const auto hurried_start = pg::clock::now();
    const auto hurried = run(p.acquire(after(300ms)));
    ASSERT_FALSE(hurried.has_value());
    EXPECT_EQ(hurried.error().kind, pg::failure_kind::not_connected);
    EXPECT_LT(since(hurried_start), 150ms);
    EXPECT_EQ(down.accepted(), 1);

    // Its deadline allows the backoff: it waits it out, then tries once.
    const auto patient_start = pg::clock::now();
    const auto patient = run(p.acquire(after(5s)));
    ASSERT_FALSE(patient.has_value());
    EXPECT_GE(since(patient_start), 700ms); // the backoff of 1 s, less the time since the failure
    EXPECT_EQ(down.accepted(), 2);
    EXPECT_EQ(p.in_use(), 0u);
}

TEST_F(PgPool, ReconnectsAfterItsConnectionWasTerminated)
{
    auto options = test_pool_options(1);
    std::atomic<int> set_up{0};
    options.on_connect = [&set_up](pg::connection& c) -> net::awaitable<pg::query_result<void>>
    {
        ++set_up;
        std::vector<pg::statement> statements;
        statements.push_back({"SET application_name = 'reqstore-pool-test'", {}});
        auto done = co_await c.execute(std::move(statements), after(call_deadline));
        if (!done)
            co_return done.error();
        co_return pg::query_result<void>();
    };
    pg::pool p(ioc_.get_executor(), options);
    auto killer = connect();

    std::int32_t first_pid = 0;
    {
        auto lease = value_or_throw(run(p.acquire(after(call_deadline))), "acquire");
        first_pid = query(*lease, "SELECT pg_backend_pid()").int4(0, 0);
        EXPECT_EQ(query(*lease, "SELECT current_setting('application_name')").bytes(0, 0),
                  "reqstore-pool-test");
    }
    query(*killer, "SELECT pg_terminate_backend($1, $2)", {pg::int4_param(first_pid), pg::int8_param(5000)});

    // The pool finds the terminated connection before lending it (the server's reason and the end
    // of the stream wait on its socket), so nothing is sent on it: the next lease is a new one.
    auto lease = value_or_throw(run(p.acquire(after(call_deadline))), "acquire after the loss");
    EXPECT_TRUE(execute(*lease, {{"SELECT 1", {}}}).has_value());
    EXPECT_NE(query(*lease, "SELECT pg_backend_pid()").int4(0, 0), first_pid);
    EXPECT_EQ(set_up.load(), 2);
    EXPECT_EQ(p.reconnects(), 1u);
    EXPECT_TRUE(p.connected());
}

TEST_F(PgPool, CloseFailsWaitersAndLaterAcquires)
{
    pg::pool p(ioc_.get_executor(), test_pool_options(1));
    auto held = value_or_throw(run(p.acquire(after(call_deadline))), "acquire");
    auto waiting = net::co_spawn(ioc_, p.acquire(after(call_deadline)), net::use_future);
    ioc_.restart();
    ioc_.run_for(50ms);
    ASSERT_NE(waiting.wait_for(0s), std::future_status::ready);

    const auto closed_at = pg::clock::now();
    p.close();
    const auto waited = wait(waiting);
    ASSERT_FALSE(waited.has_value());
    EXPECT_EQ(waited.error().kind, pg::failure_kind::not_connected);
    EXPECT_LT(since(closed_at), 1s);

    const auto later = run(p.acquire(after(call_deadline)));
    ASSERT_FALSE(later.has_value());
    EXPECT_EQ(later.error().kind, pg::failure_kind::not_connected);
    held = pg::pool::lease(); // back to a closed pool: dropped
    EXPECT_EQ(p.in_use(), 0u);
}

TEST_F(PgPool, ALeaseThatOutlivesItsPoolIsDroppedWhenItEnds)
{
    // A coroutine frame destroyed late (its context torn down after the pool) ends its lease then.
    pg::pool::lease outliving;
    {
        pg::pool p(ioc_.get_executor(), test_pool_options(1));
        outliving = value_or_throw(run(p.acquire(after(call_deadline))), "acquire");
        EXPECT_EQ(query(*outliving, "SELECT 5::int4").int4(0, 0), 5);
    }
    EXPECT_EQ(query(*outliving, "SELECT 6::int4").int4(0, 0), 6);
    outliving = pg::pool::lease(); // back to a pool object that is gone: dropped, without touching it
}

net::awaitable<int> borrow_and_query(pg::pool& p, std::int64_t first_value, int times)
{
    int answered = 0;
    for (int i = 0; i < times; ++i)
    {
        auto lease = co_await p.acquire(after(call_deadline));
        if (!lease)
            throw std::runtime_error("acquire: " + describe(lease.error()));
        std::vector<pg::statement> statements;
        statements.push_back({"SELECT $1::int8", {pg::int8_param(first_value + i)}});
        auto done = co_await (*lease)->execute(std::move(statements), after(call_deadline));
        if (!done)
            throw std::runtime_error("execute: " + describe(done.error()));
        if ((*done)[0].int8(0, 0) == first_value + i)
            ++answered;
    }
    co_return answered;
}

TEST_F(PgPool, ServesCallersOnSeveralThreads)
{
    net::io_context threaded;
    auto work = net::make_work_guard(threaded);
    std::vector<std::thread> threads;
    {
        pg::pool p(threaded.get_executor(), test_pool_options(3));
        constexpr int callers = 12;
        constexpr int times = 10;
        std::vector<std::future<int>> done;
        for (int i = 0; i < callers; ++i)
            done.push_back(net::co_spawn(threaded, borrow_and_query(p, i * 1000, times), net::use_future));
        for (int i = 0; i < 3; ++i)
            threads.emplace_back([&threaded] { threaded.run(); });
        int answered = 0;
        for (auto& f : done)
        {
            ASSERT_EQ(f.wait_for(60s), std::future_status::ready) << "a caller did not finish";
            answered += f.get();
        }
        EXPECT_EQ(answered, callers * times);
        EXPECT_EQ(p.in_use(), 0u);
        EXPECT_EQ(p.reconnects(), 0u);
        work.reset();
        threaded.stop();
        for (auto& t : threads)
            t.join();
        threads.clear();
    }
}

} // namespace
