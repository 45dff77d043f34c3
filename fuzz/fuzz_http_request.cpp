// Fuzzes the server with raw request bytes: the real parser, router, surfaces and handlers, with the
// production limits (the configuration's defaults: 1 MiB bodies, 16 KiB header sections, JSON depth 64,
// 2 MiB records, the connection caps), on a RocksDB store in a temporary directory.
//
// Once per process the server is wired as src/main.cpp wires it and listens on 127.0.0.1:0. Per input:
// connect, write the bytes, half-close, read until the server closes (or a short deadline), close.
// Oracles, besides the sanitizers:
//   - everything the server sends is a sequence of well-formed HTTP/1.1 answers, and when it closes
//     cleanly the last one is whole;
//   - every 4xx and 5xx carries a problem+json body (type, title, and status equal to the answer's) or,
//     on a seed API's surface, that surface's JSON error body;
//   - no 500: an input that makes a handler throw is a bug;
//   - after an answer that keeps the connection open, unread request bytes get an answer too (nothing
//     is dropped silently, as a session that failed with an exception would).
//
// The webhook dispatcher is built but not started: started, it would send events to the URLs fuzzed
// subscriptions name, which may be anywhere. Its routes work without it; deliveries stay queued.
#include <reqstore/api/idempotency.hpp>
#include <reqstore/api/native_api.hpp>
#include <reqstore/api/ops_api.hpp>
#include <reqstore/api/webhooks_api.hpp>
#include <reqstore/app/config.hpp>
#include <reqstore/auth/rate_limiter.hpp>
#include <reqstore/core/expiry_scheduler.hpp>
#include <reqstore/core/feed_notifier.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/hooks/http_client.hpp>
#include <reqstore/http/server.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/store/rocks_store.hpp>
#include <reqstore/surfaces/autodesk.hpp>
#include <reqstore/surfaces/seed_surfaces.hpp>

#include <boost/asio/io_context.hpp>
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
#include <thread>
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

constexpr std::array<std::string_view, ops::metrics::method_count> method_labels{
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};

// The server of src/main.cpp, minus the signal handling, the feed trimming and the started dispatcher.
// Built once and never destroyed: libFuzzer exits with the server running; `stop` at exit closes the store.
struct in_process_server
{
    std::filesystem::path directory;
    app::server_config config;
    std::unique_ptr<net::io_context> io;
    std::unique_ptr<ops::metrics> stats;
    std::unique_ptr<store::rocks_store> records;
    std::unique_ptr<core::type_registry> types;
    std::unique_ptr<core::record_service> service;
    std::unique_ptr<core::expiry_scheduler> expiry;
    std::unique_ptr<auth::key_registry> keys;
    std::unique_ptr<auth::rate_limiter> limiter;
    std::unique_ptr<api::idempotency_keys> idempotency;
    std::unique_ptr<core::feed_notifier> feed;
    std::unique_ptr<hooks::network_policy> policy;
    std::unique_ptr<hooks::http_client> client;
    std::unique_ptr<hooks::dispatcher> dispatcher;
    http::router routes;
    std::unique_ptr<http::server> server;
    std::vector<std::thread> threads;
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
    std::ofstream(config_file) << R"({"durability": "buffered", "log": {"access": false}})";
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
    s->config = production_config(s->directory);
    const auto& config = s->config;

    s->io = std::make_unique<net::io_context>(static_cast<int>(config.threads));
    s->stats = std::make_unique<ops::metrics>(method_labels);
    store::store_options store_options;
    store_options.data_dir = config.data_dir;
    store_options.durability =
        config.durability_fsync ? store::durability::fsync : store::durability::buffered;
    store_options.block_cache_bytes = config.block_cache_bytes;
    store_options.write_buffer_bytes = config.write_buffer_bytes;
    store::commit_observer observer{[s](std::size_t n, std::chrono::nanoseconds t)
                                    { s->stats->record_commit_batch(n, t); },
                                    [s](std::uint64_t sequence)
                                    {
                                        if (s->feed)
                                            s->feed->notify(sequence);
                                    }};
    auto opened = store::rocks_store::open(store_options, s->io->get_executor(), observer);
    if (!opened)
        setup_failed("cannot open the store: " + opened.error().detail);
    s->records = std::move(*opened);
    s->types = std::make_unique<core::type_registry>(config.types);
    s->service = std::make_unique<core::record_service>(
        s->io->get_executor(), *s->records, *s->types,
        core::service_options{config.require_if_match, config.limits.max_json_depth,
                              config.limits.max_record_bytes});
    s->expiry = std::make_unique<core::expiry_scheduler>(s->io->get_executor(), *s->service, *s->records);
    s->keys = std::make_unique<auth::key_registry>(config.keys);
    s->limiter = std::make_unique<auth::rate_limiter>(*s->keys);
    s->idempotency = std::make_unique<api::idempotency_keys>(s->io->get_executor(), *s->service);
    s->feed = std::make_unique<core::feed_notifier>(s->records->last_sequence());
    s->policy = std::make_unique<hooks::network_policy>(config.webhooks.allow_networks);
    hooks::client_options client_options;
    client_options.max_idle_per_target = config.webhooks.max_in_flight;
    s->client = std::make_unique<hooks::http_client>(s->io->get_executor(), *s->policy, client_options);
    s->dispatcher = std::make_unique<hooks::dispatcher>(
        s->io->get_executor(), *s->records, *s->records, *s->feed, *s->client, *s->stats,
        hooks::dispatcher_options{config.webhooks.retry_schedule_seconds, config.webhooks.timeout,
                                  config.webhooks.disable_after, config.webhooks.callback_secret,
                                  config.webhooks.max_in_flight, surfaces::autodesk_callback_body});

    api::add_operations_routes(s->routes, *s->stats,
                               [s] { return s->server && !s->server->draining() && s->records->healthy(); });
    s->routes.add_surface("/v1", api::native_surface());
    api::add_native_routes(s->routes, *s->service, *s->idempotency);
    surfaces::add_seed_surfaces(s->routes, *s->service);
    api::add_webhook_routes(s->routes, *s->dispatcher);
    api::add_feed_routes(s->routes, *s->records, *s->feed);
    s->stats->name_routes(s->routes.patterns());

    const http::server_limits limits{
        .max_body_bytes = config.limits.max_body_bytes,
        .max_header_bytes = config.limits.max_header_bytes,
        .idle_timeout = config.limits.idle_timeout,
        .header_timeout = config.limits.header_timeout,
        .body_timeout = config.limits.body_timeout,
        .write_timeout = config.limits.write_timeout,
        .max_connections = config.limits.max_connections,
        .max_connections_per_address = config.limits.max_connections_per_address,
    };
    s->server = std::make_unique<http::server>(*s->io, limits, s->routes, *s->keys, *s->limiter, *s->stats,
                                               config.access_log);
    auto endpoint = s->server->listen("127.0.0.1", 0);
    if (!endpoint)
        setup_failed(endpoint.error().detail);
    s->port = endpoint->port();
    s->server->start();
    s->expiry->start();
    s->idempotency->start();
    for (unsigned i = 0; i < config.threads; ++i)
        s->threads.emplace_back([io = s->io.get()] { io->run(); });
    the_server = s;

    std::atexit(
        []
        {
            // Stop the threads, close the store, remove the directory; the objects stay (reachable).
            the_server->io->stop();
            for (auto& t : the_server->threads)
                t.join();
            (void)the_server->records->close();
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
        parser.header_limit(static_cast<std::uint32_t>(the_server->config.limits.max_header_bytes));
        parser.body_limit(the_server->config.limits.max_body_bytes);
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
    const http::surface* surface = request ? the_server->routes.surface_for(request->path) : nullptr;
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
