// Internal to the http module: the accept loop. Each accepted connection is admitted under the
// connection caps and gets a session on a strand of its own, or is refused with a 503 at once.
#pragma once

#include <reqstore/core/errc.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "connection_caps.hpp"
#include "session.hpp"

namespace reqstore::http
{

class listener
{
public:
    // `io` and everything `services` refers to must outlive the listener and its sessions.
    listener(boost::asio::io_context& io, session_services services);
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    // Binds and listens. Returns the bound endpoint (the real port when `port` is 0), or
    // errc::internal with a message saying why it could not. Call once, before start().
    core::result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, std::uint16_t port);

    // Sets the connection caps and starts the accept loop on its own strand. The loop ends when
    // close() closes the acceptor; any other exception from it ends the process (it is a bug).
    void start();

    // Stops accepting: closes the acceptor on its strand. Sessions already running go on.
    // Thread-safe.
    void close();

    // The cap on connections open at once, as enforced (0 before start()). Thread-safe.
    std::size_t connection_cap() const noexcept { return caps_.cap(); }

private:
    boost::asio::awaitable<void> accept_loop();
    // Admits an accepted connection and spawns its session, or refuses it.
    void take(boost::asio::ip::tcp::socket socket);
    // Counts a failed accept and logs it, at most once a second.
    void note_accept_failure(const boost::system::error_code& ec);
    // Counts a refused connection and logs it, at most once a second.
    void note_refusal(const boost::asio::ip::address& remote, connection_caps::verdict why);

    // Constant after construction.
    boost::asio::io_context& io_;
    const session_services services_;

    connection_caps caps_;
    boost::asio::strand<boost::asio::io_context::executor_type> acceptor_strand_;

    // Only on acceptor_strand_: the acceptor, and the pacing of the refusal and accept-failure
    // logs (one line a second at most, however hard the flood).
    boost::asio::ip::tcp::acceptor acceptor_;
    std::chrono::steady_clock::time_point next_refusal_log_{};
    std::uint64_t refusals_unlogged_ = 0;
    std::chrono::steady_clock::time_point next_accept_failure_log_{};
    std::uint64_t accept_failures_unlogged_ = 0;
};

} // namespace reqstore::http
