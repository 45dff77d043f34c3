// The accept loop: admission under the caps, refusals written without waiting on the client, and
// the socket options every served connection gets.
#include "listener.hpp"

#include <reqstore/http/status_map.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "answer_writer.hpp"
#include "request_reader.hpp"

namespace reqstore::http
{
namespace net = boost::asio;
using tcp = net::ip::tcp;
using net::as_tuple;
using net::use_awaitable;

namespace
{

// The most of an answer the kernel may hold unsent for a client (TCP_NOTSENT_LOWAT).
constexpr int unsent_bytes_limit = 64 << 10;

// The answer to a connection over a cap. No request was read, so the problem has no instance.
std::string refusal_answer(bool total_cap)
{
    const auto d = describe_failure(core::errc::unavailable);
    boost::json::object problem;
    problem["type"] = "/problems/" + std::string(d.slug);
    problem["title"] = d.title;
    problem["status"] = d.status;
    problem["detail"] = total_cap ? "the server has as many connections open as it serves; try again shortly"
                                  : "too many connections are open from this address; close one or try "
                                    "again shortly";
    response r;
    r.status = d.status;
    r.content_type = "application/problem+json";
    r.headers.emplace_back("Retry-After", "1");
    r.body = boost::json::serialize(problem);
    return answer_head(r, generate_request_id(), false) + r.body;
}

// Answers a connection over a cap and closes it, never waiting on the client: a fresh socket's
// send buffer is empty, so the short answer is written at once or not at all. What the client
// already sent is read and dropped, so that the close is a FIN that lets it read the answer, not a
// reset. A TLS client gets no answer (it cannot read one before a handshake), only the close.
void refuse_connection(tcp::socket& socket, bool total_cap, bool plain)
{
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    if (!ec && plain)
    {
        const std::string answer = refusal_answer(total_cap);
        socket.write_some(net::buffer(answer), ec);
        std::array<char, 16384> sink;
        for (int i = 0; i < 4 && !ec; ++i)
            socket.read_some(net::buffer(sink), ec);
    }
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

// Options of a served connection; a failure to set one leaves the connection usable.
void set_socket_options(tcp::socket& socket)
{
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Let the kernel hold little of an answer the client has not taken yet. Without a bound, a
    // reader with a tiny window has whole answers buffered for it (megabytes on loopback, where
    // the send buffer grows with a 64 KiB segment size), so the write completes, the write
    // timeout never sees the slow reader, and each such client pins kernel memory. In-flight
    // data is not limited, so throughput is not either.
    const int unsent_limit = unsent_bytes_limit;
    ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent_limit, sizeof unsent_limit);
}

bool out_of_resources(const boost::system::error_code& ec)
{
    return ec == boost::system::errc::too_many_files_open ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == boost::system::errc::no_buffer_space || ec == boost::system::errc::not_enough_memory;
}

} // namespace

listener::listener(net::io_context& io, session_services services, connection_caps& caps,
                   const tls_identity* tls, bool one_io_thread)
    : io_(io), services_(services), caps_(caps), tls_(tls), one_io_thread_(one_io_thread),
      acceptor_strand_(net::make_strand(io)), acceptor_(acceptor_strand_)
{
}

core::result<tcp::endpoint> listener::listen(const std::string& host, std::uint16_t port)
{
    boost::system::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec)
        return core::failure(core::errc::internal, host + " is not an IP address");
    const tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(endpoint, ec);
    if (!ec)
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return core::failure(core::errc::internal,
                             "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    return acceptor_.local_endpoint();
}

void listener::start()
{
    net::co_spawn(acceptor_strand_, accept_loop(),
                  [](std::exception_ptr e)
                  {
                      if (e)
                          std::rethrow_exception(e); // a failing accept loop is a bug: let it end the process
                  });
}

void listener::close()
{
    net::post(acceptor_strand_,
              [this]
              {
                  boost::system::error_code ec;
                  acceptor_.close(ec);
              });
}

net::awaitable<void> listener::accept_loop()
{
    net::steady_timer pause(co_await net::this_coro::executor);
    for (;;)
    {
        const auto session_executor = one_io_thread_ ? net::any_io_executor(io_.get_executor())
                                                     : net::any_io_executor(net::make_strand(io_));
        auto [ec, socket] = co_await acceptor_.async_accept(session_executor, as_tuple(use_awaitable));
        if (ec == net::error::operation_aborted || !acceptor_.is_open())
            co_return;
        if (!ec)
        {
            take(std::move(socket));
            continue;
        }
        note_accept_failure(ec);
        // Out of descriptors or memory, nothing can be accepted until something closes: back off
        // as nginx does instead of spinning. Other failures concern one queued connection.
        pause.expires_after(out_of_resources(ec) ? std::chrono::milliseconds(100)
                                                 : std::chrono::milliseconds(1));
        co_await pause.async_wait(as_tuple(use_awaitable));
    }
}

void listener::take(tcp::socket socket)
{
    boost::system::error_code ignored;
    const tcp::endpoint remote = socket.remote_endpoint(ignored);
    if (ignored)
    {
        socket.close(ignored); // reset while it waited in the queue: nobody to serve
        return;
    }
    if (const auto verdict = caps_.admit(remote.address()); verdict != connection_caps::verdict::admitted)
    {
        refuse_connection(socket, verdict == connection_caps::verdict::over_total_cap, tls_ == nullptr);
        note_refusal(remote.address(), verdict);
        return;
    }
    set_socket_options(socket);
    auto executor = socket.get_executor();
    net::co_spawn(executor,
                  run_session(services_, std::move(socket), tls_ ? tls_->current() : nullptr,
                              connection_caps::slot(caps_, remote.address())),
                  [](std::exception_ptr e)
                  {
                      if (!e)
                          return;
                      try
                      {
                          std::rethrow_exception(e);
                      }
                      catch (const std::exception& ex)
                      {
                          ops::log().error("session failed", {{"error", ex.what()}});
                      }
                  });
}

void listener::note_accept_failure(const boost::system::error_code& ec)
{
    services_.stats.accept_failed();
    ++accept_failures_unlogged_;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_accept_failure_log_)
        return;
    ops::log().warn("accept failed",
                    {{"error", ec.message()}, {"failures_since_last_line", accept_failures_unlogged_}});
    accept_failures_unlogged_ = 0;
    next_accept_failure_log_ = now + std::chrono::seconds(1);
}

void listener::note_refusal(const net::ip::address& remote, connection_caps::verdict why)
{
    const bool total_cap = why == connection_caps::verdict::over_total_cap;
    services_.stats.connection_refused(total_cap ? ops::metrics::refusal::total_cap
                                                 : ops::metrics::refusal::address_cap);
    ++refusals_unlogged_;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_refusal_log_)
        return;
    ops::log().warn(total_cap ? "connection refused: the connection cap is reached"
                              : "connection refused: the per-address connection cap is reached",
                    {{"remote", remote.to_string()},
                     {"cap", total_cap ? caps_.cap() : caps_.per_address_cap()},
                     {"refused_since_last_line", refusals_unlogged_}});
    refusals_unlogged_ = 0;
    next_refusal_log_ = now + std::chrono::seconds(1);
}

} // namespace reqstore::http
