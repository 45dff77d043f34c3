// The server's TLS context, built from files, and its reload: a new context for new connections,
// while each open connection keeps the one it was accepted with.
#include "tls_identity.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

namespace reqstore::http
{
namespace ssl = boost::asio::ssl;

namespace
{

// TLS 1.2 suites with forward secrecy and authenticated encryption only (Mozilla's "intermediate"
// list without finite-field Diffie-Hellman). TLS 1.3's own suites are all of that kind and stay as
// OpenSSL sets them.
constexpr const char* tls12_suites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Names the session cache's entries, which OpenSSL requires when client certificates are verified.
constexpr unsigned char session_context[] = "reqstore";

core::failure tls_failure(std::string what)
{
    return core::failure(core::errc::internal, std::move(what));
}

// Whether `path` can be opened for reading; otherwise why not, naming `key` and the path. OpenSSL's
// own message for a missing file ("system lib") does not say that.
std::optional<core::failure> unreadable(const char* key, const std::string& path)
{
    std::ifstream file(path);
    if (file)
        return std::nullopt;
    return tls_failure(std::string("tls.") + key + ": cannot read " + path + ": " + std::strerror(errno));
}

core::failure openssl_failure(const char* key, const std::string& path, const boost::system::error_code& ec)
{
    return tls_failure(std::string("tls.") + key + ": " + path + ": " + ec.message());
}

} // namespace

core::result<std::shared_ptr<ssl::context>> make_server_context(const tls_settings& settings)
{
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    boost::system::error_code ec;

    if (auto err = unreadable("cert_file", settings.cert_file))
        return *err;
    context->use_certificate_chain_file(settings.cert_file, ec);
    if (ec)
        return openssl_failure("cert_file", settings.cert_file, ec);
    if (auto err = unreadable("key_file", settings.key_file))
        return *err;
    // OpenSSL checks that the key is the certificate's as it loads it.
    context->use_private_key_file(settings.key_file, ssl::context::pem, ec);
    if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
        return tls_failure("tls.key_file: " + settings.key_file + " is not the key of the certificate in " +
                           settings.cert_file);
    if (ec)
        return openssl_failure("key_file", settings.key_file, ec);

    if (!settings.client_ca_file.empty())
    {
        if (auto err = unreadable("client_ca_file", settings.client_ca_file))
            return *err;
        context->load_verify_file(settings.client_ca_file, ec);
        if (ec)
            return openssl_failure("client_ca_file", settings.client_ca_file, ec);
        // Tell clients which authorities their certificate must chain to.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str()))
            SSL_CTX_set_client_CA_list(native, names);
        context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);

    const int lowest = settings.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(native, lowest) != 1 ||
        SSL_CTX_set_cipher_list(native, tls12_suites) != 1)
    {
        ERR_clear_error();
        return tls_failure("tls: this OpenSSL cannot require TLS " + settings.min_version +
                           " with forward-secret AEAD suites");
    }
    // Renegotiation started by a client costs the server a handshake for each request of it, and
    // HTTP/1.1 never needs it. Compression leaks secrets (CRIME).
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // An idle keep-alive connection then holds no read and write buffers (about 34 KiB each).
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    return context;
}

core::result<std::unique_ptr<tls_identity>> tls_identity::load(tls_settings settings)
{
    auto context = make_server_context(settings);
    if (!context)
        return context.error();
    return std::unique_ptr<tls_identity>(new tls_identity(std::move(settings), std::move(*context)));
}

core::result<void> tls_identity::reload()
{
    auto context = make_server_context(settings_);
    if (!context)
        return context.error();
    std::lock_guard lock(mutex_);
    current_ = std::move(*context);
    return {};
}

std::shared_ptr<ssl::context> tls_identity::current() const
{
    std::lock_guard lock(mutex_);
    return current_;
}

} // namespace reqstore::http
