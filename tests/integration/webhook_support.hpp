// Helpers for the webhook and change-feed integration tests: receivers (reqstore-sink and the Python
// recorder), subscriptions, the delivery log, metrics, bounded polling, signatures and an SSE reader.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "harness.hpp"

#ifndef REQSTORE_SINK_BINARY
#define REQSTORE_SINK_BINARY "reqstore-sink"
#endif

namespace reqstore::test::hooks_it
{

// ---- time and polling ------------------------------------------------------------------------

// Polls `done` every `step` until it holds or `within` passes; returns its last value.
template <class Predicate>
bool eventually(Predicate done, millis within = 10s, millis step = 50ms)
{
    const auto deadline = steady::now() + within;
    for (;;)
    {
        if (done())
            return true;
        if (steady::now() >= deadline)
            return false;
        std::this_thread::sleep_for(step);
    }
}

inline std::string now_rfc3339()
{
    return format_timestamp(std::chrono::system_clock::now());
}

// ---- secrets and signatures ------------------------------------------------------------------

// "whsec_" + base64 of 32 random bytes.
inline std::string fresh_secret()
{
    std::random_device rd;
    std::string key(32, '\0');
    for (auto& ch : key)
        ch = static_cast<char>(rd() & 0xff);
    return "whsec_" + base64(key);
}

inline std::string base64_decode(std::string_view in)
{
    std::string out((in.size() / 4 + 1) * 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0)
        throw std::runtime_error("bad base64: " + std::string(in));
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i)
        --size; // EVP_DecodeBlock counts padding as zero bytes
    out.resize(size);
    return out;
}

// The Standard Webhooks signature, computed here with OpenSSL (independently of the server's signer).
inline std::string expected_signature(std::string_view secret, std::string_view id,
                                      std::string_view timestamp, std::string_view body)
{
    if (!starts_with(secret, "whsec_"))
        throw std::runtime_error("not a secret: " + std::string(secret));
    const std::string key = base64_decode(secret.substr(6));
    const std::string message = std::string(id) + "." + std::string(timestamp) + "." + std::string(body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_size);
    return "v1," + base64(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

// Whether the webhook-signature header holds the expected signature among its space-separated entries.
inline bool signature_matches(std::string_view header, const std::string& expected)
{
    std::istringstream in{std::string(header)};
    std::string entry;
    while (in >> entry)
        if (entry == expected)
            return true;
    return false;
}

// ---- ports and receivers ---------------------------------------------------------------------

// A loopback port nothing listens on right now (bound and released; nothing else should take it soon).
inline std::uint16_t free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    {
        ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

// Options that run reqstore-sink verifying `secrets`, with extra arguments, on `port` (0: a free one).
inline server_options sink_options(const std::vector<std::string>& secrets,
                                   std::vector<std::string> args = {}, std::uint16_t port = 0)
{
    server_options options;
    options.binary = REQSTORE_SINK_BINARY;
    for (const auto& s : secrets)
    {
        options.extra_args.push_back("--secret");
        options.extra_args.push_back(s);
    }
    options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
    if (port != 0)
    {
        options.extra_args.push_back("--listen"); // the last --listen wins over the harness's port 0
        options.extra_args.push_back("127.0.0.1:" + std::to_string(port));
    }
    return options;
}

inline server start_sink(const std::vector<std::string>& secrets, std::vector<std::string> args = {},
                         std::uint16_t port = 0)
{
    return server(sink_options(secrets, std::move(args), port));
}

inline server start_sink(const std::string& secret, std::vector<std::string> args = {},
                         std::uint16_t port = 0)
{
    return start_sink(std::vector<std::string>{secret}, std::move(args), port);
}

inline std::string url_of(const server& receiver, std::string_view path, std::string_view scheme = "http")
{
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(receiver.port()) + std::string(path);
}

inline client sink_client(const server& sink)
{
    client c = sink.connect(5s);
    c.set_credentials(std::nullopt);
    return c;
}

inline json::object sink_stats(client& c)
{
    auto r = c.get("/stats");
    if (r.status() != 200)
        throw std::runtime_error("GET /stats failed:\n" + describe(r));
    return r.object();
}

// A counter of the sink's totals, or of one path's when `path` is given (0 when the path is unknown).
inline std::int64_t sink_count(client& c, std::string_view counter, std::string_view path = {})
{
    const auto stats = sink_stats(c);
    if (path.empty())
        return number(stats, counter);
    const auto& by_path = stats.at("by_path").as_object();
    const auto it = by_path.find(json::string_view(path.data(), path.size()));
    return it == by_path.end() ? 0 : number(it->value().as_object(), counter);
}

// What the sink recorded for one record, in arrival order.
inline std::vector<json::object> sink_deliveries(client& c, std::string_view record)
{
    auto r = c.get("/deliveries?record=" + std::string(record));
    if (r.status() != 200)
        throw std::runtime_error("GET /deliveries failed:\n" + describe(r));
    std::vector<json::object> out;
    const auto o = r.object();
    for (const auto& d : o.at("deliveries").as_array())
        out.push_back(d.as_object());
    return out;
}

// The sink's deliveries of one record at one path.
inline std::vector<json::object> sink_deliveries(client& c, std::string_view record, std::string_view path)
{
    std::vector<json::object> out;
    for (auto& d : sink_deliveries(c, record))
        if (text(d, "path") == path)
            out.push_back(std::move(d));
    return out;
}

// The directory of this source file (the recorder script lives next to it). Not found from __FILE__: a
// compiler cache with a base directory makes that relative to the build directory, and ctest runs the
// tests from another one.
inline std::filesystem::path source_dir()
{
    return std::filesystem::path(REQSTORE_SOURCE_DIR) / "tests" / "integration";
}

// A scratch directory removed on destruction.
class temp_dir
{
public:
    temp_dir()
    {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("reqstore-hooks-it-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// One request the Python recorder received.
struct recorded
{
    std::string method;
    std::string path;
    json::object headers; // lower-case names
    std::string body;
    std::int64_t client_port = 0; // the connection it came on

    std::string header(std::string_view name) const
    {
        const auto* v = headers.if_contains(json::string_view(name.data(), name.size()));
        return v && v->is_string() ? std::string(v->get_string()) : std::string();
    }
};

// tests/integration/webhook_recorder.py as a child process: plain HTTP, or HTTPS with a certificate.
class recorder
{
public:
    explicit recorder(const temp_dir& dir, std::string cert = {}, std::string key = {})
        : out_(dir / ("recorded-" + std::to_string(counter()++) + ".jsonl"))
    {
        const auto script = dir / "webhook_recorder.py";
        if (!std::filesystem::exists(script))
        {
            std::filesystem::copy_file(source_dir() / "webhook_recorder.py", script);
            std::filesystem::permissions(script, std::filesystem::perms::owner_all);
        }
        server_options options;
        options.binary = script.string();
        options.extra_args = {"--out", out_.string()};
        if (!cert.empty())
        {
            options.extra_args.insert(options.extra_args.end(), {"--cert", cert, "--key", key});
        }
        process_.emplace(std::move(options));
    }

    server& process() { return *process_; }
    std::uint16_t port() const { return process_->port(); }

    std::vector<recorded> requests() const
    {
        std::vector<recorded> out;
        std::ifstream in(out_);
        std::string line;
        while (std::getline(in, line))
        {
            if (line.empty())
                continue;
            const auto o = parse_json(line).as_object();
            out.push_back({text(o, "method"), text(o, "path"), o.at("headers").as_object(), text(o, "body"),
                           o.at("client_port").to_number<std::int64_t>()});
        }
        return out;
    }

private:
    static int& counter()
    {
        static int n = 0;
        return n;
    }

    std::filesystem::path out_;
    std::optional<server> process_;
};

// ---- the server --------------------------------------------------------------------------------

// A config with a fast retry schedule and a short timeout; `webhooks` members replace the defaults here,
// `top` adds other top-level sections.
inline std::string hook_config(const json::object& webhooks = {}, const json::object& top = {})
{
    json::object hooks{{"retry_schedule", json::array{0.1, 0.1, 0.2}}, {"timeout", 1}};
    for (const auto& m : webhooks)
        hooks[m.key()] = m.value();
    json::object config = top;
    config["webhooks"] = std::move(hooks);
    return to_json(config);
}

inline server_options hook_server(const json::object& webhooks = {}, const json::object& top = {})
{
    server_options o;
    o.config = hook_config(webhooks, top);
    return o;
}

// POST /v1/webhooks; throws unless 201.
inline json::object subscribe(client& c, const std::string& url, json::array events,
                              const std::string& secret, std::optional<json::array> types = std::nullopt)
{
    json::object body{{"url", url}, {"events", std::move(events)}, {"secret", secret}};
    if (types)
        body["types"] = std::move(*types);
    auto r = c.post("/v1/webhooks", to_json(body));
    if (r.status() != 201)
        throw std::runtime_error("POST /v1/webhooks " + to_json(body) + " failed:\n" + describe(r));
    return r.object();
}

inline json::object subscription(client& c, std::string_view id)
{
    auto r = c.get("/v1/webhooks/" + std::string(id));
    if (r.status() != 200)
        throw std::runtime_error("GET /v1/webhooks/" + std::string(id) + " failed:\n" + describe(r));
    return r.object();
}

// The whole delivery log of a subscription, oldest first, following next_cursor.
inline std::vector<json::object> delivery_log(client& c, std::string_view subscription_id,
                                              std::string_view status = {})
{
    std::vector<json::object> out;
    std::string cursor;
    for (int page = 0; page < 100; ++page)
    {
        std::string target = "/v1/webhooks/" + std::string(subscription_id) + "/deliveries?limit=100";
        if (!status.empty())
            target += "&status=" + std::string(status);
        if (!cursor.empty())
            target += "&cursor=" + cursor;
        auto r = c.get(target);
        if (r.status() != 200)
            throw std::runtime_error("GET " + target + " failed:\n" + describe(r));
        const auto o = r.object();
        for (const auto& d : o.at("data").as_array())
            out.push_back(d.as_object());
        const auto& next = o.at("next_cursor");
        if (!next.is_string())
            return out;
        cursor = std::string(next.get_string());
    }
    throw std::runtime_error("the delivery log does not end");
}

// The value of a metric sample with exactly these labels ("" for none), or nullopt when absent.
inline std::optional<double> metric(client& c, std::string_view name, std::string_view labels = {})
{
    auto r = c.get("/metrics");
    if (r.status() != 200)
        throw std::runtime_error("GET /metrics failed:\n" + describe(r));
    for (const auto& s : parse_metrics(r.body()))
        if (s.name == name && s.labels == labels)
            return s.value;
    return std::nullopt;
}

// All entries of the change feed, following next_after from the start.
inline std::vector<json::object> whole_feed(client& c)
{
    std::vector<json::object> out;
    std::string target = "/v1/events?limit=1000";
    for (int page = 0; page < 1000; ++page)
    {
        auto r = c.get(target);
        if (r.status() != 200)
            throw std::runtime_error("GET " + target + " failed:\n" + describe(r));
        const auto o = r.object();
        const auto& data = o.at("data").as_array();
        if (data.empty())
            return out;
        for (const auto& e : data)
            out.push_back(e.as_object());
        target = "/v1/events?limit=1000&after=" + std::to_string(number(o, "next_after"));
    }
    throw std::runtime_error("the feed does not end");
}

// PATCH a record with a merge patch; throws unless 200.
inline json::object patch_record(client& c, std::string_view id, const json::object& patch)
{
    auto r = c.patch(path_of(id), to_json(patch));
    if (r.status() != 200)
        throw std::runtime_error("PATCH " + path_of(id) + " " + to_json(patch) + " failed:\n" + describe(r));
    return r.object();
}

inline void delete_record(client& c, std::string_view id)
{
    auto r = c.del(path_of(id));
    if (r.status() != 204)
        throw std::runtime_error("DELETE " + path_of(id) + " failed:\n" + describe(r));
}

// ---- what receivers and delivery logs show ------------------------------------------------------

// A retry schedule of `n` entries of `seconds` each.
inline json::array schedule(std::size_t n, double seconds)
{
    json::array a;
    for (std::size_t i = 0; i < n; ++i)
        a.emplace_back(seconds);
    return a;
}

// The sink's first arrival of every distinct webhook-id for a record at a path, in arrival order.
inline std::vector<json::object> first_arrivals(client& sc, std::string_view record, std::string_view path)
{
    std::vector<json::object> out;
    std::set<std::string> seen;
    for (auto& d : sink_deliveries(sc, record, path))
        if (seen.insert(text(d, "webhook_id")).second)
            out.push_back(std::move(d));
    return out;
}

inline std::vector<std::int64_t> versions_of(const std::vector<json::object>& deliveries)
{
    std::vector<std::int64_t> out;
    for (const auto& d : deliveries)
        out.push_back(number(d, "version"));
    return out;
}

inline std::vector<std::int64_t> one_to(std::int64_t n)
{
    std::vector<std::int64_t> out;
    for (std::int64_t v = 1; v <= n; ++v)
        out.push_back(v);
    return out;
}

// Whether the sink has received versions 1..n of the record at the path (each at least once).
inline bool has_all_versions(client& sc, std::string_view record, std::string_view path, std::int64_t n)
{
    std::set<std::int64_t> got;
    for (const auto& d : sink_deliveries(sc, record, path))
        got.insert(number(d, "version"));
    for (std::int64_t v = 1; v <= n; ++v)
        if (!got.contains(v))
            return false;
    return true;
}

inline bool all_with_status(client& c, std::string_view wid, std::size_t count, std::string_view status)
{
    const auto log = delivery_log(c, wid);
    return log.size() == count &&
           std::all_of(log.begin(), log.end(),
                       [&](const json::object& d) { return text(d, "status") == status; });
}

inline std::string dump(const std::vector<json::object>& list)
{
    json::array a;
    for (const auto& o : list)
        a.push_back(o);
    return to_json(a);
}

// ---- Server-Sent Events ------------------------------------------------------------------------

struct sse_event
{
    std::string id;
    std::string event;
    std::string data;
};

// A GET /v1/events/stream on its own connection, read in raw mode: the head is parsed, a chunked body is
// decoded as it arrives, and complete frames (separated by a blank line) become events; comments are
// counted and skipped.
class sse_reader
{
public:
    explicit sse_reader(std::uint16_t port) : c_(port, 10s) {}

    // Sends the request and reads the head (up to `within`). Returns false when no full head arrived.
    bool open(std::string_view target, const header_list& headers = {}, millis within = 5s)
    {
        std::string request = "GET " + std::string(target) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n"
                              "Accept: text/event-stream\r\n";
        for (const auto& [name, value] : headers)
            request += name + ": " + value + "\r\n";
        request += "\r\n";
        if (!c_.send_raw(request))
            return false;
        const auto deadline = steady::now() + within;
        while (head_end_ == std::string::npos && steady::now() < deadline && !closed_)
            pump(50ms);
        return head_end_ != std::string::npos;
    }

    unsigned status() const { return status_; }
    const std::string& head() const { return head_; }
    bool chunked() const { return chunked_; }
    bool closed() const { return closed_; }
    bool ended() const { return ended_; } // the terminating zero-size chunk arrived
    int comments() const { return comments_; }
    const std::vector<sse_event>& events() const { return events_; }

    // Reads until `done()` holds, the peer closes, or `within` passes; returns done().
    template <class Predicate>
    bool read_until(Predicate done, millis within)
    {
        const auto deadline = steady::now() + within;
        while (!done() && !closed_ && steady::now() < deadline)
            pump(50ms);
        return done();
    }

    bool read_events(std::size_t count, millis within)
    {
        return read_until([&] { return events_.size() >= count; }, within);
    }

    // Reads until the peer closes the connection (or `within` passes); returns whether it closed.
    bool read_to_close(millis within)
    {
        const auto deadline = steady::now() + within;
        while (!closed_ && steady::now() < deadline)
            pump(100ms);
        return closed_;
    }

private:
    void pump(millis within)
    {
        auto got = c_.drain(within);
        raw_ += got.data;
        if (got.closed)
            closed_ = true;
        parse();
    }

    void parse()
    {
        if (head_end_ == std::string::npos)
        {
            head_end_ = raw_.find("\r\n\r\n");
            if (head_end_ == std::string::npos)
                return;
            head_ = raw_.substr(0, head_end_);
            if (head_.size() > 12 && starts_with(head_, "HTTP/1."))
                status_ = static_cast<unsigned>(std::atoi(head_.substr(9, 3).c_str()));
            std::string lower = head_;
            for (auto& ch : lower)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            chunked_ = contains(lower, "transfer-encoding: chunked");
            pos_ = head_end_ + 4;
        }
        if (chunked_)
        {
            while (!ended_)
            {
                const auto line_end = raw_.find("\r\n", pos_);
                if (line_end == std::string::npos)
                    break;
                const std::size_t size =
                    std::strtoul(raw_.substr(pos_, line_end - pos_).c_str(), nullptr, 16);
                if (size == 0)
                {
                    ended_ = true;
                    break;
                }
                if (raw_.size() < line_end + 2 + size + 2)
                    break;
                body_ += raw_.substr(line_end + 2, size);
                pos_ = line_end + 2 + size + 2;
            }
        }
        else
        {
            body_ += raw_.substr(pos_);
            pos_ = raw_.size();
        }
        for (;;)
        {
            const auto end = body_.find("\n\n", frame_pos_);
            if (end == std::string::npos)
                break;
            const std::string frame = body_.substr(frame_pos_, end - frame_pos_);
            frame_pos_ = end + 2;
            sse_event e;
            bool any = false;
            std::istringstream lines(frame);
            std::string line;
            while (std::getline(lines, line))
            {
                if (starts_with(line, ":"))
                {
                    ++comments_;
                    continue;
                }
                const auto colon = line.find(':');
                const std::string field = line.substr(0, colon);
                std::string value = colon == std::string::npos ? std::string() : line.substr(colon + 1);
                if (starts_with(value, " "))
                    value.erase(0, 1);
                any = true;
                if (field == "id")
                    e.id = value;
                else if (field == "event")
                    e.event = value;
                else if (field == "data")
                    e.data += (e.data.empty() ? "" : "\n") + value;
            }
            if (any)
                events_.push_back(std::move(e));
        }
    }

    client c_;
    std::string raw_;
    std::string head_;
    std::size_t head_end_ = std::string::npos;
    std::size_t pos_ = 0;
    std::string body_;
    std::size_t frame_pos_ = 0;
    unsigned status_ = 0;
    bool chunked_ = false;
    bool closed_ = false;
    bool ended_ = false;
    int comments_ = 0;
    std::vector<sse_event> events_;
};

} // namespace reqstore::test::hooks_it
