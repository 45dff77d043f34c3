// reqstore-load's command line (API.md section 11).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace reqstore::load
{

// Which API the target speaks.
enum class protocol
{
    reqstore, // this API: /v1/requests, ETag and If-Match
    rest,     // a json-server style REST resource (or a static file) at --path
    etcd      // etcd 3.4's JSON gateway: /v3/kv/range, /v3/kv/put, /v3/kv/txn
};

enum class scenario
{
    read,          // GET one key per request
    create,        // create a record per request
    cas_update,    // compare-and-swap increments of a counter, retried on conflict
    update,        // rest only: PUT the whole object, no precondition
    mixed,         // reqstore only: 80% read, 15% cas-update, 5% create
    webhook_fanout // reqstore only: status-changing cas-updates, deliveries judged at a reqstore-sink
};

std::string_view name_of(protocol p);
std::string_view name_of(scenario s);

// Where to connect: an http:// origin without a path.
struct origin
{
    std::string host; // without brackets
    std::string port; // digits
    std::string text; // "http://HOST:PORT", as the report names it
    // The Host header: "HOST:PORT", brackets kept for IPv6.
    std::string authority;
};

struct options
{
    origin target;
    protocol proto = protocol::reqstore;
    scenario what = scenario::read;
    unsigned connections = 16;
    double duration_s = 10;     // the measured part of the run
    double warmup_s = 0;        // run before the measured part; its requests are not counted
    std::size_t keys = 1000;    // keys set up for read, cas-update, mixed, webhook-fanout, update
    std::optional<double> zipf; // --skew zipf:S; nullopt: uniform
    std::string auth;           // "ID.SECRET", sent as a Bearer token; "" for none
    std::optional<double> rate; // --rate: open loop at this many requests per second
    std::string json_file;      // "" for none
    std::string path_template;  // rest: "/posts/{id}" or a fixed path
    unsigned threads = 1;       // io_context threads
    std::string record_type = "request";
    std::uint64_t seed = 1;      // key choices and the mix; the same seed draws the same sequence
    bool quiet = false;          // no live progress
    double timeout_s = 10;       // deadline of every connect, write and read
    std::string reuse_keys_file; // keys to use instead of creating them, one a line
    std::string save_keys_file;  // where to write the keys set up by this run
    std::optional<origin> sink;  // webhook-fanout: a running reqstore-sink
    std::string sink_secret;     // webhook-fanout: the sink's whsec_ secret
    double drain_s = 10;         // webhook-fanout: how long to wait for deliveries after the run
};

struct show_help
{
};

struct usage_error
{
    std::string message;
};

// Parses argv. Every malformed, missing, out-of-range or inapplicable value is a usage_error naming
// the option.
std::variant<options, show_help, usage_error> parse_options(int argc, char** argv);

std::string usage_text();

} // namespace reqstore::load
