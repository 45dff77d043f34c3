// Wires the modules into one server (server.hpp): what is built from what, in which order, and the order
// in which it stops.
#include <reqstore/api/admin_api.hpp>
#include <reqstore/api/console_api.hpp>
#include <reqstore/api/idempotency.hpp>
#include <reqstore/api/introspection_api.hpp>
#include <reqstore/api/native_api.hpp>
#include <reqstore/api/ops_api.hpp>
#include <reqstore/api/webhooks_api.hpp>
#include <reqstore/app/server.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/core/expiry_scheduler.hpp>
#include <reqstore/core/feed_notifier.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/hooks/http_client.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/store/pg/pg_store.hpp>
#include <reqstore/store/rocks/rocks_backups.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>
#include <reqstore/surfaces/autodesk.hpp>
#include <reqstore/surfaces/seed_surfaces.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <openssl/ssl.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>
#include <unistd.h>
#include <vector>

namespace reqstore::app
{
namespace net = boost::asio;

namespace
{

constexpr std::array<std::string_view, ops::metrics::method_count> method_labels{
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};

net::awaitable<void> drain_on_signal(net::signal_set& signals, http::server& server,
                                     hooks::dispatcher& dispatcher, core::feed_notifier& feed,
                                     std::chrono::milliseconds drain_timeout, net::io_context& io)
{
    const int signal = co_await signals.async_wait(net::use_awaitable);
    ops::log().info("draining", {{"signal", signal}});
    dispatcher.stop();
    co_await server.drain_with([&feed] { feed.close(); }, drain_timeout);
    io.stop();
}

// Reloads the TLS identity on every SIGHUP until the signal set is cancelled. A reload that fails
// keeps the identity in use and logs why; without TLS the signal only says so in the log.
net::awaitable<void> reload_on_signal(net::signal_set& signals, http::server& server)
{
    for (;;)
    {
        auto [ec, signal] = co_await signals.async_wait(net::as_tuple(net::use_awaitable));
        if (ec)
            co_return;
        if (!server.has_tls())
            ops::log().info("SIGHUP: no TLS identity is configured, so there is nothing to reload",
                            {{"signal", signal}});
        else if (auto reloaded = server.reload_tls(); reloaded)
            ops::log().info("TLS certificate reloaded", {{"signal", signal}});
        else
            ops::log().error("TLS certificate not reloaded; the previous one stays in use",
                             {{"signal", signal}, {"error", reloaded.error().detail}});
    }
}

// Runs `op` on `io` to its end before the server's threads start: a startup step that reads the
// store, which a remote engine answers only while the context runs.
template <class T>
T run_before_serving(net::io_context& io, net::awaitable<T> op)
{
    auto done = net::co_spawn(io, std::move(op), net::use_future);
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        if (io.run_one() == 0)
            io.restart();
    io.restart();
    return done.get();
}

// Removes change feed entries older than the retention, hourly, but never one the webhook fan-out
// has not read yet.
net::awaitable<void> trim_feed(core::outbox_store& records, std::chrono::seconds retention,
                               http::server& server, net::steady_timer& timer)
{
    while (!server.draining())
    {
        const auto cursor = co_await records.fan_out_cursor();
        if (cursor)
        {
            auto removed =
                co_await records.trim_events(core::now_millis() - retention.count() * 1000, *cursor + 1);
            if (!removed)
                ops::log().error("trimming the change feed failed", {{"error", removed.error().detail}});
        }
        timer.expires_after(std::chrono::minutes(60));
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
}

store::store_options store_options_of(const server_config& config)
{
    store::store_options o;
    o.data_dir = config.data_dir;
    o.durability = config.durability_fsync ? store::durability::fsync : store::durability::buffered;
    o.wal_recovery =
        config.recover_wal_point_in_time ? store::wal_recovery::point_in_time : store::wal_recovery::strict;
    o.block_cache_bytes = config.block_cache_bytes;
    o.write_buffer_bytes = config.write_buffer_bytes;
    return o;
}

store::pg::pg_options postgres_options_of(const server_config& config)
{
    store::pg::pg_options o;
    o.conninfo = config.postgres.conninfo;
    o.schema = config.postgres.schema;
    o.readers = config.postgres.pool;
    return o;
}

// The engine behind the store interfaces: the embedded one, or PostgreSQL (store.engine).
struct engine
{
    std::unique_ptr<store::rocks_store> rocks;
    std::unique_ptr<store::pg::pg_store> postgres;
    // The embedded engine's online backups (after `rocks`, which they use: destroyed first).
    std::unique_ptr<store::rocks_backups> backups;

    core::record_store& records() const
    {
        return rocks ? static_cast<core::record_store&>(*rocks) : *postgres;
    }
    core::outbox_store& outbox() const
    {
        return rocks ? static_cast<core::outbox_store&>(*rocks) : *postgres;
    }
    std::uint64_t last_sequence() const { return rocks ? rocks->last_sequence() : postgres->last_sequence(); }
    bool healthy() const { return rocks ? rocks->healthy() : postgres->healthy(); }
    core::result<void> close() const
    {
        if (backups)
            backups->stop(); // a backup under way reads the database
        return rocks ? rocks->close() : postgres->close();
    }
    // Ends what the engine runs in the background on its own, so that the context runs out of work.
    void stop_background() const
    {
        if (postgres)
            postgres->stop_listening();
    }
};

http::server_limits server_limits_of(const limits_config& limits)
{
    return http::server_limits{
        .max_body_bytes = limits.max_body_bytes,
        .max_header_bytes = limits.max_header_bytes,
        .idle_timeout = limits.idle_timeout,
        .header_timeout = limits.header_timeout,
        .body_timeout = limits.body_timeout,
        .write_timeout = limits.write_timeout,
        .max_connections = limits.max_connections,
        .max_connections_per_address = limits.max_connections_per_address,
    };
}

} // namespace

// Everything the server is made of, declared in the order it is built. Members are destroyed in
// reverse order, so the I/O context, declared first after the configuration, goes last: every I/O
// object and every coroutine frame it still holds is gone before it.
struct server::parts
{
    parts(const server_config& c, server_options o) : config(c), options(o) {}

    const server_config config;
    const server_options options;
    std::unique_ptr<net::io_context> io;
    ops::metrics stats{method_labels};
    engine store;
    std::unique_ptr<core::type_registry> types;
    std::unique_ptr<core::record_service> service;
    std::unique_ptr<core::expiry_scheduler> expiry;
    std::unique_ptr<auth::key_registry> keys;
    std::unique_ptr<auth::rate_limiter> limiter;
    std::unique_ptr<api::idempotency_keys> idempotency;
    std::unique_ptr<core::feed_notifier> feed;
    std::unique_ptr<hooks::network_policy> policy;
    std::unique_ptr<hooks::http_client> client;
    std::unique_ptr<hooks::dispatcher> dispatcher;
    http::router routes;
    std::unique_ptr<http::server> server;
    std::unique_ptr<net::signal_set> signals;             // drain_on_signals()'s
    std::unique_ptr<net::steady_timer> trim_timer;        // paces the change feed's retention
    std::vector<std::thread> threads;                     // run_in_background()'s; joined by halt()
    std::string node_id;                                  // resolved by listen()
    std::optional<net::ip::tcp::endpoint> plain_endpoint; // listen_plain's, bound by listen()
    std::unique_ptr<net::signal_set> reload_signal;       // SIGHUP: reload the TLS identity
};

server::server(const server_config& config, server_options options)
    : parts_(std::make_unique<parts>(config, options))
{
    parts_->io = std::make_unique<net::io_context>(static_cast<int>(config.threads));
}

server::~server() = default;

core::result<std::unique_ptr<server>> server::open(const server_config& config, server_options options)
{
    // OpenSSL sets its global state up here, on the thread that starts the server: set up at first use
    // by an I/O thread (a key's SHA-256, a secret's random bytes), part of it stayed with that thread
    // and LeakSanitizer reported it at exit.
    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr) != 1)
        return core::failure(core::errc::internal, "cannot initialise OpenSSL");
    std::unique_ptr<server> built(new server(config, options));
    parts& p = *built->parts_;
    auto& io = *p.io;

    // The store commits before the feed exists: the feed starts from the store's last sequence.
    core::commit_observer observer{[&stats = p.stats](std::size_t n, std::chrono::nanoseconds t)
                                   { stats.record_commit_batch(n, t); },
                                   [&p](std::uint64_t sequence)
                                   {
                                       if (p.feed)
                                           p.feed->notify(sequence);
                                   }};
    if (config.engine == store_engine::postgres)
    {
        // Connecting and preparing the schema take round trips, which need the context running.
        auto opened = run_before_serving(
            io, store::pg::pg_store::open(postgres_options_of(config), io.get_executor(), observer));
        if (!opened)
            return opened.error();
        p.store.postgres = std::move(*opened);
    }
    else
    {
        auto opened = store::rocks_store::open(store_options_of(config), io.get_executor(), observer);
        if (!opened)
            return opened.error();
        p.store.rocks = std::move(*opened);
        p.store.backups = std::make_unique<store::rocks_backups>(*p.store.rocks, config.backup_dir);
    }
    auto& records = p.store.records();
    auto& outbox = p.store.outbox();
    p.types = std::make_unique<core::type_registry>(config.types);
    core::service_options service_options{config.require_if_match, config.limits.max_json_depth,
                                          config.limits.max_record_bytes};
    // On PostgreSQL other nodes write the same records: a version held in memory could be stale, so
    // reads go to the database, and the versions this node wrote serve its writers only as hints
    // (the engine's compare-and-swap refuses a commit built on one that another node overtook, and
    // anything but a commit judged on one is judged again against the database's version).
    if (config.engine == store_engine::postgres)
        service_options.shared_store = true;
    // One I/O thread runs every session and every write: nothing needs a strand to keep two of
    // them apart, and a strand per connection and per write costs a queue, a lock and a hop each.
    const bool one_io_thread = config.threads == 1;
    service_options.one_io_thread = one_io_thread;
    p.service = std::make_unique<core::record_service>(io.get_executor(), records, *p.types, service_options);
    p.expiry = std::make_unique<core::expiry_scheduler>(io.get_executor(), *p.service, records);
    p.keys = std::make_unique<auth::key_registry>(config.keys);
    p.limiter = std::make_unique<auth::rate_limiter>(*p.keys);
    p.idempotency = std::make_unique<api::idempotency_keys>(io.get_executor(), *p.service);
    p.feed = std::make_unique<core::feed_notifier>(p.store.last_sequence());
    p.policy = std::make_unique<hooks::network_policy>(config.webhooks.allow_networks);
    hooks::client_options client_options;
    client_options.ca_file = config.webhooks.ca_file;
    // Every attempt under way may be to one receiver: keep a connection for each, or a burst to
    // one receiver would close and reopen connections all the time.
    client_options.max_idle_per_target = config.webhooks.max_in_flight;
    p.client = std::make_unique<hooks::http_client>(io.get_executor(), *p.policy, client_options);
    hooks::dispatcher_options dispatch{config.webhooks.retry_schedule_seconds,
                                       config.webhooks.timeout,
                                       config.webhooks.disable_after,
                                       config.webhooks.callback_secret,
                                       config.webhooks.max_in_flight,
                                       surfaces::autodesk_callback_body,
                                       config.webhooks.secrets_key};
    p.dispatcher = std::make_unique<hooks::dispatcher>(io.get_executor(), outbox, records, *p.feed, *p.client,
                                                       p.stats, std::move(dispatch));

    api::add_operations_routes(p.routes, p.stats,
                               [&p] { return p.server && !p.server->draining() && p.store.healthy(); });
    p.routes.add_surface("/v1", api::native_surface());
    api::add_native_routes(p.routes, *p.service, *p.idempotency);
    surfaces::add_seed_surfaces(p.routes, *p.service);
    api::add_webhook_routes(p.routes, *p.dispatcher);
    api::add_feed_routes(p.routes, outbox, *p.feed);
    api::add_admin_routes(p.routes, p.store.backups.get());
    api::add_introspection_routes(p.routes, *p.types, config.require_if_match);
    if (config.console_enabled)
        api::add_console_routes(p.routes, api::console_files());
    p.stats.name_routes(p.routes.patterns());
    if (p.store.rocks)
        p.stats.on_render_compaction(
            [&rocks = *p.store.rocks]
            {
                const auto state = rocks.compaction();
                return ops::metrics::compaction_gauges{state.running, state.pending_bytes};
            });
    p.stats.on_render_store_writable([&p] { return p.store.healthy(); });
    if (p.store.postgres)
        p.stats.on_render_remote_store(
            [&pg = *p.store.postgres]
            {
                const auto g = pg.read_gauges();
                return ops::metrics::remote_store_gauges{g.readers_in_use, g.reconnects, pg.healthy()};
            });

    p.server = std::make_unique<http::server>(io, server_limits_of(config.limits), p.routes, *p.keys,
                                              *p.limiter, p.stats, config.access_log, one_io_thread);
    p.trim_timer = std::make_unique<net::steady_timer>(io);
    return built;
}

core::result<boost::asio::ip::tcp::endpoint> server::listen()
{
    parts& p = *parts_;
    auto endpoint = bind_listeners();
    if (!endpoint)
    {
        (void)p.store.close(); // nothing was written yet; the failure to report is the bind's
        return endpoint;
    }
    p.node_id = p.config.node_id;
    if (p.node_id.empty())
    {
        std::array<char, 256> host{};
        if (::gethostname(host.data(), host.size() - 1) != 0)
            std::snprintf(host.data(), host.size(), "localhost");
        p.node_id = std::string(host.data()) + ":" + std::to_string(endpoint->port());
    }
    p.stats.set_node(p.node_id);
    return endpoint;
}

core::result<boost::asio::ip::tcp::endpoint> server::bind_listeners()
{
    parts& p = *parts_;
    const auto& c = p.config;
    if (c.tls)
        if (auto loaded = p.server->use_tls(*c.tls); !loaded)
            return loaded.error();
    auto endpoint =
        p.server->listen(c.listen_host, c.listen_port, c.tls ? http::transport::tls : http::transport::plain);
    if (!endpoint || c.listen_plain_host.empty())
        return endpoint;
    auto plain = p.server->listen(c.listen_plain_host, c.listen_plain_port, http::transport::plain);
    if (!plain)
        return plain.error();
    p.plain_endpoint = *plain;
    return endpoint;
}

std::optional<boost::asio::ip::tcp::endpoint> server::plain_endpoint() const noexcept
{
    return parts_->plain_endpoint;
}

const std::string& server::node_id() const noexcept
{
    return parts_->node_id;
}

core::result<void> server::start()
{
    parts& p = *parts_;
    // Webhook delivery loads what it resumes before the first connection is taken.
    if (p.options.deliver_webhooks)
    {
        // On PostgreSQL other nodes may deliver from the same outbox: this one takes its turns.
        if (p.store.postgres)
            p.dispatcher->share_with_nodes(*p.store.postgres, p.node_id);
        if (auto started = run_before_serving(*p.io, p.dispatcher->start()); !started)
        {
            (void)p.store.close(); // the failure to report is the dispatcher's
            return started;
        }
    }
    p.server->start();
    if (p.store.postgres)
    {
        p.stats.share_work();
        p.expiry->share_with_nodes(*p.store.postgres, p.node_id,
                                   [&stats = p.stats](bool held)
                                   { stats.set_lease_held(ops::metrics::lease::expiry, held); });
    }
    p.expiry->start();
    if (p.config.events_retention.count() > 0)
        net::co_spawn(*p.io, trim_feed(p.store.outbox(), p.config.events_retention, *p.server, *p.trim_timer),
                      net::detached);
    p.idempotency->start();
    return {};
}

void server::drain_on_signals()
{
    parts& p = *parts_;
    p.signals = std::make_unique<net::signal_set>(*p.io, SIGINT, SIGTERM);
    net::co_spawn(
        *p.io,
        drain_on_signal(*p.signals, *p.server, *p.dispatcher, *p.feed, p.config.limits.drain_timeout, *p.io),
        net::detached);
    p.reload_signal = std::make_unique<net::signal_set>(*p.io, SIGHUP);
    net::co_spawn(*p.io, reload_on_signal(*p.reload_signal, *p.server), net::detached);
}

core::result<void> server::run()
{
    parts& p = *parts_;
    auto& io = *p.io;
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < p.config.threads; ++i)
        threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads)
        t.join();

    // The drain is over. Stop the background loops and run the context once more, with the store
    // still open, so that every coroutine still suspended (a commit being written, a webhook
    // attempt) finishes normally while the objects it uses are alive. Then close the store.
    p.expiry->stop();
    p.idempotency->stop();
    p.dispatcher->stop();
    p.feed->close();
    p.store.stop_background();
    p.trim_timer->cancel();
    p.client->close_idle();
    if (p.signals)
        p.signals->cancel();
    if (p.reload_signal)
        p.reload_signal->cancel();
    io.restart();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!io.stopped() && std::chrono::steady_clock::now() < give_up)
        io.run_for(std::chrono::milliseconds(50));
    if (!io.stopped())
    {
        // Something is still under way past every deadline (a webhook attempt waiting for its
        // timeout, say). Every acknowledged write is already in the synced write-ahead log and
        // open deliveries resume after a restart, so leave as a crash would: destroying the
        // pending frames could touch objects they still use.
        ops::log().warn("operations still pending after the drain; exiting without cleanup");
        ops::log().flush();
        std::_Exit(0);
    }
    return p.store.close();
}

void server::run_in_background()
{
    parts& p = *parts_;
    for (unsigned i = 0; i < p.config.threads; ++i)
        p.threads.emplace_back([io = p.io.get()] { io->run(); });
}

core::result<void> server::halt()
{
    parts& p = *parts_;
    if (!p.threads.empty())
    {
        // Ends every connection first, while the modules its session refers to are alive: a
        // session left suspended in the context would be destroyed with the context, after them.
        p.expiry->stop();
        p.idempotency->stop();
        p.dispatcher->stop();
        auto drained = net::co_spawn(*p.io, p.server->drain(std::chrono::milliseconds(0)), net::use_future);
        if (drained.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
            ops::log().warn("halting with connections still open");
        // A backup under way ends while the context still runs, so that the session awaiting it
        // resumes and ends before the modules it uses are destroyed.
        if (p.store.backups)
        {
            p.store.backups->stop();
            auto ended = net::co_spawn(*p.io, p.server->drain(std::chrono::milliseconds(0)), net::use_future);
            ended.wait_for(std::chrono::seconds(2));
        }
    }
    p.io->stop();
    for (auto& t : p.threads)
        t.join();
    p.threads.clear();
    return p.store.close();
}

const server_config& server::config() const noexcept
{
    return parts_->config;
}

const http::router& server::routes() const noexcept
{
    return parts_->routes;
}

} // namespace reqstore::app
