// The connection loop on Beast: read with limits and deadlines, dispatch, answer, keep alive;
// the accept loop; the drain. The only file of the server that includes Beast's HTTP parser.
#include <reqstore/core/time.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <limits>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <random>
#include <sys/resource.h>
#include <sys/socket.h>
#include <utility>

#include "dispatch.hpp"

namespace reqstore::http
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using net::as_tuple;
using net::use_awaitable;

namespace detail
{
struct native_request
{
    const bhttp::request<bhttp::string_body>& message;
};
} // namespace detail

// ---- request ---------------------------------------------------------------------------

request::request(const detail::native_request& native, method verb, std::string_view target, std::string body,
                 std::string request_id)
    : native_(native), verb_(verb), target_(target), body_(std::move(body)),
      request_id_(std::move(request_id))
{
    const auto q = target_.find('?');
    path_ = target_.substr(0, q);
    query_ = q == std::string_view::npos ? std::string_view() : target_.substr(q + 1);
}

std::string_view request::method_text() const noexcept
{
    return native_.message.method_string();
}

std::optional<std::string_view> request::header(std::string_view name) const
{
    const auto it = native_.message.find(name);
    if (it == native_.message.end())
        return std::nullopt;
    return std::string_view(it->value());
}

std::optional<std::string> request::header_list(std::string_view name) const
{
    auto [first, last] = native_.message.equal_range(name);
    if (first == last)
        return std::nullopt;
    std::string joined;
    for (auto it = first; it != last; ++it)
    {
        if (!joined.empty())
            joined += ", ";
        joined += std::string_view(it->value());
    }
    return joined;
}

// ---- connections -------------------------------------------------------------------------

// What the drain needs of a connection. Every member is touched only on the connection's
// strand, where the session runs too.
struct server::connection
{
    net::any_io_executor strand;
    beast::tcp_stream* stream = nullptr; // valid while `alive`
    bool alive = true;
    bool idle = false; // waiting for the first byte of a request
};

struct session_access
{
    // A connection's place under the caps, given back when the session's frame is destroyed (even
    // when the session never ran).
    class admission_slot
    {
    public:
        admission_slot(server& owner, net::ip::address remote) : owner_(&owner), remote_(remote) {}
        admission_slot(admission_slot&& other) noexcept
            : owner_(std::exchange(other.owner_, nullptr)), remote_(other.remote_)
        {
        }
        admission_slot(const admission_slot&) = delete;
        admission_slot& operator=(const admission_slot&) = delete;
        admission_slot& operator=(admission_slot&&) = delete;
        ~admission_slot()
        {
            if (owner_)
                owner_->release(remote_);
        }

    private:
        server* owner_;
        net::ip::address remote_;
    };

    static net::awaitable<void> run_session(server& s, tcp::socket socket, admission_slot slot);
};

namespace
{
net::awaitable<void> stream_answer(beast::tcp_stream& stream, response& answer, const std::string& request_id,
                                   const server& s, bool head_only);
} // namespace

namespace
{

method to_method(bhttp::verb v)
{
    switch (v)
    {
    case bhttp::verb::get:
        return method::get;
    case bhttp::verb::head:
        return method::head;
    case bhttp::verb::post:
        return method::post;
    case bhttp::verb::put:
        return method::put;
    case bhttp::verb::patch:
        return method::patch;
    case bhttp::verb::delete_:
        return method::delete_;
    case bhttp::verb::options:
        return method::options;
    default:
        return method::other;
    }
}

bool is_sane_request_id(std::string_view id)
{
    if (id.empty() || id.size() > 128)
        return false;
    for (char c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':')
            return false;
    return true;
}

// A process-unique id: a random prefix chosen at startup and a counter.
std::string generate_request_id()
{
    static const std::uint64_t prefix = std::random_device{}() & 0xffffffu;
    static std::atomic<std::uint64_t> counter{0};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%06llx-%010llx", static_cast<unsigned long long>(prefix),
                  static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
    return buf;
}

// The Date header, formatted at most once per second per thread.
const std::string& http_date_now()
{
    thread_local core::unix_millis cached_second = -1;
    thread_local std::string cached;
    const core::unix_millis now = core::now_millis();
    if (now / 1000 != cached_second)
    {
        cached_second = now / 1000;
        cached = core::format_http_date(now);
    }
    return cached;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) {
                                                  return std::tolower(static_cast<unsigned char>(x)) ==
                                                         std::tolower(static_cast<unsigned char>(y));
                                              });
}

// RFC 9112 section 6.3: a request whose last transfer coding is not chunked cannot be framed.
bool transfer_encoding_acceptable(const bhttp::request_parser<bhttp::string_body>& parser)
{
    const auto& fields = parser.get();
    const auto it = fields.find(bhttp::field::transfer_encoding);
    if (it == fields.end())
        return true;
    std::string_view value = it->value();
    if (fields.count(bhttp::field::transfer_encoding) > 1)
        return false;
    const auto comma = value.rfind(',');
    std::string_view last = comma == std::string_view::npos ? value : value.substr(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t'))
        last.remove_prefix(1);
    while (!last.empty() && (last.back() == ' ' || last.back() == '\t'))
        last.remove_suffix(1);
    return iequals(last, "chunked");
}

// The path of the request being read, as far as it was parsed ("" before the request line).
std::string_view target_path(const bhttp::request_parser<bhttp::string_body>& parser)
{
    const std::string_view target = parser.get().target();
    return target.substr(0, target.find('?'));
}

// Why a request could not be read; the answer closes the connection.
core::failure read_failure(const boost::system::error_code& ec, std::string_view stage)
{
    if (ec == bhttp::error::body_limit)
        return {core::errc::payload_too_large, "the body is larger than the limit"};
    if (ec == bhttp::error::header_limit)
        return {core::errc::headers_too_large, "the request's header section is larger than the limit"};
    if (ec == beast::error::timeout)
        return {core::errc::request_timeout,
                "the request's " + std::string(stage) + " did not arrive in time"};
    return {core::errc::bad_request, "the request cannot be parsed: " + ec.message()};
}

// The status line and header section of an answer, formatted in one string: cheaper than Beast's
// serializer, whose buffer sequences cost more than the rest of a small answer's formatting.
std::string answer_head(const response& r, const std::string& request_id, bool keep_alive)
{
    const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
    std::string out;
    out.reserve(160 + request_id.size() + r.content_type.size() + r.headers.size() * 48);
    out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason);
    out.append("\r\nServer: reqstore\r\nDate: ").append(http_date_now());
    out.append("\r\nX-Request-Id: ").append(request_id);
    if (!r.content_type.empty())
        out.append("\r\nContent-Type: ").append(r.content_type);
    for (const auto& [name, value] : r.headers)
        out.append("\r\n").append(name).append(": ").append(value);
    if (!keep_alive)
        out.append("\r\nConnection: close");
    // 1xx, 204 and 304 carry no length (RFC 9110 sections 8.6 and 15.3.5); a HEAD answer carries
    // the length its GET would have.
    if (r.status >= 200 && r.status != 204 && r.status != 304)
        out.append("\r\nContent-Length: ").append(std::to_string(r.body.size()));
    out.append("\r\n\r\n");
    return out;
}

void log_access(std::string_view method_text, std::string_view path, unsigned status, double latency_ms,
                const std::string& request_id, const std::string& key_id)
{
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.3f", latency_ms);
    std::string line;
    line.reserve(192 + path.size());
    line.append("{\"ts\":\"").append(core::format_rfc3339(core::now_millis()));
    line.append("\",\"level\":\"info\",\"msg\":\"request\",\"method\":");
    line.append(boost::json::serialize(boost::json::string(method_text)));
    line.append(",\"path\":").append(boost::json::serialize(boost::json::string(path)));
    line.append(",\"status\":").append(std::to_string(status));
    line.append(",\"latency_ms\":").append(latency);
    line.append(",\"request_id\":\"").append(request_id).append("\"");
    line.append(",\"key\":").append(key_id.empty() ? "null" : "\"" + key_id + "\"");
    line.append("}");
    ops::log().append_line(line);
}

// Reads a request's header section into `parser`. Beast's header_limit bounds only the part of
// the header not yet parsed (complete fields are consumed as they arrive), so the total is
// counted here: past `limit` bytes the answer is header_limit, whatever the fields' sizes.
net::awaitable<boost::system::error_code> read_header(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                      bhttp::request_parser<bhttp::string_body>& parser,
                                                      std::size_t limit)
{
    std::size_t header_bytes = 0;
    while (!parser.is_header_done())
    {
        auto [ec, n] = co_await bhttp::async_read_some(stream, buffer, parser, as_tuple(use_awaitable));
        header_bytes += n;
        if (ec)
            co_return ec;
        if (header_bytes > limit)
            co_return bhttp::error::header_limit;
    }
    co_return boost::system::error_code();
}

// Sends a streamed answer: the header with chunked transfer coding, then whatever the answer's
// stream writes, each write a chunk under the write timeout, then the last chunk.
class chunk_writer final : public stream_writer
{
public:
    chunk_writer(beast::tcp_stream& stream, const server& owner, std::chrono::milliseconds write_timeout)
        : stream_(stream), owner_(owner), write_timeout_(write_timeout)
    {
    }

    net::awaitable<bool> write(std::string_view chunk) override
    {
        if (broken_ || chunk.empty())
            co_return !broken_;
        stream_.expires_after(write_timeout_);
        auto [ec, n] = co_await net::async_write(
            stream_, bhttp::make_chunk(net::buffer(chunk.data(), chunk.size())), as_tuple(use_awaitable));
        broken_ = static_cast<bool>(ec);
        co_return !broken_;
    }

    bool stopping() const noexcept override { return owner_.draining(); }

    net::awaitable<void> finish()
    {
        if (broken_)
            co_return;
        stream_.expires_after(write_timeout_);
        co_await net::async_write(stream_, bhttp::make_chunk_last(), as_tuple(use_awaitable));
    }

private:
    beast::tcp_stream& stream_;
    const server& owner_;
    std::chrono::milliseconds write_timeout_;
    bool broken_ = false;
};

// After answering a request that will not be read to its end, stop sending and discard what
// the client still sends for a moment, so that closing does not reset the connection before
// the client has read the answer.
net::awaitable<void> lingering_close(beast::tcp_stream& stream)
{
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::milliseconds(500));
    std::array<char, 16384> sink;
    for (std::size_t total = 0; total < (4u << 20);)
    {
        auto [read_ec, n] = co_await stream.async_read_some(net::buffer(sink), as_tuple(use_awaitable));
        if (read_ec)
            break;
        total += n;
    }
    stream.socket().close(ec);
}

} // namespace

namespace
{

net::awaitable<void> stream_answer(beast::tcp_stream& stream, response& answer, const std::string& request_id,
                                   const server& s, bool head_only)
{
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(answer.status), 11};
    head.set(bhttp::field::server, "reqstore");
    head.set(bhttp::field::date, http_date_now());
    head.set("X-Request-Id", request_id);
    if (!answer.content_type.empty())
        head.set(bhttp::field::content_type, answer.content_type);
    for (auto& [name, value] : answer.headers)
        head.insert(name, value);
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer(head);
    stream.expires_after(s.write_timeout());
    auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, as_tuple(use_awaitable));
    if (ec)
        co_return;
    if (head_only)
        co_return; // HEAD: the header of the stream, without its body
    chunk_writer writer(stream, s, s.write_timeout());
    co_await answer.stream(writer);
    co_await writer.finish();
}

} // namespace

// ---- the session ---------------------------------------------------------------------

net::awaitable<void> session_access::run_session(server& s, tcp::socket socket,
                                                 [[maybe_unused]] admission_slot slot)
{
    // A new connection has header_timeout for its first header section counted from now, not from
    // its first byte: a client that connects and says nothing is cut off as soon as one that
    // trickles its header. Between requests the idle timeout applies instead.
    auto header_deadline = std::chrono::steady_clock::now() + s.limits_.header_timeout;
    bool first_request = true;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;

    auto conn = std::make_shared<server::connection>();
    conn->strand = co_await net::this_coro::executor;
    conn->stream = &stream;
    std::uint64_t conn_id;
    {
        std::lock_guard lock(s.connections_mutex_);
        conn_id = s.next_connection_id_++;
        s.connections_.emplace(conn_id, conn);
    }
    s.stats_.connection_opened();
    struct unregister
    {
        server& s;
        std::shared_ptr<server::connection>& conn;
        std::uint64_t id;
        ~unregister()
        {
            conn->alive = false;
            conn->stream = nullptr;
            s.stats_.connection_closed();
            std::lock_guard lock(s.connections_mutex_);
            s.connections_.erase(id);
        }
    } registration{s, conn, conn_id};

    bool close_lingering = false;
    for (;;)
    {
        if (buffer.size() == 0)
        {
            conn->idle = true;
            if (s.draining())
                break;
            if (first_request)
                stream.expires_at(header_deadline);
            else
                stream.expires_after(s.limits_.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), as_tuple(use_awaitable));
            conn->idle = false;
            if (ec)
                break; // a deadline passed, the client closed, or the drain cancelled the wait
            buffer.commit(n);
        }
        if (!first_request)
            header_deadline = std::chrono::steady_clock::now() + s.limits_.header_timeout;
        first_request = false;

        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(s.limits_.max_header_bytes));
        parser.body_limit(s.limits_.max_body_bytes);
        std::string request_id;
        std::optional<core::failure> failed;

        stream.expires_at(header_deadline);
        const auto header_ec = co_await read_header(stream, buffer, parser, s.limits_.max_header_bytes);
        if (header_ec == bhttp::error::end_of_stream)
            break;
        if (header_ec)
            failed = read_failure(header_ec, "header section");
        else
        {
            const auto id = parser.get().find("X-Request-Id");
            if (id != parser.get().end() && is_sane_request_id(id->value()))
                request_id = std::string(id->value());
            if (!transfer_encoding_acceptable(parser))
            {
                failed = core::failure(core::errc::bad_request,
                                       "a request's last transfer coding must be chunked");
            }
        }
        if (!failed && !parser.is_done())
        {
            const auto expect = parser.get().find(bhttp::field::expect);
            if (expect != parser.get().end() && iequals(expect->value(), "100-continue"))
            {
                static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
                stream.expires_after(s.limits_.write_timeout);
                auto [ec, n] =
                    co_await net::async_write(stream, net::buffer(continue_line), as_tuple(use_awaitable));
                if (ec)
                    break;
            }
            stream.expires_after(s.limits_.body_timeout);
            auto [body_ec, body_bytes] =
                co_await bhttp::async_read(stream, buffer, parser, as_tuple(use_awaitable));
            if (body_ec)
                failed = read_failure(body_ec, "body");
        }
        if (request_id.empty())
            request_id = generate_request_id();

        const auto started = std::chrono::steady_clock::now();
        dispatch_result result;
        bool head = false;
        std::string method_text;
        std::string path;
        method verb = method::other;
        if (failed)
        {
            // Worded by the surface of the path, as far as it arrived, like every other refusal.
            auto& message = parser.get();
            method_text = std::string(message.method_string());
            path = std::string(target_path(parser));
            const detail::native_request native{message};
            const request req(native, to_method(message.method()), message.target(), std::string(),
                              request_id);
            const surface* owner = s.routes_.surface_for(req.path());
            result.answer = owner && owner->render_failure ? owner->render_failure(*failed, req)
                                                           : problem_response(*failed, path);
            result.answer.close = true;
        }
        else
        {
            auto& message = parser.get();
            verb = to_method(message.method());
            head = verb == method::head;
            const detail::native_request native{message};
            const request req(native, verb, message.target(), std::move(message.body()), request_id);
            result = co_await dispatch(req, s.routes_, s.keys_, s.limiter_);
            method_text = std::string(req.method_text());
            path = std::string(req.path());
        }
        if (method_text.empty())
            method_text = "-";

        if (result.answer.stream)
        {
            // A streamed answer (Server-Sent Events) owns the rest of the connection.
            const unsigned status = result.answer.status;
            s.stats_.record_request(result.route == static_cast<std::size_t>(-1) ? s.stats_.unmatched_route()
                                                                                 : result.route,
                                    static_cast<std::size_t>(verb), status,
                                    std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - started));
            if (s.access_log_)
                log_access(method_text, path, status, 0.0, request_id, result.key_id);
            co_await stream_answer(stream, result.answer, request_id, s, head);
            break;
        }
        const bool keep_alive = !result.answer.close && !failed && parser.get().keep_alive() && !s.draining();
        const unsigned status = result.answer.status;
        const std::string answer = answer_head(result.answer, request_id, keep_alive);
        const bool with_body = !head && !result.answer.body.empty() && result.answer.status >= 200 &&
                               result.answer.status != 204 && result.answer.status != 304;
        const std::array<net::const_buffer, 2> pieces{
            net::buffer(answer), with_body ? net::buffer(result.answer.body) : net::const_buffer()};
        stream.expires_after(s.limits_.write_timeout);
        auto [write_ec, written] = co_await net::async_write(stream, pieces, as_tuple(use_awaitable));

        const auto latency = std::chrono::steady_clock::now() - started;
        s.stats_.record_request(result.route == static_cast<std::size_t>(-1) ? s.stats_.unmatched_route()
                                                                             : result.route,
                                static_cast<std::size_t>(verb), status,
                                std::chrono::duration_cast<std::chrono::nanoseconds>(latency));
        if (s.access_log_)
            log_access(method_text, path, status, std::chrono::duration<double, std::milli>(latency).count(),
                       request_id, result.key_id);
        if (write_ec || !keep_alive)
        {
            close_lingering = !write_ec && failed.has_value();
            break;
        }
    }
    if (close_lingering)
        co_await lingering_close(stream);
    else
    {
        boost::system::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream.socket().close(ec);
    }
}

// ---- the server --------------------------------------------------------------------------

server::server(net::io_context& io, server_limits limits, const router& routes,
               const auth::key_registry& keys, auth::rate_limiter& limiter, ops::metrics& stats,
               bool access_log)
    : io_(io), limits_(limits), routes_(routes), keys_(keys), limiter_(limiter), stats_(stats),
      access_log_(access_log), acceptor_strand_(net::make_strand(io)), acceptor_(acceptor_strand_)
{
}

server::~server() = default;

core::result<tcp::endpoint> server::listen(const std::string& host, std::uint16_t port)
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

std::uint64_t raise_open_files_limit() noexcept
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < limit.rlim_max)
    {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : limit.rlim_cur;
}

namespace
{

// The open-file limit in force now (the largest value when it cannot be read or has none).
std::uint64_t open_files_limit() noexcept
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return std::numeric_limits<std::uint64_t>::max();
    return limit.rlim_cur;
}

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
// reset.
template <class Socket>
void refuse_connection(Socket& socket, bool total_cap)
{
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    if (!ec)
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

// The most of an answer the kernel may hold unsent for a client (TCP_NOTSENT_LOWAT).
constexpr int unsent_bytes_limit = 64 << 10;

bool out_of_resources(const boost::system::error_code& ec)
{
    return ec == boost::system::errc::too_many_files_open ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == boost::system::errc::no_buffer_space || ec == boost::system::errc::not_enough_memory;
}

} // namespace

void server::start()
{
    // Every connection takes a descriptor; keep some for the store's files, the webhook client and
    // the log, which must not fail because clients took them all.
    const std::uint64_t open_files = open_files_limit();
    const std::uint64_t reserve = std::min<std::uint64_t>(1024, open_files / 2);
    const std::uint64_t descriptor_cap = open_files - reserve;
    std::uint64_t cap = limits_.max_connections == 0
                            ? descriptor_cap
                            : std::min<std::uint64_t>(limits_.max_connections, descriptor_cap);
    if (limits_.max_connections > descriptor_cap)
        ops::log().warn("limits.max_connections is more than the open-file limit allows",
                        {{"max_connections", limits_.max_connections},
                         {"open_files_limit", open_files},
                         {"connections_served", cap}});
    connection_cap_.store(static_cast<std::size_t>(cap), std::memory_order_relaxed);

    net::co_spawn(acceptor_strand_, accept_loop(),
                  [](std::exception_ptr e)
                  {
                      if (e)
                          std::rethrow_exception(e); // a failing accept loop is a bug: let it end the process
                  });
}

server::admission server::admit(const net::ip::address& remote)
{
    std::lock_guard lock(admission_mutex_);
    const std::size_t per_address = limits_.max_connections_per_address;
    if (per_address != 0)
    {
        const auto it = admitted_by_address_.find(remote);
        if (it != admitted_by_address_.end() && it->second >= per_address)
            return admission::over_address_cap;
    }
    if (admitted_ >= connection_cap_.load(std::memory_order_relaxed))
        return admission::over_total_cap;
    ++admitted_;
    if (per_address != 0)
        ++admitted_by_address_[remote];
    return admission::admitted;
}

void server::release(const net::ip::address& remote)
{
    std::lock_guard lock(admission_mutex_);
    --admitted_;
    if (limits_.max_connections_per_address == 0)
        return;
    const auto it = admitted_by_address_.find(remote);
    if (it != admitted_by_address_.end() && --it->second == 0)
        admitted_by_address_.erase(it);
}

void server::note_refusal(const net::ip::address& remote, admission why)
{
    const bool total_cap = why == admission::over_total_cap;
    stats_.connection_refused(total_cap ? ops::metrics::refusal::total_cap
                                        : ops::metrics::refusal::address_cap);
    ++refusals_unlogged_;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_refusal_log_)
        return;
    ops::log().warn(total_cap ? "connection refused: the connection cap is reached"
                              : "connection refused: the per-address connection cap is reached",
                    {{"remote", remote.to_string()},
                     {"cap", total_cap ? connection_cap_.load(std::memory_order_relaxed)
                                       : limits_.max_connections_per_address},
                     {"refused_since_last_line", refusals_unlogged_}});
    refusals_unlogged_ = 0;
    next_refusal_log_ = now + std::chrono::seconds(1);
}

net::awaitable<void> server::accept_loop()
{
    net::steady_timer pause(co_await net::this_coro::executor);
    for (;;)
    {
        auto [ec, socket] = co_await acceptor_.async_accept(net::make_strand(io_), as_tuple(use_awaitable));
        if (ec == net::error::operation_aborted || !acceptor_.is_open())
            co_return;
        if (ec)
        {
            stats_.accept_failed();
            ++accept_failures_unlogged_;
            const auto now = std::chrono::steady_clock::now();
            if (now >= next_accept_failure_log_)
            {
                ops::log().warn("accept failed", {{"error", ec.message()},
                                                  {"failures_since_last_line", accept_failures_unlogged_}});
                accept_failures_unlogged_ = 0;
                next_accept_failure_log_ = now + std::chrono::seconds(1);
            }
            // Out of descriptors or memory, nothing can be accepted until something closes: back off
            // as nginx does instead of spinning. Other failures concern one queued connection.
            pause.expires_after(out_of_resources(ec) ? std::chrono::milliseconds(100)
                                                     : std::chrono::milliseconds(1));
            co_await pause.async_wait(as_tuple(use_awaitable));
            continue;
        }
        boost::system::error_code ignored;
        const tcp::endpoint remote = socket.remote_endpoint(ignored);
        if (ignored)
        {
            socket.close(ignored); // reset while it waited in the queue: nobody to serve
            continue;
        }
        if (const admission verdict = admit(remote.address()); verdict != admission::admitted)
        {
            refuse_connection(socket, verdict == admission::over_total_cap);
            note_refusal(remote.address(), verdict);
            continue;
        }
        socket.set_option(tcp::no_delay(true), ignored);
        // Let the kernel hold little of an answer the client has not taken yet. Without a bound, a
        // reader with a tiny window has whole answers buffered for it (megabytes on loopback, where
        // the send buffer grows with a 64 KiB segment size), so the write completes, the write
        // timeout never sees the slow reader, and each such client pins kernel memory. In-flight
        // data is not limited, so throughput is not either.
        const int unsent_limit = unsent_bytes_limit;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent_limit,
                     sizeof unsent_limit);
        auto executor = socket.get_executor();
        net::co_spawn(executor,
                      session_access::run_session(*this, std::move(socket),
                                                  session_access::admission_slot(*this, remote.address())),
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
}

net::awaitable<void> server::drain(std::chrono::milliseconds deadline)
{
    co_await drain_with({}, deadline);
}

net::awaitable<void> server::drain_with(std::function<void()> wake_streams,
                                        std::chrono::milliseconds deadline)
{
    draining_.store(true, std::memory_order_release);
    if (wake_streams)
        wake_streams();
    net::post(acceptor_strand_,
              [this]
              {
                  boost::system::error_code ec;
                  acceptor_.close(ec);
              });

    const auto for_each_connection = [this](auto action)
    {
        std::lock_guard lock(connections_mutex_);
        for (auto& [id, conn] : connections_)
            net::post(conn->strand, [conn = conn, action] { action(*conn); });
    };
    // Idle connections close now; busy ones close after their answer.
    for_each_connection(
        [](connection& c)
        {
            if (c.alive && c.idle)
                c.stream->cancel();
        });

    const auto give_up = std::chrono::steady_clock::now() + deadline;
    net::steady_timer wait(co_await net::this_coro::executor);
    const auto open_connections = [this]
    {
        std::lock_guard lock(connections_mutex_);
        return connections_.size();
    };
    while (open_connections() > 0 && std::chrono::steady_clock::now() < give_up)
    {
        wait.expires_after(std::chrono::milliseconds(10));
        co_await wait.async_wait(as_tuple(use_awaitable));
    }
    if (open_connections() > 0)
    {
        ops::log().warn("drain deadline passed; closing the remaining connections",
                        {{"connections", open_connections()}});
        for_each_connection(
            [](connection& c)
            {
                boost::system::error_code ec;
                if (c.alive)
                    c.stream->socket().close(ec);
            });
        const auto last_chance = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (open_connections() > 0 && std::chrono::steady_clock::now() < last_chance)
        {
            wait.expires_after(std::chrono::milliseconds(10));
            co_await wait.async_wait(as_tuple(use_awaitable));
        }
    }
}

} // namespace reqstore::http
