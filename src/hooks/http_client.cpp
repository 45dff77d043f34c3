// The webhook client: one POST per call over a checked, verified, deadline-bounded connection, and a
// small per-target pool of idle keep-alive connections.
#include <reqstore/hooks/http_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <sys/socket.h>
#include <unordered_map>

namespace reqstore::hooks
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace urls = boost::urls;
using tcp = net::ip::tcp;
using net::as_tuple;
using net::use_awaitable;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

namespace
{

constexpr std::size_t header_limit = 16 * 1024;
// Interim (1xx) answers before the real one; a server sending more is not worth waiting for.
constexpr int max_interim_answers = 4;

// ---- the target ---------------------------------------------------------------------------------

struct target_url
{
    bool tls = false;
    bool host_is_name = false; // false for an IP literal: no SNI then (RFC 6066 section 3)
    std::string host;          // without brackets: what is resolved and what the certificate must name
    std::string port;
    std::string host_header;
    std::string target; // path and query
    std::string pool_key;
};

// Host names are letters, digits, '-', '.' and (in practice) '_'; anything else, decoded from a
// percent-escape, could smuggle bytes into the Host header.
bool plausible_host_name(std::string_view name)
{
    return !name.empty() && std::all_of(name.begin(), name.end(),
                                        [](char c) {
                                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                                   c == '-' || c == '.' || c == '_';
                                        });
}

std::optional<target_url> parse_target(std::string_view url, std::string& error)
{
    const auto parsed = urls::parse_absolute_uri(url);
    if (!parsed)
    {
        // Boost.URL's own messages ("mismatch") would not help the reader of a delivery log.
        error = "not an absolute URL";
        return std::nullopt;
    }
    const urls::url_view& u = *parsed;
    target_url t;
    std::string default_port;
    switch (u.scheme_id())
    {
    case urls::scheme::http:
        default_port = "80";
        break;
    case urls::scheme::https:
        t.tls = true;
        default_port = "443";
        break;
    default:
        error = "unsupported URL scheme (only http and https)";
        return std::nullopt;
    }
    if (u.has_userinfo())
    {
        error = "URLs with user information are not supported";
        return std::nullopt;
    }

    bool bracketed = false;
    switch (u.host_type())
    {
    case urls::host_type::ipv4:
        t.host = u.host_ipv4_address().to_string();
        break;
    case urls::host_type::ipv6:
        t.host = u.host_ipv6_address().to_string();
        bracketed = true;
        break;
    case urls::host_type::name:
        t.host = u.host_name();
        std::transform(t.host.begin(), t.host.end(), t.host.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        t.host_is_name = true;
        if (t.host.empty())
        {
            error = "URL without a usable host";
            return std::nullopt;
        }
        if (!plausible_host_name(t.host))
        {
            error = "invalid host name in URL";
            return std::nullopt;
        }
        break;
    default:
        error = "URL without a usable host";
        return std::nullopt;
    }

    t.port = default_port;
    if (u.has_port() && !u.port().empty())
    {
        // url_view::port_number() does not reject numbers beyond 65535, so the digits are read here.
        unsigned number = 0;
        const std::string_view digits = u.port();
        const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
        if (err != std::errc() || end != digits.data() + digits.size() || number == 0 || number > 65535)
        {
            error = "invalid port in URL";
            return std::nullopt;
        }
        t.port = std::to_string(number);
    }

    const std::string host_part = bracketed ? "[" + t.host + "]" : t.host;
    t.host_header = t.port == default_port ? host_part : host_part + ":" + t.port;
    t.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query())
        t.target += "?" + std::string(u.encoded_query());
    t.pool_key = std::string(u.scheme()) + "://" + host_part + ":" + t.port;
    return t;
}

// Header names and values come from our own code, but a CR or LF would split the request.
bool safe_header(std::string_view name, std::string_view value)
{
    const auto bad = [](char c)
    {
        return c == '\r' || c == '\n' || c == '\0';
    };
    return !name.empty() && std::none_of(name.begin(), name.end(), bad) &&
           name.find(':') == std::string_view::npos && std::none_of(value.begin(), value.end(), bad);
}

// Everything one post needs, fixed before the first byte is sent and shared by its (at most two) tries.
struct attempt_plan
{
    target_url target;
    bhttp::request<bhttp::string_body> message;
    clock_type::time_point deadline;
    std::chrono::milliseconds timeout;
    std::size_t max_body = 0;
};

post_result failure(std::string error)
{
    post_result r;
    r.what = post_result::outcome::failed;
    r.error = std::move(error);
    return r;
}

post_result timed_out(const attempt_plan& plan, std::string_view while_doing)
{
    return failure("timed out after " + std::to_string(plan.timeout.count()) + " ms " +
                   std::string(while_doing));
}

// Whether an operation failed because the attempt's deadline passed. The TLS layer may report the
// closed socket under its own code, so the clock is asked too.
bool expired(const error_code& ec, const attempt_plan& plan)
{
    return ec == beast::error::timeout || clock_type::now() >= plan.deadline;
}

// ---- connections and their pool -----------------------------------------------------------------

// One connection to one target, used by one coroutine at a time and only on `executor` (its strand:
// Beast's stream timers need one when the io_context has several threads).
struct connection
{
    explicit connection(net::any_io_executor strand) : executor(std::move(strand)) {}

    beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

    net::any_io_executor executor;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer{64 * 1024};
};

// An idle connection is usable if the server has neither closed it nor sent anything unasked: a
// non-blocking peek must find nothing to read.
bool still_open(connection& c)
{
    auto& socket = c.tcp().socket();
    if (!socket.is_open() || c.buffer.size() != 0)
        return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Idle keep-alive connections per target. Shared with the sweeper's timer handler (by weak_ptr) so that
// the client can be destroyed while a sweep is scheduled.
class idle_pool : public std::enable_shared_from_this<idle_pool>
{
public:
    idle_pool(net::any_io_executor executor, std::size_t max_per_target,
              std::chrono::milliseconds idle_timeout)
        : max_per_target_(max_per_target), idle_timeout_(idle_timeout), sweeper_(std::move(executor))
    {
    }

    // The most recently used live connection to `key`, or null. Expired and dead ones met on the way
    // are closed.
    std::unique_ptr<connection> take(const std::string& key)
    {
        std::vector<std::unique_ptr<connection>> dropped; // closed after the lock is released
        std::unique_ptr<connection> found;
        {
            std::lock_guard lock(mutex_);
            const auto it = idle_.find(key);
            if (it == idle_.end())
                return nullptr;
            const auto now = clock_type::now();
            auto& list = it->second;
            while (!list.empty() && !found)
            {
                entry e = std::move(list.back());
                list.pop_back();
                if (e.expires > now && still_open(*e.conn))
                    found = std::move(e.conn);
                else
                    dropped.push_back(std::move(e.conn));
            }
            if (list.empty())
                idle_.erase(it);
        }
        return found;
    }

    // Keeps `c` for later reuse, dropping the oldest idle connection to `key` if there are too many.
    void put(const std::string& key, std::unique_ptr<connection> c)
    {
        std::vector<std::unique_ptr<connection>> dropped;
        {
            std::lock_guard lock(mutex_);
            if (closed_ || max_per_target_ == 0)
            {
                dropped.push_back(std::move(c));
                return;
            }
            auto& list = idle_[key];
            if (list.size() >= max_per_target_)
            {
                dropped.push_back(std::move(list.front().conn));
                list.erase(list.begin());
            }
            const auto expires = clock_type::now() + idle_timeout_;
            list.push_back({std::move(c), expires});
            schedule_sweep_locked(expires);
        }
    }

    // Closes every idle connection; with `for_good`, later put()s close theirs at once too.
    void close_all(bool for_good)
    {
        decltype(idle_) dropped;
        {
            std::lock_guard lock(mutex_);
            closed_ = closed_ || for_good;
            dropped.swap(idle_);
            // A pending sweep would keep the io_context busy until idle_timeout for nothing.
            sweeper_.cancel();
        }
    }

private:
    struct entry
    {
        std::unique_ptr<connection> conn;
        clock_type::time_point expires;
    };

    void schedule_sweep_locked(clock_type::time_point when)
    {
        if (sweep_scheduled_)
            return;
        sweep_scheduled_ = true;
        sweeper_.expires_at(when);
        sweeper_.async_wait(
            [weak = weak_from_this()](error_code)
            {
                if (const auto self = weak.lock())
                    self->sweep();
            });
    }

    // Closes expired and dead idle connections, then waits for the next expiry, if any. Runs after a
    // cancellation too: a put() may have come after it and relied on this sweep.
    void sweep()
    {
        std::vector<std::unique_ptr<connection>> dropped;
        std::lock_guard lock(mutex_);
        sweep_scheduled_ = false;
        if (closed_)
            return;
        const auto now = clock_type::now();
        std::optional<clock_type::time_point> next;
        for (auto it = idle_.begin(); it != idle_.end();)
        {
            auto& list = it->second;
            for (auto e = list.begin(); e != list.end();)
                if (e->expires <= now || !still_open(*e->conn))
                {
                    dropped.push_back(std::move(e->conn));
                    e = list.erase(e);
                }
                else
                {
                    next = next ? std::min(*next, e->expires) : e->expires;
                    ++e;
                }
            it = list.empty() ? idle_.erase(it) : std::next(it);
        }
        if (next)
            schedule_sweep_locked(*next);
    }

    // Constant after construction.
    const std::size_t max_per_target_;
    const std::chrono::milliseconds idle_timeout_;

    // Guarded by mutex_ (the timer too: it is only touched with the mutex held).
    std::mutex mutex_;
    std::unordered_map<std::string, std::vector<entry>> idle_;
    net::steady_timer sweeper_;
    bool sweep_scheduled_ = false;
    bool closed_ = false;
};

// ---- TLS ----------------------------------------------------------------------------------------

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

// ---- one exchange -------------------------------------------------------------------------------

struct exchange_result
{
    post_result result;
    bool keep = false;               // a complete keep-alive answer: the connection may be reused
    bool dead_before_answer = false; // a reused connection failed before any byte of the answer
};

// Sends the request and reads the answer on `stream`. Reads the header, then at most `plan.max_body`
// bytes of the body; an answer cut off there (or by an error after its header) still counts as
// responded, but its connection is not reused.
template <class Stream>
net::awaitable<exchange_result> exchange_on(Stream& stream, beast::flat_buffer& buffer,
                                            const attempt_plan& plan, bool reused)
{
    exchange_result out;
    auto& lowest = beast::get_lowest_layer(stream);

    lowest.expires_at(plan.deadline);
    const auto [write_ec, written] =
        co_await bhttp::async_write(stream, plan.message, as_tuple(use_awaitable));
    if (write_ec)
    {
        out.dead_before_answer = reused && !expired(write_ec, plan);
        out.result = expired(write_ec, plan) ? timed_out(plan, "sending the request")
                                             : failure("sending the request failed: " + write_ec.message());
        co_return out;
    }

    // Nothing below ever holds more than max_body bytes of the body: the parser hands them to `chunk`.
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    for (int interim = 0;; ++interim)
    {
        parser.emplace();
        parser->header_limit(header_limit);
        parser->body_limit(boost::none); // the loop below stops reading at max_body instead
        lowest.expires_at(plan.deadline);
        const auto [read_ec, n] =
            co_await bhttp::async_read_header(stream, buffer, *parser, as_tuple(use_awaitable));
        if (read_ec)
        {
            const bool nothing_read = interim == 0 && !parser->got_some() && buffer.size() == 0;
            out.dead_before_answer = reused && nothing_read && !expired(read_ec, plan);
            out.result = expired(read_ec, plan) ? timed_out(plan, "waiting for the answer")
                                                : failure("reading the answer failed: " + read_ec.message());
            co_return out;
        }
        const unsigned status = parser->get().result_int();
        if (status / 100 != 1 || status == 101)
            break;
        if (interim == max_interim_answers)
        {
            out.result = failure("too many interim (1xx) answers");
            co_return out;
        }
    }

    out.result.what = post_result::outcome::responded;
    out.result.status = parser->get().result_int();
    std::array<char, 8192> chunk;
    bool complete = true;
    while (!parser->is_done())
    {
        const std::size_t room = plan.max_body - out.result.body.size();
        if (room == 0)
        {
            complete = false;
            break;
        }
        const std::size_t offered = std::min(room, chunk.size());
        parser->get().body().data = chunk.data();
        parser->get().body().size = offered;
        lowest.expires_at(plan.deadline);
        const auto [read_ec, n] =
            co_await bhttp::async_read(stream, buffer, *parser, as_tuple(use_awaitable));
        out.result.body.append(chunk.data(), offered - parser->get().body().size);
        if (read_ec && read_ec != bhttp::error::need_buffer)
        {
            complete = false;
            break;
        }
    }
    out.keep = complete && parser->get().keep_alive() && buffer.size() == 0;
    co_return out;
}

struct resolved
{
    error_code ec;
    tcp::resolver::results_type results;
    bool timed_out = false;
};

// Resolves host:port, giving up at `deadline`. The system resolver cannot be interrupted, so a late
// lookup runs on and its answer is dropped; the shared state lives until whichever side finishes last.
// Must run on a strand, which serialises the lookup's handler with this coroutine.
net::awaitable<resolved> resolve(const std::string& host, const std::string& port,
                                 clock_type::time_point deadline)
{
    const auto ex = co_await net::this_coro::executor;
    struct state
    {
        explicit state(const net::any_io_executor& e) : resolver(e), done(e) {}
        tcp::resolver resolver;
        net::steady_timer done;
        resolved answer;
        bool finished = false;
    };
    const auto s = std::make_shared<state>(ex);
    s->done.expires_at(deadline);
    s->resolver.async_resolve(host, port, tcp::resolver::numeric_service,
                              net::bind_executor(ex,
                                                 [s](error_code ec, tcp::resolver::results_type results)
                                                 {
                                                     s->answer.ec = ec;
                                                     s->answer.results = std::move(results);
                                                     s->finished = true;
                                                     s->done.cancel();
                                                 }));
    co_await s->done.async_wait(as_tuple(use_awaitable));
    if (!s->finished)
    {
        s->resolver.cancel();
        resolved late;
        late.timed_out = true;
        co_return late;
    }
    co_return s->answer;
}

} // namespace

// ---- the client ---------------------------------------------------------------------------------

struct http_client::impl
{
    struct attempt
    {
        post_result result;
        std::unique_ptr<connection> reusable; // set when the connection may go back to the pool
        bool dead_before_answer = false;
    };

    impl(net::any_io_executor executor, const network_policy& policy, client_options options)
        : executor_(std::move(executor)), policy_(policy), options_(std::move(options)),
          tls_(make_tls_context(options_.ca_file)),
          pool_(std::make_shared<idle_pool>(executor_, options_.max_idle_per_target, options_.idle_timeout))
    {
    }

    ~impl() { pool_->close_all(true); }

    net::awaitable<post_result> post(post_request request);
    net::awaitable<attempt> connect_and_exchange(const attempt_plan& plan);
    net::awaitable<attempt> exchange(std::unique_ptr<connection> conn, const attempt_plan& plan, bool reused);

    // Constant after construction. An ssl::context may be shared by threads once set up (OpenSSL only
    // reads it to create each connection's SSL object).
    net::any_io_executor executor_;
    const network_policy& policy_;
    const client_options options_;
    ssl::context tls_;
    // The pointer is constant; the pool guards itself.
    std::shared_ptr<idle_pool> pool_;
};

net::awaitable<post_result> http_client::impl::post(post_request request)
{
    const auto start = clock_type::now();
    std::string error;
    auto target = parse_target(request.url, error);
    if (!target)
        co_return failure(error);

    attempt_plan plan;
    plan.deadline = start + request.timeout;
    plan.timeout = request.timeout;
    plan.max_body = options_.max_response_bytes;
    plan.message.method(bhttp::verb::post);
    plan.message.target(target->target);
    plan.message.version(11);
    plan.message.set(bhttp::field::host, target->host_header);
    plan.message.set(bhttp::field::content_type, "application/json");
    plan.message.set(bhttp::field::user_agent, "reqstore-webhooks");
    for (const auto& [name, value] : request.headers)
    {
        if (!safe_header(name, value))
            co_return failure("invalid request header " + name);
        plan.message.set(name, value);
    }
    plan.message.body() = std::move(request.body);
    plan.message.prepare_payload();
    plan.target = std::move(*target);

    // Both coroutines below are awaited, so `plan` outlives them. Each runs on its connection's strand.
    attempt a;
    bool settled = false;
    if (auto idle = pool_->take(plan.target.pool_key))
    {
        const auto strand = idle->executor;
        a = co_await net::co_spawn(strand, exchange(std::move(idle), plan, true), use_awaitable);
        // A server may close an idle connection at any moment; that race is not the target's failure.
        settled = !a.dead_before_answer;
    }
    if (!settled)
        a = co_await net::co_spawn(net::make_strand(executor_), connect_and_exchange(plan), use_awaitable);

    a.result.latency = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start);
    if (a.reusable)
        pool_->put(plan.target.pool_key, std::move(a.reusable));
    co_return std::move(a.result);
}

net::awaitable<http_client::impl::attempt> http_client::impl::connect_and_exchange(const attempt_plan& plan)
{
    const auto strand = co_await net::this_coro::executor;
    const target_url& target = plan.target;
    attempt a;

    const resolved r = co_await resolve(target.host, target.port, plan.deadline);
    if (r.timed_out)
    {
        a.result = timed_out(plan, "resolving " + target.host);
        co_return a;
    }
    if (r.ec)
    {
        a.result = failure("cannot resolve " + target.host + ": " + r.ec.message());
        co_return a;
    }

    // Only the addresses checked here are ever connected to: no second lookup, no DNS rebinding.
    std::vector<tcp::endpoint> permitted;
    std::string refused;
    for (const auto& entry : r.results)
    {
        const tcp::endpoint endpoint = entry.endpoint();
        const std::string reason = policy_.refusal_reason(endpoint.address());
        if (reason.empty())
            permitted.push_back(endpoint);
        else
            refused += (refused.empty() ? "" : ", ") + endpoint.address().to_string() + " (" + reason + ")";
    }
    if (permitted.empty())
    {
        a.result.what = post_result::outcome::refused;
        a.result.error = target.host_is_name
                             ? "the network policy refuses every address of " + target.host + ": " + refused
                             : "the network policy refuses " + refused;
        co_return a;
    }

    auto conn = std::make_unique<connection>(strand);
    if (target.tls)
        conn->tls.emplace(strand, tls_);
    else
        conn->plain.emplace(strand);
    beast::tcp_stream& lowest = conn->tcp();

    lowest.expires_at(plan.deadline);
    const auto [connect_ec, endpoint] = co_await lowest.async_connect(permitted, as_tuple(use_awaitable));
    if (connect_ec)
    {
        a.result = expired(connect_ec, plan)
                       ? timed_out(plan, "connecting to " + target.host)
                       : failure("cannot connect to " + target.host + ": " + connect_ec.message());
        co_return a;
    }

    if (target.tls)
    {
        SSL* native = conn->tls->native_handle();
        if (target.host_is_name && SSL_set_tlsext_host_name(native, target.host.c_str()) != 1)
        {
            a.result = failure("cannot set the TLS server name for " + target.host);
            co_return a;
        }
        error_code ec;
        conn->tls->set_verify_callback(verify_host(target.host), ec);
        if (ec)
        {
            a.result = failure("cannot set up certificate verification: " + ec.message());
            co_return a;
        }
        lowest.expires_at(plan.deadline);
        const auto [handshake_ec] =
            co_await conn->tls->async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
        if (handshake_ec)
        {
            a.result = expired(handshake_ec, plan)
                           ? timed_out(plan, "in the TLS handshake with " + target.host)
                           : failure(tls_failure(target.host, handshake_ec, native));
            co_return a;
        }
    }
    co_return co_await exchange(std::move(conn), plan, false);
}

net::awaitable<http_client::impl::attempt> http_client::impl::exchange(std::unique_ptr<connection> conn,
                                                                       const attempt_plan& plan, bool reused)
{
    exchange_result r;
    if (conn->tls)
        r = co_await exchange_on(*conn->tls, conn->buffer, plan, reused);
    else
        r = co_await exchange_on(*conn->plain, conn->buffer, plan, reused);
    attempt a;
    a.result = std::move(r.result);
    a.dead_before_answer = r.dead_before_answer;
    if (r.keep)
        a.reusable = std::move(conn);
    // Otherwise the connection closes here, on its strand.
    co_return a;
}

// ---- the public face ----------------------------------------------------------------------------

http_client::http_client(net::any_io_executor executor, const network_policy& policy, client_options options)
    : impl_(std::make_unique<impl>(std::move(executor), policy, std::move(options)))
{
}

http_client::~http_client() = default;

net::awaitable<post_result> http_client::post(post_request request)
{
    co_return co_await impl_->post(std::move(request));
}

void http_client::close_idle()
{
    impl_->pool_->close_all(false);
}

} // namespace reqstore::hooks
