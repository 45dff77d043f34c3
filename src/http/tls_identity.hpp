// Internal to the http module: the server's TLS identity (certificate chain, key, optional client
// CA, lowest protocol version) as an OpenSSL context, and its reload without dropping connections.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/server.hpp>

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>

namespace reqstore::http
{

// Builds a server context from `settings`: the chain in cert_file, the key in key_file (checked
// against the certificate), client certificates required and verified against client_ca_file when
// it is set, TLS 1.2 or 1.3 at least as min_version says, forward-secret AEAD suites only,
// no renegotiation, no compression. A failure names the file and OpenSSL's reason.
core::result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(const tls_settings& settings);

class tls_identity
{
public:
    // Loads `settings`; a failure says which file and why.
    static core::result<std::unique_ptr<tls_identity>> load(tls_settings settings);

    // Reads the files again. On success new connections use the new context; connections already
    // open keep the one they were accepted with (each holds its own reference). On failure nothing
    // changes and the failure says why. Thread-safe.
    core::result<void> reload();

    // The context a connection accepted now handshakes with. Thread-safe.
    std::shared_ptr<boost::asio::ssl::context> current() const;

private:
    tls_identity(tls_settings settings, std::shared_ptr<boost::asio::ssl::context> context)
        : settings_(std::move(settings)), current_(std::move(context))
    {
    }

    const tls_settings settings_;
    mutable std::mutex mutex_; // guards current_
    std::shared_ptr<boost::asio::ssl::context> current_;
};

} // namespace reqstore::http
