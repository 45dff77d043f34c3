// Internal to hooks: TLS for webhook deliveries: the client context (system CAs plus an optional
// CA file, peer verification, TLS 1.2 or later) and the handshake of one connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>
#include <string>

#include "attempt_plan.hpp"

namespace reqstore::hooks::outbound
{

// The context every delivery's TLS connection is made from. Throws std::runtime_error if the
// system's CA certificates or `ca_file` (when not "") cannot be loaded, or TLS 1.2 cannot be required.
boost::asio::ssl::context make_tls_context(const std::string& ca_file);

// Sets the server name (for a host name, not an IP literal), verifies the certificate chain and
// that the certificate names plan.target.host, and completes the handshake by plan.deadline.
// nullopt when the connection is ready; otherwise the failure for the delivery log (a certificate
// that is not accepted says why). Runs on the stream's strand.
boost::asio::awaitable<std::optional<post_result>>
start_tls(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream, const attempt_plan& plan);

} // namespace reqstore::hooks::outbound
