// Internal to the http module: one connection's coroutine, from its first byte to its close.
#pragma once

#include <reqstore/auth/keys.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/http/router.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/ops/metrics.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>

#include "connection_caps.hpp"

namespace reqstore::http
{

class session_drain;

// What every session of one server shares. The objects it refers to outlive every session.
struct session_services
{
    const server_limits& limits;
    const router& routes;
    const auth::key_registry& keys;
    auth::rate_limiter& limiter;
    ops::metrics& stats;
    bool access_log;
    session_drain& sessions; // sees the connection while it is open, and ends it on a drain
};

// Serves the connection `socket` until it closes: over TLS when `tls` is set (the context the
// connection keeps for its life; the handshake must complete by the first header deadline, and
// the connection ends with close_notify), waits for a request (within header_timeout for
// the first, idle_timeout between requests), reads it within the limits, answers it (a request
// that cannot be read is refused in its surface's words and the connection closes), counts and
// logs it, and keeps the connection alive while the client and the drain allow. A streamed answer
// ends the connection. Transport errors end the connection; they are never thrown.
//
// Must be spawned on the connection's own strand, the socket's executor, where every step runs.
// `slot` is the connection's place under the caps, given back when the coroutine's frame is
// destroyed, even when it never ran.
boost::asio::awaitable<void> run_session(session_services services, boost::asio::ip::tcp::socket socket,
                                         std::shared_ptr<boost::asio::ssl::context> tls,
                                         connection_caps::slot slot);

} // namespace reqstore::http
