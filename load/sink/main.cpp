// reqstore-sink: a webhook receiver on reqstore's own HTTP server that verifies, records and
// judges deliveries (API.md section 11). Exit code: 0 after SIGTERM/SIGINT with the summary
// written, 1 on a runtime failure, 2 for a usage error.
#include <reqstore/auth/keys.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/http/router.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/ops/metrics.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "../common/json_file.hpp"
#include "ledger.hpp"
#include "options.hpp"
#include "receiver.hpp"

namespace net = boost::asio;
using namespace reqstore;

namespace
{

constexpr std::array<std::string_view, ops::metrics::method_count> method_labels{
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};
constexpr std::chrono::milliseconds drain_deadline{2'000};

net::awaitable<void> stop_on_signal(net::signal_set& signals, http::server& server, sink::receiver& receiver,
                                    net::io_context& io)
{
    const int signal = co_await signals.async_wait(net::use_awaitable);
    ops::log().info("stopping", {{"signal", signal}});
    receiver.stop();
    co_await server.drain(drain_deadline);
    io.stop();
}

// Writes through a temporary file and a rename, so that a reader never sees half a summary.
bool write_summary(const std::string& file, const boost::json::object& summary)
{
    return tools::write_json_file(file, summary);
}

// Everything the sink is made of, in the order it is built; the I/O context goes after everything
// that uses it, and the ledger after the context: a delivery's coroutine destroyed with the context
// ends its lane attempt in the ledger.
struct sink_parts
{
    sink::ledger book;
    std::unique_ptr<sink::body_log> bodies;
    std::unique_ptr<net::io_context> io;
    ops::metrics stats{method_labels};
    std::unique_ptr<sink::receiver> receiver;
    auth::key_registry keys; // empty: the sink's routes are public
    std::unique_ptr<auth::rate_limiter> limiter;
    http::router routes;
    std::unique_ptr<http::server> server;
    std::unique_ptr<net::signal_set> signals;
};

int run(const sink::options& options)
{
    sink_parts parts;
    parts.io = std::make_unique<net::io_context>(static_cast<int>(options.threads));
    auto& io = *parts.io;

    sink::behaviour how;
    how.keys = options.keys;
    how.fail_rate = options.fail_rate;
    how.hang_rate = options.hang_rate;
    how.seed = options.seed ? *options.seed : std::random_device{}();
    how.status = options.status;
    how.max_age = std::chrono::seconds(options.max_age_seconds);
    how.answer_delay = std::chrono::milliseconds(options.answer_delay_ms);
    if (!options.bodies_file.empty())
    {
        parts.bodies = std::make_unique<sink::body_log>(options.bodies_file);
        if (!parts.bodies->good())
        {
            std::cerr << "reqstore-sink: --bodies: cannot open " << options.bodies_file << " for appending\n";
            return 1;
        }
        how.bodies = parts.bodies.get();
    }
    parts.receiver = std::make_unique<sink::receiver>(parts.book, std::move(how));
    parts.receiver->add_routes(parts.routes);
    parts.stats.name_routes(parts.routes.patterns());
    parts.limiter = std::make_unique<auth::rate_limiter>(parts.keys);

    // Every delivery comes from the one server under test, and a receiver that hangs on purpose
    // holds each hung connection open: no cap per address, and as many files as the system allows.
    http::raise_open_files_limit();
    http::server_limits limits;
    limits.max_connections_per_address = 0;
    parts.server = std::make_unique<http::server>(io, limits, parts.routes, parts.keys, *parts.limiter,
                                                  parts.stats, false);
    auto endpoint = parts.server->listen(options.host, options.port);
    if (!endpoint)
    {
        std::cerr << "reqstore-sink: " << endpoint.error().detail << "\n";
        return 1;
    }
    parts.server->start();
    parts.signals = std::make_unique<net::signal_set>(io, SIGINT, SIGTERM);
    net::co_spawn(io, stop_on_signal(*parts.signals, *parts.server, *parts.receiver, io), net::detached);

    std::string host = endpoint->address().to_string();
    if (endpoint->address().is_v6())
        host = "[" + host + "]";
    const std::string listen = host + ":" + std::to_string(endpoint->port());
    ops::log().info("sink started", {{"listen", listen},
                                     {"secrets", options.keys.size()},
                                     {"fail_rate", options.fail_rate},
                                     {"hang_rate", options.hang_rate},
                                     {"answer_delay_ms", options.answer_delay_ms},
                                     {"threads", options.threads}});
    std::cout << "listening on " << listen << std::endl;

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < options.threads; ++i)
        threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads)
        t.join();

    // Let every coroutine still suspended finish while the objects it uses are alive; delayed
    // answers end within 100 ms of receiver.stop().
    parts.signals->cancel();
    io.restart();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!io.stopped() && std::chrono::steady_clock::now() < give_up)
        io.run_for(std::chrono::milliseconds(50));

    bool written = true;
    if (!options.json_file.empty())
    {
        written = write_summary(options.json_file, parts.book.summary());
        if (!written)
            std::cerr << "reqstore-sink: cannot write " << options.json_file << "\n";
    }
    ops::log().info("sink stopped", {{"summary_written", written}});
    ops::log().flush();
    if (!io.stopped())
        std::_Exit(written ? 0 : 1); // a coroutine is stuck: leave without destroying its frame
    return written ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    auto parsed = sink::parse_options(argc, argv);
    if (std::holds_alternative<sink::show_help>(parsed))
    {
        std::cout << sink::usage_text();
        return 0;
    }
    if (auto* error = std::get_if<sink::usage_error>(&parsed))
    {
        std::cerr << "reqstore-sink: " << error->message << "\n\n" << sink::usage_text();
        return 2;
    }
    try
    {
        return run(std::get<sink::options>(parsed));
    }
    catch (const std::exception& e)
    {
        ops::log().error("fatal", {{"error", e.what()}});
        ops::log().flush();
        std::cerr << "reqstore-sink: " << e.what() << "\n";
        return 1;
    }
}
