// reqstore: reads the configuration, opens the store, wires the modules, serves until SIGTERM
// or SIGINT, drains, and returns the exit code (0 after a clean drain, 1 on a runtime failure,
// 2 for a configuration error).
#include <reqstore/api/idempotency.hpp>
#include <reqstore/api/native_api.hpp>
#include <reqstore/api/ops_api.hpp>
#include <reqstore/api/webhooks_api.hpp>
#include <reqstore/app/config.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/core/expiry_scheduler.hpp>
#include <reqstore/core/feed_notifier.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/hooks/http_client.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/store/rocks_store.hpp>
#include <reqstore/surfaces/autodesk.hpp>
#include <reqstore/surfaces/seed_surfaces.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

namespace net = boost::asio;
using namespace reqstore;

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

// Removes change feed entries older than the retention, hourly, but never one the webhook fan-out
// has not read yet.
net::awaitable<void> trim_feed(store::rocks_store& records, std::chrono::seconds retention,
                               http::server& server, net::steady_timer& timer)
{
    while (!server.draining())
    {
        const auto cursor = records.fan_out_cursor();
        if (cursor)
        {
            auto removed = records.trim_events(core::now_millis() - retention.count() * 1000, *cursor + 1);
            if (!removed)
                ops::log().error("trimming the change feed failed", {{"error", removed.error().detail}});
        }
        timer.expires_after(std::chrono::minutes(60));
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
}

// Everything the server is made of, declared in the order it is built. Members are destroyed in
// reverse order, so the I/O context, declared first, goes last: every I/O object and every
// coroutine frame it still holds is gone before it.
struct server_parts
{
    std::unique_ptr<net::io_context> io;
    ops::metrics stats{method_labels};
    std::unique_ptr<store::rocks_store> records;
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
    std::unique_ptr<net::signal_set> signals;
    std::unique_ptr<net::steady_timer> trim_timer; // paces the change feed's retention
};

int serve(const app::server_config& config)
{
    server_parts parts;
    parts.io = std::make_unique<net::io_context>(static_cast<int>(config.threads));
    auto& io = *parts.io;

    store::store_options store_options;
    store_options.data_dir = config.data_dir;
    store_options.durability =
        config.durability_fsync ? store::durability::fsync : store::durability::buffered;
    store_options.wal_recovery =
        config.recover_wal_point_in_time ? store::wal_recovery::point_in_time : store::wal_recovery::strict;
    store_options.block_cache_bytes = config.block_cache_bytes;
    store_options.write_buffer_bytes = config.write_buffer_bytes;
    store::commit_observer observer{[&stats = parts.stats](std::size_t n, std::chrono::nanoseconds t)
                                    { stats.record_commit_batch(n, t); },
                                    [&parts](std::uint64_t sequence)
                                    {
                                        if (parts.feed)
                                            parts.feed->notify(sequence);
                                    }};
    auto opened = store::rocks_store::open(store_options, io.get_executor(), observer);
    if (!opened)
    {
        ops::log().error("cannot open the store",
                         {{"data_dir", config.data_dir}, {"error", opened.error().detail}});
        ops::log().flush();
        std::cerr << "reqstore: " << opened.error().detail << "\n";
        return 1;
    }
    parts.records = std::move(*opened);
    parts.types = std::make_unique<core::type_registry>(config.types);
    parts.service = std::make_unique<core::record_service>(
        io.get_executor(), *parts.records, *parts.types,
        core::service_options{config.require_if_match, config.limits.max_json_depth,
                              config.limits.max_record_bytes});
    parts.expiry =
        std::make_unique<core::expiry_scheduler>(io.get_executor(), *parts.service, *parts.records);
    parts.keys = std::make_unique<auth::key_registry>(config.keys);
    parts.limiter = std::make_unique<auth::rate_limiter>(*parts.keys);
    parts.idempotency = std::make_unique<api::idempotency_keys>(io.get_executor(), *parts.service);
    parts.feed = std::make_unique<core::feed_notifier>(parts.records->last_sequence());
    parts.policy = std::make_unique<hooks::network_policy>(config.webhooks.allow_networks);
    hooks::client_options client_options;
    client_options.ca_file = config.webhooks.ca_file;
    // Every attempt under way may be to one receiver: keep a connection for each, or a burst to
    // one receiver would close and reopen connections all the time.
    client_options.max_idle_per_target = config.webhooks.max_in_flight;
    parts.client = std::make_unique<hooks::http_client>(io.get_executor(), *parts.policy, client_options);
    hooks::dispatcher_options dispatch{config.webhooks.retry_schedule_seconds,
                                       config.webhooks.timeout,
                                       config.webhooks.disable_after,
                                       config.webhooks.callback_secret,
                                       config.webhooks.max_in_flight,
                                       surfaces::autodesk_callback_body,
                                       config.webhooks.secrets_key};
    parts.dispatcher =
        std::make_unique<hooks::dispatcher>(io.get_executor(), *parts.records, *parts.records, *parts.feed,
                                            *parts.client, parts.stats, std::move(dispatch));

    api::add_operations_routes(
        parts.routes, parts.stats,
        [&parts] { return parts.server && !parts.server->draining() && parts.records->healthy(); });
    parts.routes.add_surface("/v1", api::native_surface());
    api::add_native_routes(parts.routes, *parts.service, *parts.idempotency);
    surfaces::add_seed_surfaces(parts.routes, *parts.service);
    api::add_webhook_routes(parts.routes, *parts.dispatcher);
    api::add_feed_routes(parts.routes, *parts.records, *parts.feed);
    parts.stats.name_routes(parts.routes.patterns());
    parts.stats.on_render_compaction(
        [&records = *parts.records]
        {
            const auto state = records.compaction();
            return ops::metrics::compaction_gauges{state.running, state.pending_bytes};
        });
    parts.stats.on_render_store_writable([&records = *parts.records] { return records.healthy(); });

    const http::server_limits limits{
        .max_body_bytes = config.limits.max_body_bytes,
        .max_header_bytes = config.limits.max_header_bytes,
        .idle_timeout = config.limits.idle_timeout,
        .header_timeout = config.limits.header_timeout,
        .body_timeout = config.limits.body_timeout,
        .write_timeout = config.limits.write_timeout,
        .max_connections = config.limits.max_connections,
        .max_connections_per_address = config.limits.max_connections_per_address,
    };
    parts.server = std::make_unique<http::server>(io, limits, parts.routes, *parts.keys, *parts.limiter,
                                                  parts.stats, config.access_log);
    auto endpoint = parts.server->listen(config.listen_host, config.listen_port);
    if (!endpoint)
    {
        std::cerr << "reqstore: " << endpoint.error().detail << "\n";
        (void)parts.records->close();
        return 1;
    }
    parts.server->start();
    parts.expiry->start();
    if (auto started = parts.dispatcher->start(); !started)
    {
        std::cerr << "reqstore: cannot start webhook delivery: " << started.error().detail << "\n";
        (void)parts.records->close();
        return 1;
    }
    parts.trim_timer = std::make_unique<net::steady_timer>(io);
    if (config.events_retention.count() > 0)
        net::co_spawn(io,
                      trim_feed(*parts.records, config.events_retention, *parts.server, *parts.trim_timer),
                      net::detached);
    parts.idempotency->start();
    parts.signals = std::make_unique<net::signal_set>(io, SIGINT, SIGTERM);
    net::co_spawn(io,
                  drain_on_signal(*parts.signals, *parts.server, *parts.dispatcher, *parts.feed,
                                  config.limits.drain_timeout, io),
                  net::detached);

    std::string host = endpoint->address().to_string();
    if (endpoint->address().is_v6())
        host = std::string("[").append(host).append("]");
    ops::log().info("started", {{"listen", host + ":" + std::to_string(endpoint->port())},
                                {"data_dir", config.data_dir},
                                {"threads", config.threads},
                                {"durability", config.durability_fsync ? "fsync" : "buffered"}});
    if (!config.durability_fsync)
        ops::log().warn("durability is buffered: acknowledged writes can be lost if the machine loses power");
    std::cout << "listening on " << host << ":" << endpoint->port() << std::endl;

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < config.threads; ++i)
        threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads)
        t.join();

    // The drain is over. Stop the background loops and run the context once more, with the store
    // still open, so that every coroutine still suspended (a commit being written, a webhook
    // attempt) finishes normally while the objects it uses are alive. Then close the store.
    parts.expiry->stop();
    parts.idempotency->stop();
    parts.dispatcher->stop();
    parts.feed->close();
    parts.trim_timer->cancel();
    parts.client->close_idle();
    parts.signals->cancel();
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
    const auto closed = parts.records->close();
    if (!closed)
        ops::log().error("closing the store failed", {{"error", closed.error().detail}});
    ops::log().info("stopped");
    ops::log().flush();
    return closed ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    http::raise_open_files_limit(); // every connection takes a descriptor; the caps decide how many
    auto loaded = app::load_config(argc, argv);
    if (auto* error = std::get_if<app::config_error>(&loaded))
    {
        std::cerr << "reqstore: " << error->message << "\n";
        return 2;
    }
    auto& outcome = std::get<app::config_outcome>(loaded);
    switch (outcome.what)
    {
    case app::config_outcome::action::show_help:
        std::cout << app::usage_text();
        return 0;
    case app::config_outcome::action::show_version:
        std::cout << "reqstore 0.1.0\n";
        return 0;
    case app::config_outcome::action::print_config:
        std::cout << boost::json::serialize(outcome.config.effective) << "\n";
        return 0;
    case app::config_outcome::action::serve:
        break;
    }
    try
    {
        return serve(outcome.config);
    }
    catch (const std::exception& e)
    {
        ops::log().error("fatal", {{"error", e.what()}});
        ops::log().flush();
        std::cerr << "reqstore: " << e.what() << "\n";
        return 1;
    }
}
