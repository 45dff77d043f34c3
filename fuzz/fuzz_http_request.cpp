// Fuzzes the server with raw request bytes: the real parser, router, surfaces and handlers, with the
// production limits (the configuration's defaults: 1 MiB bodies, 16 KiB header sections, JSON depth 64,
// 2 MiB records, the connection caps), on a RocksDB store in a temporary directory.
//
// Once per process the server is built as src/main.cpp builds it (app::server) and listens on
// 127.0.0.1:0. Per input: connect, write the bytes, half-close, read until the server closes (or a short
// deadline), close.
// Oracles, besides the sanitizers:
//   - everything the server sends is a sequence of well-formed HTTP/1.1 answers, and when it closes
//     cleanly the last one is whole;
//   - every 4xx and 5xx carries a problem+json body (type, title, and status equal to the answer's) or,
//     on a seed API's surface, that surface's JSON error body;
//   - no 500: an input that makes a handler throw is a bug;
//   - after an answer that keeps the connection open, unread request bytes get an answer too (nothing
//     is dropped silently, as a session that failed with an exception would).
//
// Webhook delivery is built but not started: started, it would send events to the URLs fuzzed
// subscriptions name, which may be anywhere. Its routes work without it; deliveries stay queued.
#include <reqstore/app/config.hpp>
#include <reqstore/app/server.hpp>
#include <reqstore/http/router.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "fuzz_check.hpp"

namespace
{

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using namespace reqstore;
using reqstore::fuzz::check;
using reqstore::fuzz::oracle_failed;

// How long one input may keep its connection. The server answers and closes as soon as it reads the
// half-close, except where an answer waits by design (a long poll, the event stream): then this ends it.
constexpr auto input_deadline = std::chrono::milliseconds(2000);

// The server as src/main.cpp builds it (app::server), without webhook delivery and signal handling.
// Built once and never destroyed: libFuzzer exits with the server running; a handler at exit halts it,
// which closes the store, and removes its directory.
struct in_process_server
{
    std::filesystem::path directory;
    std::unique_ptr<app::server> server;
    std::uint16_t port = 0;
};

in_process_server* the_server = nullptr;

[[noreturn]] void setup_failed(const std::string& why)
{
    std::fprintf(stderr, "fuzz_http_request: %s\n", why.c_str());
    std::exit(2);
}

app::server_config production_config(const std::filesystem::path& directory)
{
    // The built-in defaults (config/reqstore.json) with the limits untouched. Buffered durability
    // spares an fsync per write; access logging is off so that the fuzzer's output stays readable.
    const auto config_file = directory / "config.json";
    // Backups a fuzzed request asks for land in the fuzz target's own directory.
    std::ofstream(config_file)
        << R"({"durability": "buffered", "log": {"access": false}, "backup": {"dir": ")"
        << (directory / "backups").string() << R"("}})";
    const std::string data_dir = (directory / "data").string();
    const std::string config_path = config_file.string();
    const char* argv[] = {"reqstore",    "--config",   config_path.c_str(), "--listen",
                          "127.0.0.1:0", "--data-dir", data_dir.c_str()};
    auto loaded = app::load_config(static_cast<int>(std::size(argv)), argv);
    if (auto* error = std::get_if<app::config_error>(&loaded))
        setup_failed("configuration: " + error->message);
    return std::get<app::config_outcome>(loaded).config;
}

void start_server()
{
    auto* s = new in_process_server();
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/reqstore-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data()))
        setup_failed("cannot create a temporary directory under " + pattern);
    s->directory = pattern;

    // Started, webhook delivery would send events to the URLs fuzzed subscriptions name, which may be
    // anywhere.
    auto opened =
        app::server::open(production_config(s->directory), app::server_options{.deliver_webhooks = false});
    if (!opened)
        setup_failed("cannot open the store: " + opened.error().detail);
    s->server = std::move(*opened);
    auto endpoint = s->server->listen();
    if (!endpoint)
        setup_failed(endpoint.error().detail);
    s->port = endpoint->port();
    if (auto started = s->server->start(); !started)
        setup_failed(started.error().detail);
    s->server->run_in_background();
    the_server = s;

    std::atexit(
        []
        {
            // Stop the threads, close the store, remove the directory; the objects stay (reachable).
            (void)the_server->server->halt();
            std::error_code ec;
            std::filesystem::remove_all(the_server->directory, ec);
        });
}

// ---- one exchange ---------------------------------------------------------------------------------

enum class ending
{
    closed,   // the server closed cleanly (FIN)
    reset,    // the connection was reset (the server closed with input unread)
    deadline, // the server was still talking, or waiting, at the deadline
};

struct exchange
{
    std::string received;
    ending end = ending::deadline;
};

int wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline)
{
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
        return 0;
    pollfd p{fd, events, 0};
    return poll(&p, 1, static_cast<int>(left.count()));
}

exchange send_and_receive(std::string_view bytes)
{
    const auto deadline = std::chrono::steady_clock::now() + input_deadline;
    exchange out;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        setup_failed("socket() failed");
    // An abortive close leaves no TIME_WAIT behind, so that the ephemeral ports last a long run.
    const linger abortive{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(the_server->port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS)
        setup_failed("connect() failed");
    if (wait_for(fd, POLLOUT, deadline) <= 0)
        setup_failed("connect() did not complete");

    std::size_t sent = 0;
    while (sent < bytes.size() && wait_for(fd, POLLOUT, deadline) > 0)
    {
        const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break; // the server closed early: what it answered is still to be read
        sent += static_cast<std::size_t>(n);
    }
    shutdown(fd, SHUT_WR);

    char buffer[16384];
    for (;;)
    {
        if (wait_for(fd, POLLIN, deadline) <= 0)
        {
            out.end = ending::deadline;
            break;
        }
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n > 0)
        {
            out.received.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        out.end = n == 0 ? ending::closed : ending::reset;
        break;
    }
    close(fd);
    return out;
}

// ---- what the server was sent -----------------------------------------------------------------------

struct sent_request
{
    bool head = false;
    std::string path; // as far as it was parsed
    std::size_t end =
        0; // the offset just past the request in the input (for the last: where parsing stopped)
    bool complete = false; // read whole and accepted for dispatch
};

// RFC 9112 section 6.3: the last transfer coding must be chunked; the server refuses any other (with
// a body, even to HEAD, as it refuses what it cannot read).
bool transfer_coding_acceptable(const bhttp::request<bhttp::string_body>& message)
{
    if (message.count(bhttp::field::transfer_encoding) > 1)
        return false;
    const auto it = message.find(bhttp::field::transfer_encoding);
    if (it == message.end())
        return true;
    std::string_view value = it->value();
    value = value.substr(value.rfind(',') == std::string_view::npos ? 0 : value.rfind(',') + 1);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t");
    if (first == std::string_view::npos)
        return false;
    value = value.substr(first, last - first + 1);
    return value.size() == 7 &&
           std::equal(value.begin(), value.end(), "chunked",
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

// Splits the input into requests as the server's parser (Beast's, with the same limits) reads them.
std::vector<sent_request> requests_in(std::string_view input)
{
    std::vector<sent_request> out;
    std::size_t offset = 0;
    while (offset < input.size())
    {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(the_server->server->config().limits.max_header_bytes));
        parser.body_limit(the_server->server->config().limits.max_body_bytes);
        parser.eager(true);
        boost::beast::error_code ec;
        std::size_t used = 0;
        while (!parser.is_done())
        {
            const std::size_t n =
                parser.put(net::buffer(input.data() + offset + used, input.size() - offset - used), ec);
            used += n;
            if (ec == bhttp::error::need_more && offset + used < input.size() && n > 0)
            {
                ec = {};
                continue;
            }
            break;
        }
        if (!ec && !parser.is_done())
            parser.put_eof(ec);
        sent_request r;
        r.head = parser.get().method() == bhttp::verb::head;
        const std::string_view target = parser.get().target();
        r.path = std::string(target.substr(0, target.find('?')));
        r.complete = !ec && parser.is_done() && transfer_coding_acceptable(parser.get());
        r.end = offset + used;
        const bool go_on = r.complete && used > 0;
        out.push_back(std::move(r));
        if (!go_on)
            break;
        offset += used;
    }
    return out;
}

// ---- what the server answered -----------------------------------------------------------------------

void check_error_body(const bhttp::response<bhttp::string_body>& answer, const sent_request* request,
                      std::string_view input)
{
    const unsigned status = answer.result_int();
    const std::string_view content_type = answer[bhttp::field::content_type];
    const http::surface* surface =
        request ? the_server->server->routes().surface_for(request->path) : nullptr;
    const bool native = !surface || surface->name == "native";
    if (native)
    {
        if (content_type != "application/problem+json")
            oracle_failed("every 4xx and 5xx of the native API is application/problem+json",
                          "answer " + std::to_string(status) + " with Content-Type " +
                              std::string(content_type) + " to " + std::string(input.substr(0, 200)));
    }
    else if (content_type.find("json") == std::string_view::npos)
        oracle_failed("every 4xx and 5xx of a seed surface is JSON",
                      surface->name + ": Content-Type " + std::string(content_type));
    if (request && request->head && request->complete)
        return; // the answer to HEAD has no body
    boost::system::error_code ec;
    const json::value body = json::parse(answer.body(), ec);
    if (ec || !body.is_object())
        oracle_failed("an error answer's body is a JSON object (in UTF-8)", answer.body());
    if (!native)
        return;
    const auto& problem = body.get_object();
    const auto* type = problem.if_contains("type");
    const auto* title = problem.if_contains("title");
    const auto* problem_status = problem.if_contains("status");
    if (!type || !type->is_string() || !title || !title->is_string() || !problem_status ||
        !problem_status->is_number() || problem_status->to_number<double>() != status)
        oracle_failed("a problem document has type, title and the answer's status", answer.body());
}

void check_answers(std::string_view input, const exchange& x)
{
    const std::vector<sent_request> requests = requests_in(input);
    std::string_view rest = x.received;
    std::size_t request_index = 0;
    bool connection_kept = true;
    std::size_t answered_up_to = 0; // input offset up to which requests were answered
    while (!rest.empty())
    {
        const sent_request* request = request_index < requests.size() ? &requests[request_index] : nullptr;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.eager(true);
        parser.header_limit(64 * 1024);
        // A HEAD answer has no body, except the refusal of a request that could not be read whole.
        parser.skip(request && request->head && request->complete);
        boost::beast::error_code ec;
        std::size_t used = 0;
        while (!parser.is_done())
        {
            const std::size_t n = parser.put(net::buffer(rest.data() + used, rest.size() - used), ec);
            used += n;
            if (ec == bhttp::error::need_more && used < rest.size() && n > 0)
            {
                ec = {};
                continue;
            }
            break;
        }
        if (ec == bhttp::error::need_more)
        {
            // Cut short: fine at the deadline or on a reset; not when the server closed cleanly.
            if (x.end == ending::closed)
                oracle_failed("a cleanly closed connection ends with a whole answer",
                              std::string(rest.substr(0, 300)));
            return;
        }
        if (ec)
            oracle_failed("every answer is well-formed HTTP/1.1",
                          ec.message() + ": " + std::string(rest.substr(0, 300)));
        rest.remove_prefix(used);

        const auto& answer = parser.get();
        const unsigned status = answer.result_int();
        check(status >= 100 && status <= 599, "an answer's status is a valid code");
        if (status < 200)
            continue; // 100 Continue: the final answer follows
        if (status == 500)
            oracle_failed("no input makes the server fail with 500", answer.body());
        if (status >= 400)
            check_error_body(answer, request, input);
        connection_kept = answer.keep_alive();
        if (request)
            answered_up_to = request->end;
        ++request_index;
    }
    // A kept connection with request bytes left unanswered, closed cleanly: something was dropped.
    if (x.end == ending::closed && connection_kept)
    {
        const std::string_view unanswered = input.substr(std::min(answered_up_to, input.size()));
        if (unanswered.find_first_not_of("\r\n \t") != std::string_view::npos)
            oracle_failed("request bytes after a keep-alive answer get an answer",
                          std::string(unanswered.substr(0, 300)));
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    std::signal(SIGPIPE, SIG_IGN);
    start_server();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const exchange x = send_and_receive(input);
    // REQSTORE_FUZZ_ECHO=1 shows what the server answered (when reproducing a finding).
    static const bool echo = std::getenv("REQSTORE_FUZZ_ECHO") != nullptr;
    if (echo)
        std::fprintf(stderr, "---- answer (%s) ----\n%s\n----\n",
                     x.end == ending::closed  ? "closed"
                     : x.end == ending::reset ? "reset"
                                              : "deadline",
                     x.received.c_str());
    check_answers(input, x);
    return 0;
}
