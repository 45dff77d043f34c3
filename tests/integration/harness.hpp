// Integration-test harness: runs the real reqstore binary on a free loopback port with its own data
// directory, and talks HTTP/1.1 to it with a blocking client whose every step has a deadline.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace reqstore::test
{
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using millis = std::chrono::milliseconds;

// Extra request headers, sent in this order.
using header_list = std::vector<std::pair<std::string, std::string>>;

// The development key every default configuration carries.
inline constexpr std::string_view dev_key_id = "dev";
inline constexpr std::string_view dev_key_secret = "dev-secret";

// ---------------------------------------------------------------------------------------------
// Answers

// One HTTP response as the client parsed it.
struct response
{
    http::response<http::string_body> message;

    unsigned status() const { return message.result_int(); }
    const std::string& body() const { return message.body(); }

    // The value of the first header field with this name, or "" when there is none.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    // Every value of the header fields with this name, in order.
    std::vector<std::string> headers(std::string_view name) const;

    // The body parsed as JSON; throws std::runtime_error (showing the body) when it is not JSON.
    json::value json() const;
    // The body parsed as a JSON object; throws std::runtime_error when it is not one.
    json::object object() const;
};

// Status line, headers and (the start of) the body, for failure messages.
std::ostream& operator<<(std::ostream& os, const response& r);
std::string describe(const response& r);

// Parses bytes received in raw mode as one complete HTTP response (a response without a length
// ends where the bytes end). Returns nullopt when the bytes are not one.
std::optional<response> parse_response(std::string_view bytes, bool head_request = false);

// What a raw read collected: every byte that arrived, and whether the peer closed (EOF or reset).
struct raw_read
{
    std::string data;
    bool closed = false;
};

// ---------------------------------------------------------------------------------------------
// Client

// A blocking HTTP/1.1 client on one keep-alive connection to 127.0.0.1:port. Not thread-safe: use one
// per thread. Every send and receive is bounded by `timeout` (SO_RCVTIMEO/SO_SNDTIMEO plus a poll
// deadline per request), so a server that stops answering fails the test instead of hanging it.
// A transport failure throws std::runtime_error. The connection opens lazily and reopens after an
// answer that closes it.
class client
{
public:
    explicit client(std::uint16_t port, millis timeout = 10s);
    ~client();
    client(client&& other) noexcept;
    client& operator=(client&& other) noexcept;
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // The header carrying credentials on every request that does not set Authorization or X-API-Key
    // itself; defaults to `Authorization: Bearer dev.dev-secret`. nullopt sends none.
    void set_credentials(std::optional<std::pair<std::string, std::string>> header);

    // Sends one request and reads its answer. A non-empty body without a Content-Type header gets
    // `application/json`. Throws std::runtime_error on any transport failure or timeout.
    response request(http::verb method, std::string_view target, std::string_view body = {},
                     const header_list& headers = {});
    response get(std::string_view target, const header_list& headers = {});
    response head(std::string_view target, const header_list& headers = {});
    response del(std::string_view target, const header_list& headers = {});
    response post(std::string_view target, std::string_view body, const header_list& headers = {});
    response put(std::string_view target, std::string_view body, const header_list& headers = {});
    response patch(std::string_view target, std::string_view body, const header_list& headers = {});

    // --- raw mode: arbitrary bytes on the same connection
    void open();  // connects when not connected
    void close(); // drops the connection
    bool is_open() const noexcept { return fd_ >= 0; }
    // Writes all bytes (opening the connection first if needed). Returns false when the peer closed or
    // reset the connection before everything was written; throws on a timeout.
    bool send_raw(std::string_view bytes);
    // Reads one response (after send_raw). Throws on timeout, close before a full response, or bad bytes.
    response read_response(bool head_request = false);
    // Reads whatever arrives until the peer closes the connection or `within` passes.
    raw_read drain(millis within);

    // How many TCP connections this client has opened so far.
    int connections_opened() const noexcept { return connections_opened_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    std::uint16_t port_;
    millis timeout_;
    int fd_ = -1;
    int connections_opened_ = 0;
    boost::beast::flat_buffer buffer_;
    std::optional<std::pair<std::string, std::string>> credentials_;
};

// ---------------------------------------------------------------------------------------------
// Process

struct server_options
{
    std::string durability;              // --durability when not empty
    std::string config;                  // JSON merge patch written to a file and passed as --config
    int threads = 0;                     // --threads when positive
    std::vector<std::string> extra_args; // appended as they are
    // Environment variables set (or replaced) for the child on top of the test's own environment,
    // e.g. {"LD_PRELOAD", ".../libfaketime.so.1"}; the child is still the binary itself (same pid).
    std::vector<std::pair<std::string, std::string>> env;
    // Another program to run instead of reqstore (e.g. REQSTORE_SINK_BINARY): it gets only
    // `--listen 127.0.0.1:0` and extra_args, none of reqstore's options above.
    std::string binary;
    // Another build of reqstore to run (a negative control, e.g. REQSTORE_CONTROL_LANES_UNFENCED_BINARY),
    // given every option above like reqstore itself.
    std::string reqstore_binary;
};

// The conninfo of the suite's shared test PostgreSQL, when the suite runs on PostgreSQL (ctest's
// `postgres:` tests set REQSTORE_IT_POSTGRES_FILE to the file the fixture `pg` writes it to);
// nullopt otherwise. Throws when the file names no conninfo.
std::optional<std::string> test_postgres_if_any();
// The same, for a test that needs it: throws when the suite does not run on PostgreSQL.
std::string shared_test_postgres();

// The environment that runs the server under libfaketime with its wall clock shifted by `offset` (e.g.
// "+2h", "-1h"), loaded through LD_PRELOAD so that the child is the binary itself (signals reach it). The
// monotonic clock stays real.
inline std::vector<std::pair<std::string, std::string>> faketime_env(std::string offset)
{
    return {{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"},
            {"FAKETIME", std::move(offset)},
            {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}};
}

// The reqstore binary as a child process on a fresh temporary data directory (removed by the destructor
// unless REQSTORE_IT_KEEP is set). start() forks and execs it with `--listen 127.0.0.1:0` and waits, with
// a hard deadline, for its `listening on 127.0.0.1:PORT` line; its stderr goes to a log file. Call
// start/restart from the thread that runs the test: the child is killed when that thread ends.
class server
{
public:
    // Starts the server at once.
    explicit server(server_options options = {});
    // Kills a still running server with SIGKILL and removes the temporary directory.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Starts the binary on the same data directory; throws std::runtime_error (with the log) when it
    // exits or prints no valid listening line within 20 s.
    void start();
    void restart() { start(); }

    // Sends SIGTERM and waits for the exit. Returns the exit code, or -N when killed by signal N. Throws
    // std::runtime_error after killing the process when it has not exited within `deadline`.
    int stop(millis deadline = 20s);
    int stop_with(int signal, millis deadline = 20s);
    // Sends a signal and returns at once.
    void send_signal(int signal);
    // Waits for the exit, as stop() does, without sending anything.
    int wait_exit(millis deadline = 20s);
    // SIGKILL and reap.
    void kill_hard();

    // Replaces server_options::env for the next start()/restart(), e.g. to restart with another clock.
    void set_env(std::vector<std::pair<std::string, std::string>> env) { options_.env = std::move(env); }

    bool running() const noexcept { return pid_ > 0; }
    pid_t pid() const noexcept { return pid_; }
    std::uint16_t port() const noexcept { return port_; }
    const std::string& listening_line() const noexcept { return listening_line_; }
    // The next line the server writes to stdout after its listening line (e.g. listen_plain's
    // `listening on HOST:PORT (plain HTTP)`), waiting up to `within`; throws when none arrives.
    std::string next_stdout_line(millis within = 5s);
    const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
    // Everything the server wrote to stderr so far (across restarts).
    std::string log() const;
    // Waits up to `within` for `text` to appear in the log.
    bool log_contains(std::string_view text, millis within = 5s) const;

    client connect(millis timeout = 10s) const { return client(port_, timeout); }

private:
    server_options options_;
    std::filesystem::path root_;
    std::filesystem::path data_dir_;
    std::filesystem::path log_path_;
    std::filesystem::path config_path_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::uint16_t port_ = 0;
    std::string listening_line_;
};

// A client of `srv` that sends no credentials, for the public routes and the refusals of the others.
inline client anonymous(const server& srv)
{
    auto c = srv.connect();
    c.set_credentials(std::nullopt);
    return c;
}

// The bytes of a file, whole; "" when it cannot be read.
std::string read_file(const std::filesystem::path& p);

// The program to run for one this build made (REQSTORE_BINARY, REQSTORE_SINK_BINARY and the others):
// the program of the same name in the folder REQSTORE_IT_PROGRAMS names, when that variable is set,
// else `built` itself. scripts/test sets it to a sanitizer tree's bin/ folder, so that this driver,
// built once without a sanitizer, runs every suite against the sanitized programs. Paths outside this
// build's bin/ folder (openssl, bash) are returned as they are; throws when the folder lacks one.
std::string program(const std::string& built);

// Runs the binary with these arguments (argv[0] excluded) to its exit, bounded by `deadline` (after which
// it is killed and std::runtime_error thrown).
struct exit_result
{
    int status = 0; // exit code, or -N when killed by signal N
    std::string out;
    std::string err;
};
exit_result run_to_exit(const std::vector<std::string>& args, millis deadline = 15s);
// Fails the running test if reqstore-secret-scan finds a secret of tests/secrets.txt (or anything
// shaped like a webhook secret) in a data directory or a log under `dir`. Every server's directory
// is searched so when the server object goes (docs/RELIABILITY.md, "Keys and secrets").
void expect_no_secret_in(const std::filesystem::path& dir);
// The same for another program (its path, then its arguments).
exit_result run_program_to_exit(const std::string& program, const std::vector<std::string>& args,
                                millis deadline = 15s);

// ---------------------------------------------------------------------------------------------
// JSON and record helpers. They throw std::runtime_error with the offending text when something is not
// what they need, which fails the test with that message.

json::value parse_json(std::string_view text);
std::string to_json(const json::value& v);

// A string / integer member; throws when absent or of another type.
std::string text(const json::object& o, std::string_view key);
std::int64_t number(const json::object& o, std::string_view key);
// Member names in their order.
std::vector<std::string> keys_of(const json::object& o);

// "\"3\"" for 3.
std::string etag_of(std::int64_t version);
// "/v1/requests/" + id.
std::string path_of(std::string_view id);
// A fresh id of the generic type's format: "req_" + 10 Crockford chars of time + 10 random.
std::string fresh_id();
// An id of the right format that names no record.
inline constexpr std::string_view unknown_id = "req_00000000000000000000";

// POST /v1/requests with this body (type "request" added when absent); throws unless 201.
json::object create_record(client& c, json::object body = {});
// GET the record; throws unless 200.
json::object get_record(client& c, std::string_view id);
// Every history entry of a record, newest first, following next_cursor.
std::vector<json::object> history_of(client& c, std::string_view id);
// Every record of the listing, following next_cursor (query without cursor, e.g. "status=active").
std::vector<json::object> list_all(client& c, std::string_view query = "");

// The answer is application/problem+json with this status and type "/problems/<slug>", and its members
// status, title, detail and instance (the request path) are there.
testing::AssertionResult is_problem(const response& r, unsigned status, std::string_view slug,
                                    std::string_view instance = {});
// The slug of a problem answer ("" when the body is no problem document).
std::string slug_of(const response& r);
// The record reads exactly as `before` and its history has exactly before.version entries.
testing::AssertionResult unchanged(client& c, const json::object& before);

// ---------------------------------------------------------------------------------------------
// Time and text helpers

using sys_time = std::chrono::system_clock::time_point;
bool is_timestamp(std::string_view s); // RFC 3339, UTC, milliseconds: 2026-11-22T04:46:31.991Z
std::optional<sys_time> parse_timestamp(std::string_view s);
std::string format_timestamp(sys_time t);
std::optional<sys_time> parse_http_date(std::string_view s);
std::string format_http_date(sys_time t);
std::string base64(std::string_view data);
std::string url_encode(std::string_view s); // percent-encodes all but unreserved characters
bool starts_with(std::string_view s, std::string_view prefix);
bool contains(std::string_view s, std::string_view part);
bool contains(const std::vector<std::string>& v, std::string_view item);

// Prometheus text exposition, one sample a line.
struct metric_sample
{
    std::string name;
    std::string labels; // the text between braces, "" when none
    double value = 0;
};
std::vector<metric_sample> parse_metrics(std::string_view text);

} // namespace reqstore::test
