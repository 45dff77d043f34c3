// The server as the program sees it: listeners that spawn sessions, the caps and the TLS identity
// they share, and the drain that ends them.
#include <reqstore/http/server.hpp>

#include "connection_caps.hpp"
#include "listener.hpp"
#include "session_drain.hpp"
#include "tls_identity.hpp"

namespace reqstore::http
{
namespace net = boost::asio;

server::server(net::io_context& io, server_limits limits, const router& routes,
               const auth::key_registry& keys, auth::rate_limiter& limiter, ops::metrics& stats,
               bool access_log, bool one_io_thread)
    : io_(io), limits_(limits), routes_(routes), keys_(keys), limiter_(limiter), stats_(stats),
      access_log_(access_log), one_io_thread_(one_io_thread),
      sessions_(std::make_unique<session_drain>(stats)),
      caps_(std::make_unique<connection_caps>(limits_.max_connections, limits_.max_connections_per_address))
{
}

server::~server()
{
    listeners_.clear(); // before the caps, the identity and the drain they refer to
}

core::result<void> server::use_tls(tls_settings settings)
{
    auto loaded = tls_identity::load(std::move(settings));
    if (!loaded)
        return loaded.error();
    tls_ = std::move(*loaded);
    return {};
}

core::result<void> server::reload_tls()
{
    if (!tls_)
        return core::failure(core::errc::internal, "no TLS identity is configured (tls.cert_file is empty)");
    return tls_->reload();
}

core::result<net::ip::tcp::endpoint> server::listen(const std::string& host, std::uint16_t port,
                                                    transport how)
{
    if (how == transport::tls && !tls_)
        return core::failure(core::errc::internal,
                             "cannot serve HTTPS on " + host + ": no TLS identity is loaded");
    auto added = std::make_unique<listener>(
        io_, session_services{limits_, routes_, keys_, limiter_, stats_, access_log_, *sessions_}, *caps_,
        how == transport::tls ? tls_.get() : nullptr, one_io_thread_);
    auto endpoint = added->listen(host, port);
    if (endpoint)
        listeners_.push_back(std::move(added));
    return endpoint;
}

void server::start()
{
    caps_->start();
    for (auto& l : listeners_)
        l->start();
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
    for (auto& l : listeners_)
        l->close();
    co_await sessions_->close_connections(deadline);
}

bool server::draining() const noexcept
{
    return sessions_->draining();
}

std::size_t server::connection_cap() const noexcept
{
    return caps_->cap();
}

} // namespace reqstore::http
