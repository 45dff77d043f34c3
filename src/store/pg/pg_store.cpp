// The PostgreSQL engine (pg_store.hpp): opening and closing, following other nodes' commits, and
// the reads of records. Each read is one round trip on a connection of the readers' pool; the
// outbox is in pg_outbox.cpp, the commits in pg_writer.cpp.
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "pg_calls.hpp"
#include "pg_schema.hpp"

namespace reqstore::store::pg
{
using core::errc;
using core::failure;

namespace
{

// A listing page stops once the bodies it holds reach this size, as the embedded engine's does.
constexpr std::size_t max_page_bytes = 8u << 20;

// The columns of a stored version, in the order decode_version reads them.
constexpr std::string_view version_columns =
    "v.version, v.tag, v.updated_at, v.deleted, v.type, v.status, v.updated_by, v.changed";

core::stored_version decode_version(const rows& r, std::size_t row, std::size_t first, bool with_body)
{
    core::stored_version v;
    v.version = static_cast<std::uint64_t>(r.int8(row, first));
    v.tag = static_cast<std::uint64_t>(r.int8(row, first + 1));
    v.updated_at = r.int8(row, first + 2);
    v.deleted = r.boolean(row, first + 3);
    v.type = std::string(r.bytes(row, first + 4));
    v.status = std::string(r.bytes(row, first + 5));
    v.updated_by = std::string(r.bytes(row, first + 6));
    v.changed = r.text_array(row, first + 7);
    if (with_body)
        v.body = std::string(r.bytes(row, first + 8));
    return v;
}

std::optional<core::stored_version> first_version(const rows& r)
{
    if (r.size() == 0)
        return std::nullopt;
    return decode_version(r, 0, 0, true);
}

// Sets a new connection up to read and write in the engine's schema, and to LISTEN for other nodes'
// commits when `listen`.
boost::asio::awaitable<query_result<void>> set_up(connection& c, std::string schema, bool listen)
{
    std::vector<statement> setup;
    setup.push_back(session_setup(schema));
    if (listen)
        setup.push_back(statement{"LISTEN reqstore_feed", {}});
    auto done = co_await c.execute(std::move(setup), clock::now() + std::chrono::seconds(10));
    if (!done)
        co_return done.error();
    co_return query_result<void>();
}

std::function<boost::asio::awaitable<query_result<void>>(connection&)> set_up_for(std::string schema,
                                                                                  bool listen)
{
    return [schema = std::move(schema), listen](connection& c)
    {
        return set_up(c, schema, listen);
    };
}

param optional_text(const std::optional<std::string>& text)
{
    return text ? text_param(*text) : null_param(oid::text);
}

} // namespace

bool valid_schema_name(std::string_view schema) noexcept
{
    if (schema.empty() || schema.size() > 63 || (schema[0] >= '0' && schema[0] <= '9'))
        return false;
    return std::all_of(schema.begin(), schema.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

core::failure failure_of(const query_failure& f, std::string_view what)
{
    const std::string context = std::string(what) + ": ";
    switch (f.kind)
    {
    case failure_kind::not_connected:
        return failure(errc::store_unavailable, context + "PostgreSQL cannot be reached: " + f.message);
    case failure_kind::outcome_unknown:
        return failure(errc::store_unavailable,
                       context + "the connection to PostgreSQL was lost during the call: " + f.message);
    case failure_kind::server_error:
        break;
    }
    // Classes that pass: 08 connection exception, 40 transaction rollback (serialization, deadlock),
    // 53 insufficient resources, 57 operator intervention (shutdown, cannot connect now); and 25006,
    // a write sent to a standby (a failover under way).
    const std::string_view cls = std::string_view(f.sqlstate).substr(0, 2);
    const bool passes = cls == "08" || cls == "40" || cls == "53" || cls == "57" || f.sqlstate == "25006";
    return failure(passes ? errc::store_unavailable : errc::internal,
                   context + "PostgreSQL refused it: SQLSTATE " + f.sqlstate + " " + f.message);
}

pg_store::shared::shared(pg_options o, boost::asio::any_io_executor e, core::commit_observer obs)
    : options(std::move(o)), executor(e), observer(std::move(obs)),
      readers(e, pool_options{options.conninfo, options.readers, set_up_for(options.schema, false),
                              std::chrono::milliseconds(100), std::chrono::milliseconds(5000),
                              "postgres readers"}),
      writer(e, pool_options{options.conninfo, 1, set_up_for(options.schema, false),
                             std::chrono::milliseconds(100), std::chrono::milliseconds(5000),
                             "postgres writer"}),
      listener(e, pool_options{options.conninfo, 1, set_up_for(options.schema, true),
                               std::chrono::milliseconds(100), std::chrono::milliseconds(5000),
                               "postgres feed listener"})
{
}

void pg_store::shared::saw_sequence(std::uint64_t seen) noexcept
{
    auto known = last_sequence.load(std::memory_order_relaxed);
    while (known < seen && !last_sequence.compare_exchange_weak(known, seen, std::memory_order_release))
    {
    }
}

pg_store::pg_store(std::shared_ptr<shared> state) : shared_(std::move(state)) {}

pg_store::~pg_store()
{
    (void)close();
}

pg_store::awaitable_result<std::unique_ptr<pg_store>>
pg_store::open(pg_options options, boost::asio::any_io_executor executor, core::commit_observer observer)
{
    if (!valid_schema_name(options.schema))
        co_return failure(errc::internal, "store.postgres.schema \"" + options.schema +
                                              "\" is not a valid schema name (lower-case letters, digits "
                                              "and _, not starting with a digit)");
    auto state = std::make_shared<shared>(std::move(options), executor, std::move(observer));
    const auto deadline = clock::now() + state->options.open_timeout;

    // The schema is prepared on the writer's connection, before anything else uses the database.
    auto leased = co_await state->writer.acquire(deadline);
    while (!leased && leased.error().kind == failure_kind::not_connected && clock::now() < deadline)
        leased = co_await state->writer.acquire(deadline);
    if (!leased)
        co_return failure(errc::store_unavailable,
                          "cannot reach PostgreSQL (store.postgres.conninfo) within " +
                              std::to_string(state->options.open_timeout.count() / 1000) +
                              " s: " + leased.error().message);
    if (auto migrated = co_await migrate(**leased, state->options.schema, deadline); !migrated)
        co_return migrated.error();
    auto head = single(sql("SELECT last_seq FROM feed_head WHERE k = 1"));
    auto read = co_await (*leased)->execute(std::move(head), deadline);
    if (!read)
        co_return failure_of(read.error(), "reading the change feed's last sequence");
    state->saw_sequence(static_cast<std::uint64_t>(read->back().int8(0, 0)));
    ops::log().info("PostgreSQL store open", {{"server", (*leased)->server()},
                                              {"schema", state->options.schema},
                                              {"last_sequence", state->last_sequence.load()}});
    if (state->options.follow_other_nodes)
    {
        // Its connection is made now, so that readiness (which follows it) holds from the start.
        if (auto listening = co_await state->listener.acquire(deadline); !listening)
            co_return failure(errc::store_unavailable,
                              "cannot reach PostgreSQL to follow other nodes' commits: " +
                                  listening.error().message);
        boost::asio::co_spawn(executor, listen_for_commits(state), boost::asio::detached);
    }
    co_return std::unique_ptr<pg_store>(new pg_store(std::move(state)));
}

namespace
{

// The sequence a notification of rs_commit names, "SCHEMA SEQUENCE", if it is `schema`'s.
std::optional<std::uint64_t> sequence_named(std::string_view payload, std::string_view schema)
{
    if (payload.size() <= schema.size() + 1 || !payload.starts_with(schema) || payload[schema.size()] != ' ')
        return std::nullopt;
    payload.remove_prefix(schema.size() + 1);
    std::uint64_t sequence = 0;
    const char* end = payload.data() + payload.size();
    if (auto [at, ec] = std::from_chars(payload.data(), end, sequence); ec != std::errc() || at != end)
        return std::nullopt;
    return sequence;
}

} // namespace

boost::asio::awaitable<void> listen_for_commits(std::shared_ptr<pg_store::shared> s)
{
    while (s->listening.load(std::memory_order_acquire))
    {
        const auto next_poll = clock::now() + feed_poll_interval;
        auto leased = co_await s->listener.acquire(clock::now() + s->options.read_timeout);
        if (!leased)
        {
            // Unreachable (the pool backs off) or closed: wait for the next poll either way.
            boost::asio::steady_timer pause(s->executor, next_poll);
            co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            continue;
        }
        auto woken = co_await (*leased)->wait_for_notifications(next_poll);
        if (!woken || !s->listening.load(std::memory_order_acquire))
            continue;
        // A notification names its schema and the last sequence its batch committed. The batch held
        // the counter row through its commit, so every smaller sequence was committed before it, and
        // a notification is delivered only once its transaction is no longer running, so all of
        // them are visible.
        std::uint64_t last = 0;
        for (const auto& n : *woken)
            if (const auto named = sequence_named(n.payload, s->options.schema))
                last = std::max(last, *named);
        if (last == 0)
        {
            // Woken by the poll interval, or only by other schemas' commits (or an older build's,
            // whose notifications name no schema): the counter row tells.
            auto head = single(sql("SELECT last_seq FROM feed_head WHERE k = 1"));
            auto read = co_await (*leased)->execute(std::move(head), clock::now() + s->options.read_timeout);
            if (!read || read->back().size() != 1)
                continue;
            last = static_cast<std::uint64_t>(read->back().int8(0, 0));
        }
        if (last > s->last_sequence.load(std::memory_order_acquire))
        {
            s->saw_sequence(last);
            if (s->observer.on_sequence)
                s->observer.on_sequence(last);
        }
    }
}

void pg_store::stop_listening() noexcept
{
    shared_->listening.store(false, std::memory_order_release);
}

core::result<void> pg_store::close()
{
    std::vector<queued_write> abandoned;
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->closed)
            return {};
        shared_->closed = true;
        abandoned.swap(shared_->queue);
    }
    for (auto& w : abandoned)
        w.pending->complete(failure(errc::unavailable, "the store closed before this commit was sent"));
    shared_->listening.store(false, std::memory_order_release);
    shared_->readers.close();
    shared_->writer.close();
    shared_->listener.close();
    return {};
}

std::uint64_t pg_store::last_sequence() const noexcept
{
    return shared_->last_sequence.load(std::memory_order_acquire);
}

bool pg_store::healthy() const noexcept
{
    // The feed listener reaches for the database every quarter second whatever the load, so its
    // pool knows soonest that the database is back (or gone): a node with no traffic, which a proxy
    // took out of rotation for an unready /readyz, must still become ready again by itself. The
    // other pools reconnect when next used.
    if (shared_->options.follow_other_nodes)
        return shared_->listener.connected();
    return shared_->writer.connected() && shared_->readers.connected();
}

pg_store::gauges pg_store::read_gauges() const noexcept
{
    return gauges{shared_->readers.in_use(), shared_->readers.reconnects() + shared_->writer.reconnects(),
                  shared_->batches.load(std::memory_order_relaxed),
                  shared_->commits.load(std::memory_order_relaxed)};
}

// ---- records ------------------------------------------------------------------------------------

pg_store::awaitable_result<std::optional<core::stored_version>> pg_store::load(std::string_view id)
{
    std::vector<param> p;
    p.push_back(text_param(id));
    auto statements = single(sql("SELECT " + std::string(version_columns) +
                                     ", v.body FROM records r JOIN versions v ON v.id = r.id AND v.version = "
                                     "r.version WHERE r.id = $1",
                                 std::move(p)));
    co_return co_await run<std::optional<core::stored_version>>(shared_, std::move(statements),
                                                                "loading a record", first_version);
}

pg_store::awaitable_result<std::optional<core::stored_version>> pg_store::load_version(std::string_view id,
                                                                                       std::uint64_t version)
{
    std::vector<param> p;
    p.push_back(text_param(id));
    p.push_back(int8_param(static_cast<std::int64_t>(version)));
    auto statements = single(sql("SELECT " + std::string(version_columns) +
                                     ", v.body FROM versions v WHERE v.id = $1 AND v.version = $2",
                                 std::move(p)));
    co_return co_await run<std::optional<core::stored_version>>(shared_, std::move(statements),
                                                                "loading a version", first_version);
}

pg_store::awaitable_result<std::vector<std::optional<core::stored_version>>>
pg_store::load_versions(std::vector<std::pair<std::string, std::uint64_t>> wanted)
{
    array_builder ids(oid::text), versions(oid::int8);
    for (const auto& [id, version] : wanted)
    {
        ids.add_text(id);
        versions.add_int8(static_cast<std::int64_t>(std::min<std::uint64_t>(version, INT64_MAX)));
    }
    std::vector<param> p;
    p.push_back(std::move(ids).finish());
    p.push_back(std::move(versions).finish());
    auto statements =
        single(sql("SELECT w.n, " + std::string(version_columns) +
                       ", v.body FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS w(id, version, "
                       "n) JOIN versions v ON v.id = w.id AND v.version = w.version",
                   std::move(p)));
    const std::size_t count = wanted.size();
    co_return co_await run<std::vector<std::optional<core::stored_version>>>(
        shared_, std::move(statements), "loading versions",
        [count](const rows& r)
        {
            std::vector<std::optional<core::stored_version>> out(count);
            for (std::size_t i = 0; i < r.size(); ++i)
                out.at(static_cast<std::size_t>(r.int8(i, 0) - 1)) = decode_version(r, i, 1, true);
            return out;
        });
}

pg_store::awaitable_result<std::vector<core::stored_version>>
pg_store::history(std::string_view id, std::uint64_t below_version, std::size_t limit)
{
    if (limit == 0 || below_version <= 1)
        co_return std::vector<core::stored_version>();
    std::vector<param> p;
    p.push_back(text_param(id));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::uint64_t>(below_version, INT64_MAX))));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))));
    auto statements = single(sql("SELECT " + std::string(version_columns) +
                                     " FROM versions v WHERE v.id = $1 AND v.version < $2 ORDER BY v.version "
                                     "DESC LIMIT $3",
                                 std::move(p)));
    co_return co_await run<std::vector<core::stored_version>>(
        shared_, std::move(statements), "reading a record's history",
        [](const rows& r)
        {
            std::vector<core::stored_version> out;
            for (std::size_t i = 0; i < r.size(); ++i)
                out.push_back(decode_version(r, i, 0, false));
            return out;
        });
}

pg_store::awaitable_result<core::list_page> pg_store::list(const core::list_filter& filter,
                                                           std::string_view after_id, std::size_t limit,
                                                           std::size_t max_examined)
{
    if (limit == 0 || max_examined == 0)
        co_return core::list_page{};
    // Examines up to max_examined records after `after_id` (one more tells whether any follow),
    // and returns them up to the limit-th that passes the filter, with the bodies of those that
    // pass. Each row: id, passes, more (a record follows it), then the version.
    std::vector<param> p;
    p.push_back(text_param(after_id));
    p.push_back(optional_text(filter.type));
    p.push_back(optional_text(filter.status));
    p.push_back(filter.updated_since ? int8_param(*filter.updated_since) : null_param(oid::int8));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT32_MAX))));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::size_t>(max_examined, INT32_MAX))));
    auto statements = single(sql(R"sql(
        WITH examined AS (
            SELECT r.id, r.version,
                   NOT r.deleted AND ($2::text IS NULL OR r.type = $2) AND ($3::text IS NULL OR r.status = $3)
                   AND ($4::bigint IS NULL OR r.updated_at >= $4) AS passes
              FROM records r WHERE r.id > $1 ORDER BY r.id LIMIT $6 + 1),
        counted AS (
            SELECT e.id, e.version, e.passes,
                   count(*) FILTER (WHERE e.passes) OVER w - e.passes::int AS passed_before,
                   row_number() OVER w AS n,
                   lead(e.id) OVER w IS NOT NULL AS more
              FROM examined e WINDOW w AS (ORDER BY e.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
        SELECT c.id, c.passes, c.more, )sql" +
                                     std::string(version_columns) +
                                     R"sql(, v.body
          FROM counted c LEFT JOIN versions v ON c.passes AND v.id = c.id AND v.version = c.version
         WHERE c.n <= $6 AND c.passed_before < $5
         ORDER BY c.id)sql",
                                 std::move(p)));
    co_return co_await run<core::list_page>(shared_, std::move(statements), "listing records",
                                            [](const rows& r)
                                            {
                                                core::list_page page;
                                                std::size_t bytes = 0;
                                                bool more = false;
                                                std::string last;
                                                for (std::size_t i = 0; i < r.size(); ++i)
                                                {
                                                    last = std::string(r.bytes(i, 0));
                                                    more = r.boolean(i, 2);
                                                    if (!r.boolean(i, 1))
                                                        continue;
                                                    page.records.push_back(decode_version(r, i, 3, true));
                                                    bytes += page.records.back().body.size();
                                                    if (bytes >= max_page_bytes)
                                                        break;
                                                }
                                                if (more)
                                                    page.last_examined_id = std::move(last);
                                                return page;
                                            });
}

pg_store::awaitable_result<std::vector<core::timer_key>> pg_store::timers_due(core::unix_millis up_to,
                                                                              std::size_t limit)
{
    std::vector<param> p;
    p.push_back(int8_param(up_to));
    p.push_back(int8_param(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))));
    auto statements =
        single(sql("SELECT due, id FROM timers WHERE due <= $1 ORDER BY due, id LIMIT $2", std::move(p)));
    co_return co_await run<std::vector<core::timer_key>>(
        shared_, std::move(statements), "reading due timers",
        [](const rows& r)
        {
            std::vector<core::timer_key> out;
            for (std::size_t i = 0; i < r.size(); ++i)
                out.push_back({r.int8(i, 0), std::string(r.bytes(i, 1))});
            return out;
        });
}

pg_store::awaitable_result<std::optional<core::timer_key>> pg_store::earliest_timer()
{
    auto statements = single(sql("SELECT due, id FROM timers ORDER BY due, id LIMIT 1"));
    co_return co_await run<std::optional<core::timer_key>>(
        shared_, std::move(statements), "reading the earliest timer",
        [](const rows& r)
        {
            if (r.size() == 0)
                return std::optional<core::timer_key>();
            return std::optional<core::timer_key>(core::timer_key{r.int8(0, 0), std::string(r.bytes(0, 1))});
        });
}

pg_store::awaitable_result<void> pg_store::remove_timer(const core::timer_key& timer)
{
    std::vector<param> p;
    p.push_back(int8_param(timer.due));
    p.push_back(text_param(timer.id));
    auto statements = single(sql("DELETE FROM timers WHERE due = $1 AND id = $2", std::move(p)));
    co_return co_await run<void>(shared_, std::move(statements), "removing a timer", no_rows);
}

pg_store::awaitable_result<std::optional<core::idempotency_entry>>
pg_store::load_idempotency(std::string_view key)
{
    std::vector<param> p;
    p.push_back(text_param(key));
    auto statements =
        single(sql("SELECT fingerprint, created_at, answer FROM idempotency WHERE key = $1", std::move(p)));
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    auto decode = [key = std::string(key)](const rows& r)
    {
        if (r.size() == 0)
            return std::optional<core::idempotency_entry>();
        return std::optional<core::idempotency_entry>(core::idempotency_entry{
            key, std::string(r.bytes(0, 0)), r.int8(0, 1), std::string(r.bytes(0, 2))});
    };
    co_return co_await run<std::optional<core::idempotency_entry>>(
        shared_, std::move(statements), "loading an idempotency answer", std::move(decode));
}

pg_store::awaitable_result<std::size_t> pg_store::remove_idempotency_before(core::unix_millis cutoff)
{
    std::vector<param> p;
    p.push_back(int8_param(cutoff));
    auto statements = single(sql("DELETE FROM idempotency WHERE created_at < $1", std::move(p)));
    co_return co_await run<std::size_t>(shared_, std::move(statements), "removing old idempotency answers",
                                        [](const rows& r) { return r.affected(); });
}

pg_store::awaitable_result<std::optional<std::string>> pg_store::load_attachment(std::string_view id,
                                                                                 std::string_view sha256)
{
    std::vector<param> p;
    p.push_back(text_param(id));
    p.push_back(text_param(sha256));
    auto statements =
        single(sql("SELECT bytes FROM attachments WHERE id = $1 AND sha256 = $2", std::move(p)));
    co_return co_await run<std::optional<std::string>>(
        shared_, std::move(statements), "loading an attachment",
        [](const rows& r)
        {
            if (r.size() == 0)
                return std::optional<std::string>();
            return std::optional<std::string>(std::string(r.bytes(0, 0)));
        });
}

} // namespace reqstore::store::pg
