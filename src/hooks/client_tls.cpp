// TLS for webhook deliveries: the client context, host-name verification that names a mismatch,
// and the handshake with its failures worded for the delivery log.
#include "client_tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <stdexcept>

namespace reqstore::hooks::outbound
{
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

ssl::context make_tls_context(const std::string& ca_file)
{
    ssl::context ctx(ssl::context::tls_client);
    error_code ec;
    ctx.set_default_verify_paths(ec);
    if (ec)
        throw std::runtime_error("cannot load the system's CA certificates: " + ec.message());
    if (!ca_file.empty())
    {
        ctx.load_verify_file(ca_file, ec);
        if (ec)
            throw std::runtime_error("cannot load the webhooks CA file " + ca_file + ": " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        throw std::runtime_error("cannot require TLS 1.2 or later");
    return ctx;
}

namespace
{

// host_name_verification, which also records a mismatch as the verification error, so that the
// delivery log says "hostname mismatch" rather than only "certificate verify failed".
class verify_host
{
public:
    explicit verify_host(const std::string& host) : check_(host) {}

    bool operator()(bool preverified, ssl::verify_context& ctx) const
    {
        const bool ok = check_(preverified, ctx);
        X509_STORE_CTX* store = ctx.native_handle();
        if (preverified && !ok && X509_STORE_CTX_get_error_depth(store) == 0)
            X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
        return ok;
    }

private:
    ssl::host_name_verification check_;
};

std::string tls_failure(const std::string& host, const error_code& ec, SSL* ssl)
{
    const std::string text = "TLS handshake with " + host + " failed: ";
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
        return text + "certificate not accepted (" + X509_verify_cert_error_string(verify) + ")";
    return text + ec.message();
}

} // namespace

net::awaitable<std::optional<post_result>>
start_tls(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream, const attempt_plan& plan)
{
    const target_url& target = plan.target;
    SSL* native = stream.native_handle();
    if (target.host_is_name && SSL_set_tlsext_host_name(native, target.host.c_str()) != 1)
        co_return failure("cannot set the TLS server name for " + target.host);
    error_code ec;
    stream.set_verify_callback(verify_host(target.host), ec);
    if (ec)
        co_return failure("cannot set up certificate verification: " + ec.message());
    boost::beast::get_lowest_layer(stream).expires_at(plan.deadline);
    const auto [handshake_ec] =
        co_await stream.async_handshake(ssl::stream_base::client, net::as_tuple(net::use_awaitable));
    if (handshake_ec)
        co_return expired(handshake_ec, plan) ? timed_out(plan, "in the TLS handshake with " + target.host)
                                              : failure(tls_failure(target.host, handshake_ec, native));
    co_return std::nullopt;
}

} // namespace reqstore::hooks::outbound
