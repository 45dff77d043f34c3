// The server as one object: the store, the record service, webhook delivery, every route and the HTTP
// server, wired from a server_config, with their start and their orderly shutdown. Shared by main.cpp
// (through serve.hpp), the fuzz target of the HTTP server and the in-process tests.
#pragma once

#include <reqstore/app/config.hpp>
#include <reqstore/core/errc.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <optional>

namespace reqstore::http
{
class router;
}

namespace reqstore::app
{

// What a server built for something other than serving leaves out.
struct server_options
{
    // Whether start() starts webhook delivery (the dispatcher's fan-out and lanes). A fuzz target turns
    // it off: its fuzzed subscriptions name URLs that may be anywhere. The webhook routes work either
    // way; without delivery, deliveries stay queued in the store.
    bool deliver_webhooks = true;
};

// A server goes through open(), listen(), start(), then either drain_on_signals() and run() (the
// process's server: serve.hpp) or run_in_background() and halt() (a fuzz target, a test). Every call
// is made from one thread, the one that opened it; the calls that run the I/O context say so.
class server
{
public:
    // Opens the store in config.data_dir and builds every module and route on an I/O context for
    // config.threads threads; nothing is bound or running yet. Returns the server, or the store's
    // failure (its detail names the problem: a damaged log, a lock held by another process, ...).
    // `config` is copied.
    static core::result<std::unique_ptr<server>> open(const server_config& config,
                                                      server_options options = {});

    // Destroys every module, the I/O context last. A store still open is closed (its errors are then
    // only logged). Must not be called while run_in_background()'s threads run: halt() first.
    ~server();

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds config.listen_host:config.listen_port, over TLS when config.tls is set (its files are
    // loaded first), and listen_plain when it is set. Returns the bound endpoint of `listen` (the real
    // port when the configured port is 0), or a failure whose detail says why not (an unreadable or
    // mismatched certificate or key, an address in use); the store is then closed and the server is
    // only good for destruction.
    core::result<boost::asio::ip::tcp::endpoint> listen();

    // listen_plain's bound endpoint, when it is set and listen() succeeded.
    std::optional<boost::asio::ip::tcp::endpoint> plain_endpoint() const noexcept;

    // After listen(): starts accepting connections, the expiry scheduler, webhook delivery (unless
    // server_options::deliver_webhooks is false), the hourly trimming of the change feed (when
    // events.retention is set) and the sweep of idempotency answers. Returns a failure when webhook
    // delivery cannot start (its detail says why); the store is then closed and the server is only
    // good for destruction. The work runs while the I/O context runs (run() or run_in_background()).
    core::result<void> start();

    // Installs the handlers of SIGINT and SIGTERM: the first signal stops webhook delivery and drains
    // the HTTP server (limits.drain_timeout), then stops the I/O context, which ends run(). And of
    // SIGHUP: each one reloads the TLS certificate and key (a failed reload keeps the old pair and
    // logs why). Call before announcing the server: until then, a signal ends the process.
    void drain_on_signals();

    // Runs the I/O context on config.threads threads (the calling one among them) until it stops: after
    // the drain that drain_on_signals() starts. Then stops the background loops, lets every coroutine
    // still suspended finish with the store open (for at most 2 s: past that, the process exits at once
    // with code 0, as a crash would, since every acknowledged write is already durable), and closes the
    // store. Returns the result of closing it: a failure after a failed write or fsync, or when the
    // final sync fails. Call once, after start().
    core::result<void> run();

    // Runs the I/O context on config.threads threads of its own and returns at once. For a process that
    // talks to the server from other threads (a fuzz target, a test).
    void run_in_background();

    // Stops the background loops and closes every connection (a drain with no grace: its sessions
    // end while the modules they use are alive; at most about a second), then stops the I/O
    // context (other operations under way are abandoned, not finished), joins the threads of
    // run_in_background() and closes the store. Returns the result of closing it. The
    // server is then only good for destruction.
    core::result<void> halt();

    // The configuration the server was opened with.
    const server_config& config() const noexcept;
    // node.id, or the host name and the port once listen() succeeded.
    const std::string& node_id() const noexcept;

    // Every route and surface of the server (for a fuzz target's oracles). Valid as long as the server.
    const http::router& routes() const noexcept;

private:
    struct parts; // every module of the server, in the order they are built (server.cpp)

    server(const server_config& config, server_options options);
    // listen()'s binding: loads the TLS identity when tls is set, then binds `listen` (HTTPS when
    // tls is set) and listen_plain. The endpoint of `listen`, or the first failure.
    core::result<boost::asio::ip::tcp::endpoint> bind_listeners();

    std::unique_ptr<parts> parts_; // never null
};

} // namespace reqstore::app
