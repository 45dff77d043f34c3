// HTTPS on the listener (contract section 14, docs/OPERATIONS.md "TLS"): the server speaks only TLS
// on `listen` and plain HTTP on `listen_plain`, refuses TLS 1.0 and 1.1 (with a control that the same
// client does speak TLS 1.1 to a server that allows it), requires client certificates from its CA
// when configured, gives a handshake the header deadline, keeps the connection caps, and reloads its
// certificate on SIGHUP under load without a failed request, keeping the old pair when a reload fails.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sys/socket.h>
#include <thread>

#include "harness.hpp"
#include "webhook_support.hpp"

using namespace reqstore::test;
using reqstore::test::hooks_it::free_port;
using reqstore::test::hooks_it::temp_dir;

namespace
{
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
namespace fs = std::filesystem;

// A throwaway PKI (tests/tls/make-test-pki) in a directory removed at the end.
class test_pki
{
public:
    test_pki()
    {
        const auto made =
            run_program_to_exit(REQSTORE_SOURCE_DIR "/tests/tls/make-test-pki", {dir_.path().string()}, 60s);
        if (made.status != 0)
            throw std::runtime_error("make-test-pki failed: " + made.err);
    }

    std::string file(std::string_view name) const { return (dir_ / name).string(); }

    // A config patch serving HTTPS with the server pair (copied, so that a test can replace it).
    std::string server_config(std::string extra = {}) const
    {
        fs::copy_file(file("server.pem"), file("live.pem"), fs::copy_options::overwrite_existing);
        fs::copy_file(file("server.key"), file("live.key"), fs::copy_options::overwrite_existing);
        return R"({"tls": {"cert_file": ")" + file("live.pem") + R"(", "key_file": ")" + file("live.key") +
               "\"" + extra + "}}";
    }

private:
    temp_dir dir_;
};

// A blocking HTTPS client with a bounded wait on every read and write. Throws std::runtime_error
// (with OpenSSL's reason) when the connection, the handshake or an exchange fails.
class tls_client
{
public:
    struct identity
    {
        std::string cert_file;
        std::string key_file;
    };

    // `max_version`: the highest protocol version offered (TLS1_2_VERSION, ...), 0 for OpenSSL's.
    tls_client(std::uint16_t port, const std::string& ca_file, std::optional<identity> mine = std::nullopt,
               int max_version = 0)
        : context_(make_context(ca_file, mine, max_version)), stream_(io_, context_)
    {
        stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
        auto& socket = stream_.next_layer();
        socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        const timeval wait{5, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
        boost::system::error_code ec;
        stream_.handshake(ssl::stream_base::client, ec);
        if (ec)
            throw std::runtime_error("TLS handshake failed: " + ec.message());
    }

    response request(http::verb method, std::string_view target, std::string_view body = {},
                     const header_list& headers = {})
    {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer dev.dev-secret");
        for (const auto& [name, value] : headers)
            req.set(name, value);
        if (!body.empty())
        {
            req.set(http::field::content_type, "application/json");
            req.body() = std::string(body);
        }
        req.prepare_payload();
        boost::system::error_code ec;
        http::write(stream_, req, ec);
        if (ec)
            throw std::runtime_error("TLS write failed: " + ec.message());
        response out;
        http::read(stream_, buffer_, out.message, ec);
        if (ec)
            throw std::runtime_error("TLS read failed: " + ec.message());
        return out;
    }

    response get(std::string_view target) { return request(http::verb::get, target); }

    // The common name of the certificate the server presented.
    std::string server_name()
    {
        X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
        if (!cert)
            return {};
        char name[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
        X509_free(cert);
        return name;
    }

    std::string protocol() { return SSL_get_version(stream_.native_handle()); }

private:
    // Everything is set on the context before the stream exists: a connection copies the context's
    // settings when it is created.
    static ssl::context make_context(const std::string& ca_file, const std::optional<identity>& mine,
                                     int max_version)
    {
        ssl::context context(ssl::context::tls_client);
        context.load_verify_file(ca_file);
        context.set_verify_mode(ssl::verify_peer);
        if (max_version != 0)
            SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
        if (mine)
        {
            context.use_certificate_chain_file(mine->cert_file);
            context.use_private_key_file(mine->key_file, ssl::context::pem);
        }
        return context;
    }

    net::io_context io_;
    ssl::context context_;
    ssl::stream<tcp::socket> stream_;
    boost::beast::flat_buffer buffer_;
};

double metric_value(client& plain, std::string_view name)
{
    for (const auto& s : parse_metrics(plain.get("/metrics").body()))
        if (s.name == name)
            return s.value;
    return -1;
}

// `openssl s_client` speaking only `version_flag` (-tls1_1, -tls1_2, ...) to `port`, at the security
// level that lets OpenSSL 3 offer TLS 1.0 and 1.1 at all, as a shell command that succeeds when a
// session was established with a verified certificate.
std::string s_client_command(std::uint16_t port, const std::string& version_flag, const std::string& ca_file)
{
    return "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + version_flag +
           " -cipher DEFAULT@SECLEVEL=0 -CAfile " + ca_file +
           " 2>&1 | grep -q 'Verify return code: 0 (ok)' && ! echo | openssl s_client -connect 127.0.0.1:" +
           std::to_string(port) + " " + version_flag + " -cipher DEFAULT@SECLEVEL=0 -CAfile " + ca_file +
           " 2>&1 | grep -q 'Cipher is (NONE)'";
}

bool s_client_connects(std::uint16_t port, const std::string& version_flag, const std::string& ca_file)
{
    return run_program_to_exit("/bin/bash", {"-c", s_client_command(port, version_flag, ca_file)}, 30s)
               .status == 0;
}

} // namespace

TEST(Tls, ListenServesOnlyHttpsAndListenPlainServesHttp)
{
    test_pki pki;
    server srv({.config = R"({"listen_plain": "127.0.0.1:0", )" + pki.server_config().substr(1)});
    const std::string plain_line = srv.next_stdout_line();
    ASSERT_TRUE(starts_with(plain_line, "listening on 127.0.0.1:") && contains(plain_line, "(plain HTTP)"))
        << plain_line;
    const auto plain_port = static_cast<std::uint16_t>(std::stoi(plain_line.substr(23)));

    tls_client secure(srv.port(), pki.file("ca.pem"));
    auto health = secure.get("/healthz");
    EXPECT_EQ(health.status(), 200u) << health;
    EXPECT_EQ(secure.server_name(), "reqstore test server");
    auto created =
        secure.request(http::verb::post, "/v1/requests", R"({"type":"request","title":"over TLS"})");
    ASSERT_EQ(created.status(), 201u) << created;
    const std::string id = text(created.object(), "id");
    EXPECT_EQ(secure.get(path_of(id)).status(), 200u) << "keep-alive over TLS";

    // Plain HTTP on the TLS port gets no HTTP answer: the bytes are not a ClientHello.
    client confused(srv.port(), 5s);
    confused.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto got = confused.drain(5s);
    EXPECT_FALSE(contains(got.data, "HTTP/1.1 200")) << got.data;

    client plain(plain_port);
    EXPECT_EQ(get_record(plain, id).at("title").as_string(), "over TLS");
    EXPECT_GE(metric_value(plain, "reqstore_tls_handshake_failures_total"), 1.0);
}

TEST(Tls, RefusesTls11AndTls10WhileTheSameClientSpeaksTls11ToAServerThatAllowsIt)
{
    test_pki pki;
    server srv({.config = pki.server_config()});
    EXPECT_TRUE(s_client_connects(srv.port(), "-tls1_2", pki.file("ca.pem"))) << "TLS 1.2 is served";
    EXPECT_TRUE(s_client_connects(srv.port(), "-tls1_3", pki.file("ca.pem"))) << "TLS 1.3 is served";
    EXPECT_FALSE(s_client_connects(srv.port(), "-tls1_1", pki.file("ca.pem"))) << "TLS 1.1 must be refused";
    EXPECT_FALSE(s_client_connects(srv.port(), "-tls1", pki.file("ca.pem"))) << "TLS 1.0 must be refused";

    // The control: OpenSSL's own test server, told to allow TLS 1.1, is reached by the same command,
    // so the refusals above are the server's and not the client's.
    const std::string port = std::to_string(free_port());
    const std::string control =
        "openssl s_server -accept 127.0.0.1:" + port + " -cert " + pki.file("server.pem") + " -key " +
        pki.file("server.key") +
        " -tls1_1 -cipher DEFAULT@SECLEVEL=0 -quiet </dev/null >/dev/null 2>&1 &\n"
        "pid=$!\n"
        "status=1\n"
        "for i in $(seq 50); do\n"
        "  if " +
        s_client_command(static_cast<std::uint16_t>(std::stoi(port)), "-tls1_1", pki.file("ca.pem")) +
        "; then status=0; break; fi\n"
        "  sleep 0.1\n"
        "done\n"
        "kill $pid\n"
        "wait $pid 2>/dev/null\n"
        "exit $status\n";
    EXPECT_EQ(run_program_to_exit("/bin/bash", {"-c", control}, 60s).status, 0)
        << "the control: s_client must reach a TLS 1.1 server";
}

TEST(Tls, MinVersion13RefusesTls12)
{
    test_pki pki;
    server srv({.config = pki.server_config(R"(, "min_version": "1.3")")});
    EXPECT_FALSE(s_client_connects(srv.port(), "-tls1_2", pki.file("ca.pem")));
    EXPECT_TRUE(s_client_connects(srv.port(), "-tls1_3", pki.file("ca.pem")));
    tls_client modern(srv.port(), pki.file("ca.pem"));
    EXPECT_EQ(modern.protocol(), "TLSv1.3");
}

TEST(Tls, MutualTlsServesOnlyClientsWithACertificateFromItsCa)
{
    test_pki pki;
    server srv({.config = pki.server_config(R"(, "client_ca_file": ")" + pki.file("client-ca.pem") + "\"")});
    tls_client member(srv.port(), pki.file("ca.pem"),
                      tls_client::identity{pki.file("client.pem"), pki.file("client.key")});
    auto r = member.get("/healthz");
    EXPECT_EQ(r.status(), 200u) << r;

    // In TLS 1.3 the server judges the client's certificate after the client's side of the handshake
    // is done, so a refused client learns it at its first exchange.
    const auto refused = [&](std::optional<tls_client::identity> who, int max_version)
    {
        try
        {
            tls_client c(srv.port(), pki.file("ca.pem"), who, max_version);
            c.get("/healthz");
            return false;
        }
        catch (const std::runtime_error&)
        {
            return true;
        }
    };
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION})
    {
        EXPECT_TRUE(refused(std::nullopt, version)) << "no certificate, version " << version;
        EXPECT_TRUE(
            refused(tls_client::identity{pki.file("stranger.pem"), pki.file("stranger.key")}, version))
            << "a certificate from another CA, version " << version;
        EXPECT_FALSE(refused(tls_client::identity{pki.file("client.pem"), pki.file("client.key")}, version))
            << "the control: a certificate from the CA, version " << version;
    }
}

TEST(Tls, AHandshakeHasTheHeaderDeadline)
{
    test_pki pki;
    server srv({.config = R"({"limits": {"header_timeout": 1}, )" + pki.server_config().substr(1)});
    // Silent after connecting, and stalled after the first bytes of a ClientHello.
    for (std::string_view sent : {std::string_view(), std::string_view("\x16\x03\x01\x02\x00", 5)})
    {
        client slow(srv.port(), 10s);
        slow.open();
        if (!sent.empty())
            slow.send_raw(sent);
        const auto started = std::chrono::steady_clock::now();
        const auto got = slow.drain(8s);
        const auto waited = std::chrono::steady_clock::now() - started;
        EXPECT_TRUE(got.closed) << "the server must close a connection whose handshake stalls";
        EXPECT_LT(waited, 4s);
    }
}

TEST(Tls, TheConnectionCapsHoldOverTls)
{
    test_pki pki;
    server srv(
        {.config = R"({"limits": {"max_connections_per_address": 2}, )" + pki.server_config().substr(1)});
    tls_client first(srv.port(), pki.file("ca.pem"));
    tls_client second(srv.port(), pki.file("ca.pem"));
    EXPECT_EQ(first.get("/healthz").status(), 200u);
    EXPECT_THROW(tls_client(srv.port(), pki.file("ca.pem")).get("/healthz"), std::runtime_error)
        << "a third connection from one address must be closed";
    EXPECT_EQ(second.get("/healthz").status(), 200u);
}

TEST(Tls, SighupReloadsTheCertificateUnderLoadWithoutAFailedRequest)
{
    test_pki pki;
    server srv({.config = pki.server_config()});
    std::atomic<bool> stop{false};
    std::atomic<int> requests{0};
    std::atomic<int> failures{0};
    std::mutex failure_mutex;
    std::string first_failure;
    std::vector<std::thread> workers;
    for (int t = 0; t < 6; ++t)
        workers.emplace_back(
            [&, t]
            {
                // Half keep one connection for the whole run; half open a new one every 5 requests.
                std::optional<tls_client> c;
                for (int i = 0; i < 100000 && !stop.load(); ++i)
                {
                    try
                    {
                        if (!c || (t % 2 == 1 && i % 5 == 0))
                            c.emplace(srv.port(), pki.file("ca.pem"));
                        const auto r = c->request(http::verb::post, "/v1/requests", R"({"type":"request"})");
                        if (r.status() != 201)
                            throw std::runtime_error("status " + std::to_string(r.status()));
                        requests.fetch_add(1);
                    }
                    catch (const std::exception& e)
                    {
                        failures.fetch_add(1);
                        std::lock_guard lock(failure_mutex);
                        if (first_failure.empty())
                            first_failure = e.what();
                        c.reset();
                    }
                }
            });

    std::this_thread::sleep_for(500ms);
    fs::copy_file(pki.file("server2.pem"), pki.file("live.pem"), fs::copy_options::overwrite_existing);
    fs::copy_file(pki.file("server2.key"), pki.file("live.key"), fs::copy_options::overwrite_existing);
    srv.send_signal(SIGHUP);
    EXPECT_TRUE(srv.log_contains("TLS certificate reloaded"));
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(tls_client(srv.port(), pki.file("ca.pem")).server_name(), "reqstore test server 2");

    // A reload that fails keeps the pair in use: here the key no longer matches the certificate.
    fs::copy_file(pki.file("server.key"), pki.file("live.key"), fs::copy_options::overwrite_existing);
    srv.send_signal(SIGHUP);
    EXPECT_TRUE(srv.log_contains("TLS certificate not reloaded"));
    EXPECT_TRUE(srv.log_contains("is not the key of the certificate"));
    std::this_thread::sleep_for(500ms);
    stop = true;
    for (auto& w : workers)
        w.join();

    EXPECT_EQ(failures.load(), 0) << "first failure: " << first_failure;
    EXPECT_GT(requests.load(), 50);
    EXPECT_EQ(tls_client(srv.port(), pki.file("ca.pem")).server_name(), "reqstore test server 2");
}

TEST(Tls, BadTlsSettingsAreRefusedAtStartWithTheKeyAndTheReason)
{
    test_pki pki;
    struct refused_setting
    {
        std::string patch;
        int status;
        std::string says;
    };
    const std::vector<refused_setting> cases{
        {R"({"tls": {"cert_file": ")" + pki.file("server.pem") + R"(", "key_file": ")" +
             pki.file("server.key") + R"(", "min_version": "1.1"}})",
         2, "tls.min_version: TLS 1.1 is never accepted"},
        {R"({"tls": {"cert_file": ")" + pki.file("server.pem") + R"("}})", 2, "tls.key_file: must be set"},
        {R"({"tls": {"cert_file": ")" + pki.file("missing.pem") + R"(", "key_file": ")" +
             pki.file("server.key") + R"("}})",
         1, "tls.cert_file: cannot read"},
        {R"({"tls": {"cert_file": ")" + pki.file("server.pem") + R"(", "key_file": ")" +
             pki.file("server2.key") + R"("}})",
         1, "is not the key of the certificate"},
    };
    for (const auto& c : cases)
    {
        const fs::path config = fs::temp_directory_path() / ("reqstore-tls-config-" + fresh_id() + ".json");
        std::ofstream(config) << c.patch;
        const auto run = run_to_exit({"--config", config.string(), "--listen", "127.0.0.1:0", "--data-dir",
                                      (fs::temp_directory_path() / ("reqstore-tls-" + fresh_id())).string()});
        fs::remove(config);
        EXPECT_EQ(run.status, c.status) << c.patch << "\n" << run.err;
        EXPECT_TRUE(contains(run.err, c.says)) << c.patch << "\n" << run.err;
    }
}

// Box's official Node SDK (tests/tls/box-sdk, installed by scripts/test with npm ci), unmodified,
// with its default https.Agent: the server's CA reaches it only through NODE_EXTRA_CA_CERTS. The
// control: without that variable the same call fails on the certificate.
TEST(Tls, BoxsNodeSdkUpdatesAFileRequestOverHttpsWithItsDefaultAgent)
{
    const fs::path sdk_dir = fs::path(REQSTORE_SOURCE_DIR) / "tests/tls/box-sdk";
    ASSERT_TRUE(fs::exists(sdk_dir / "node_modules/box-node-sdk"))
        << "Box's SDK is not installed: run scripts/test, or npm ci in " << sdk_dir;
    test_pki pki;
    server srv({.config = pki.server_config()});
    tls_client setup(srv.port(), pki.file("ca.pem"));
    const std::string id = "42037322";
    const auto created = setup.request(
        http::verb::put, path_of(id),
        R"({"type":"box_file_request","title":"Please upload documents","folder":{"id":"12345","type":"folder"}})",
        {{"If-None-Match", "*"}});
    ASSERT_EQ(created.status(), 201u) << created;

    const std::string base = "https://127.0.0.1:" + std::to_string(srv.port());
    const auto run_sdk = [&](std::vector<std::string> env)
    {
        std::vector<std::string> args = std::move(env);
        for (std::string a : {std::string("node"), (sdk_dir / "file_request.js").string(), base, id,
                              std::string("dev.dev-secret"), std::string("Updated through the Box SDK")})
            args.push_back(a);
        return run_program_to_exit("/usr/bin/env", args, 60s);
    };

    const auto untrusted = run_sdk({});
    EXPECT_NE(untrusted.status, 0) << "without the CA, the SDK must refuse the certificate\n"
                                   << untrusted.out;
    EXPECT_TRUE(contains(untrusted.err, "certificate")) << untrusted.err;

    const auto trusted = run_sdk({"NODE_EXTRA_CA_CERTS=" + pki.file("ca.pem")});
    ASSERT_EQ(trusted.status, 0) << trusted.err;
    const auto answers = parse_json(trusted.out).as_object();
    EXPECT_EQ(text(answers.at("read").as_object(), "title"), "Please upload documents");
    EXPECT_EQ(text(answers.at("read").as_object(), "etag"), "1");
    EXPECT_EQ(text(answers.at("updated").as_object(), "title"), "Updated through the Box SDK");
    EXPECT_EQ(text(answers.at("updated").as_object(), "etag"), "2");
    const auto stored = setup.get(path_of(id));
    EXPECT_EQ(text(stored.object(), "title"), "Updated through the Box SDK");
    EXPECT_EQ(stored.header("ETag"), "\"2\"");
}

// A seed document's own client over HTTPS: DocSpring's curl example as written (curl's defaults:
// `-d` labels the body form-urlencoded), with only the host replaced and the CA given to curl.
TEST(Tls, DocSpringsCurlExampleWorksOverHttpsAsWritten)
{
    test_pki pki;
    server srv({.config = pki.server_config()});
    tls_client setup(srv.port(), pki.file("ca.pem"));
    const std::string id = "drq_000000000000000001";
    ASSERT_EQ(
        setup
            .request(http::verb::put, path_of(id),
                     R"({"type":"docspring_data_request","email":"jdoe@example.com","name":"John Doe"})",
                     {{"If-None-Match", "*"}})
            .status(),
        201u);
    const auto run = run_program_to_exit(
        "/usr/bin/curl",
        {"-s", "-X", "PUT", "https://127.0.0.1:" + std::to_string(srv.port()) + "/api/v1/data_requests/" + id,
         "-u", "dev:dev-secret", "-d",
         R"({ "auth_type": "oauth", "auth_provider": "google", "auth_session_started_at": "2018-10-23T13:00:00Z" })",
         "--cacert", pki.file("ca.pem")},
        30s);
    ASSERT_EQ(run.status, 0) << run.err;
    const auto answer = parse_json(run.out).as_object();
    EXPECT_EQ(text(answer, "status"), "success") << run.out;
    EXPECT_EQ(text(answer.at("data_request").as_object(), "auth_provider"), "google") << run.out;
}

// Without TLS, SIGHUP has nothing to reload: the server says so and goes on serving.
TEST(Tls, SighupWithoutTlsChangesNothing)
{
    server srv;
    srv.send_signal(SIGHUP);
    EXPECT_TRUE(srv.log_contains("no TLS identity is configured, so there is nothing to reload"));
    auto c = srv.connect();
    EXPECT_EQ(c.get("/healthz").status(), 200u);
    EXPECT_EQ(srv.stop(), 0);
}
