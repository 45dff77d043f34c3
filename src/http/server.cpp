// The server as the program sees it: a listener that spawns sessions, and the drain that ends them.
#include <reqstore/http/server.hpp>

#include "listener.hpp"
#include "session_drain.hpp"

namespace reqstore::http
{
namespace net = boost::asio;

server::server(net::io_context& io, server_limits limits, const router& routes,
               const auth::key_registry& keys, auth::rate_limiter& limiter, ops::metrics& stats,
               bool access_log)
    : limits_(limits), sessions_(std::make_unique<session_drain>(stats)),
      listener_(std::make_unique<listener>(
          io, session_services{limits_, routes, keys, limiter, stats, access_log, *sessions_}))
{
}

server::~server() = default;

core::result<net::ip::tcp::endpoint> server::listen(const std::string& host, std::uint16_t port)
{
    return listener_->listen(host, port);
}

void server::start()
{
    listener_->start();
}

net::awaitable<void> server::drain(std::chrono::milliseconds deadline)
{
    co_await drain_with({}, deadline);
}

net::awaitable<void> server::drain_with(std::function<void()> wake_streams,
                                        std::chrono::milliseconds deadline)
{
    sessions_->begin();
    if (wake_streams)
        wake_streams();
    listener_->close();
    co_await sessions_->close_connections(deadline);
}

bool server::draining() const noexcept
{
    return sessions_->draining();
}

std::size_t server::connection_cap() const noexcept
{
    return listener_->connection_cap();
}

} // namespace reqstore::http
