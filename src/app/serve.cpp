// The process's server (serve.hpp): the one exception boundary of the process, and what it says on
// standard output, standard error and in the log at each step.
#include <reqstore/app/serve.hpp>
#include <reqstore/app/server.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/ops/log.hpp>

#include <csignal>
#include <iostream>
#include <string>

namespace reqstore::app
{

namespace
{

std::string format_host(const boost::asio::ip::address& address)
{
    return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint)
{
    return format_host(endpoint.address()) + ":" + std::to_string(endpoint.port());
}

int serve_until_drained(const server_config& config)
{
    auto opened = server::open(config);
    if (!opened)
    {
        ops::log().error("cannot open the store",
                         {{"data_dir", config.data_dir}, {"error", opened.error().detail}});
        ops::log().flush();
        std::cerr << "reqstore: " << opened.error().detail << "\n";
        return 1;
    }
    server& s = **opened;
    const auto endpoint = s.listen();
    if (!endpoint)
    {
        std::cerr << "reqstore: " << endpoint.error().detail << "\n";
        return 1;
    }
    if (auto started = s.start(); !started)
    {
        std::cerr << "reqstore: cannot start webhook delivery: " << started.error().detail << "\n";
        return 1;
    }
    // Before the announcement: a test (or a supervisor) may send SIGTERM as soon as it reads it.
    s.drain_on_signals();

    ops::log().info("started", {{"listen", format_endpoint(*endpoint)},
                                {"tls", config.tls.has_value()},
                                {"node", s.node_id()},
                                {"store", config.engine == store_engine::postgres ? "postgres" : "rocksdb"},
                                {"data_dir", config.data_dir},
                                {"threads", config.threads},
                                {"durability", config.durability_fsync ? "fsync" : "buffered"}});
    if (!config.durability_fsync)
        ops::log().warn("durability is buffered: acknowledged writes can be lost if the machine loses power");
    const auto plain = s.plain_endpoint();
    if (plain)
        ops::log().info("serving plain HTTP too", {{"listen_plain", format_endpoint(*plain)}});
    // The first line is the main address, which scripts and tests read; a second names listen_plain.
    std::cout << "listening on " << format_endpoint(*endpoint) << std::endl;
    if (plain)
        std::cout << "listening on " << format_endpoint(*plain) << " (plain HTTP)" << std::endl;

    const auto closed = s.run();
    if (!closed)
        ops::log().error("closing the store failed", {{"error", closed.error().detail}});
    ops::log().info("stopped");
    ops::log().flush();
    return closed ? 0 : 1;
}

} // namespace

int serve(const server_config& config)
{
    std::signal(SIGPIPE, SIG_IGN);
    // Until drain_on_signals() installs the reload handler, a SIGHUP (systemctl reload while the store
    // opens) must not end the process, which systemd would count as a clean exit and not restart.
    std::signal(SIGHUP, SIG_IGN);
    http::raise_open_files_limit(); // every connection takes a descriptor; the caps decide how many
    try
    {
        return serve_until_drained(config);
    }
    catch (const std::exception& e)
    {
        ops::log().error("fatal", {{"error", e.what()}});
        ops::log().flush();
        std::cerr << "reqstore: " << e.what() << "\n";
        return 1;
    }
}

} // namespace reqstore::app
