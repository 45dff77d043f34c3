// Internal to the http module: the accept loop of one listening address. Each accepted connection
// is admitted under the connection caps the server's listeners share and gets a session on a strand
// of its own (over TLS when the listener has an identity), or is refused with a 503 at once. When one
// thread runs the I/O context, sessions run on its executor without a strand: nothing of theirs can
// run at once on another thread.
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
#include "tls_identity.hpp"

namespace reqstore::http
{

class listener
{
public:
    // `io`, `caps`, `tls` (null: plain HTTP) and everything `services` refers to must outlive the
    // listener and its sessions. `one_io_thread`: only one thread runs `io`.
    listener(boost::asio::io_context& io, session_services services, connection_caps& caps,
             const tls_identity* tls, bool one_io_thread);
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    // Binds and listens. Returns the bound endpoint (the real port when `port` is 0), or
    // errc::internal with a message saying why it could not. Call once, before start().
    core::result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, std::uint16_t port);

    // Starts the accept loop on its own strand (after caps.start()). The loop ends when close()
    // closes the acceptor; any other exception from it ends the process (it is a bug).
    void start();

    // Stops accepting: closes the acceptor on its strand. Sessions already running go on.
    // Thread-safe.
    void close();

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
    connection_caps& caps_;
    const tls_identity* const tls_;
    const bool one_io_thread_;

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
