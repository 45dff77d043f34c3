// The server's configuration: built-in defaults (the local profile), a config file applied as
// a JSON merge patch over them, then command-line flags. Every key is checked at startup and an
// error names the exact key.
#pragma once

#include <reqstore/auth/keys.hpp>
#include <reqstore/core/request_type.hpp>
#include <reqstore/hooks/network_policy.hpp>
#include <reqstore/http/server.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace reqstore::app
{

struct limits_config
{
    std::size_t max_body_bytes = 0;
    std::size_t max_record_bytes = 0;
    std::size_t max_header_bytes = 0;
    unsigned max_json_depth = 0;
    std::chrono::milliseconds idle_timeout{};
    std::chrono::milliseconds header_timeout{};
    std::chrono::milliseconds body_timeout{};
    std::chrono::milliseconds write_timeout{};
    std::chrono::milliseconds drain_timeout{};
    std::size_t max_connections = 0;             // 0: no cap of its own
    std::size_t max_connections_per_address = 0; // 0: no cap
};

struct webhooks_config
{
    std::vector<double> retry_schedule_seconds;
    std::chrono::milliseconds timeout{};
    std::vector<hooks::cidr> allow_networks;
    std::string callback_secret;
    std::string secrets_key; // base64 of 32 bytes: seals subscription secrets in the store
    std::string ca_file;
    std::chrono::milliseconds disable_after{};
    std::size_t max_in_flight = 0;
};

// store.postgres: the PostgreSQL engine (store.engine "postgres").
struct postgres_config
{
    std::string conninfo; // a libpq connection string or URI
    std::string schema;
    std::size_t pool = 0; // reader connections per node
};

enum class store_engine
{
    rocksdb,  // embedded, in data_dir
    postgres, // one shared PostgreSQL database
};

struct server_config
{
    std::string listen_host;
    std::uint16_t listen_port = 0;
    std::optional<http::tls_settings> tls; // set: `listen` serves HTTPS only
    std::string listen_plain_host;         // "": no plaintext listener besides `listen`
    std::uint16_t listen_plain_port = 0;
    std::string data_dir;
    std::string backup_dir;      // backup.dir: where POST /v1/admin/backup writes (RocksDB engine)
    bool console_enabled = true; // console.enabled: the web console at /console/
    store_engine engine = store_engine::rocksdb;
    std::string node_id; // node.id; empty: the host name and the port, once listening
    postgres_config postgres;
    unsigned threads = 0; // resolved: never 0
    bool durability_fsync = true;
    bool recover_wal_point_in_time = false; // --recover-wal point-in-time: this start only
    bool require_if_match = false;
    bool access_log = true;
    std::size_t block_cache_bytes = 0;
    std::size_t write_buffer_bytes = 0;
    limits_config limits;
    webhooks_config webhooks;
    std::chrono::seconds events_retention{0}; // 0: keep every change feed entry
    std::vector<core::request_type> types;
    std::vector<auth::api_key> keys;
    boost::json::object effective; // the merged configuration, for --print-config
};

// What main should do after reading the command line.
struct config_outcome
{
    enum class action
    {
        serve,
        print_config, // --print-config: print `effective` and exit 0
        show_help,    // --help: print usage_text() and exit 0
        show_version, // --version
    };
    action what = action::serve;
    server_config config;
};

// A configuration error: the message names the key or flag; the process exits with code 2.
struct config_error
{
    std::string message;
};

// The built-in defaults (the local profile) as JSON text: what config/reqstore.json spells out.
// Static storage: the view stays valid for the whole process.
std::string_view default_config_text();

// The text --help prints: every flag and what it does.
std::string usage_text();

// Reads the flags in `argv[1..argc)` and the config file --config names, merge-patches the file and
// then the flags over the defaults, and checks every key. Returns the action the flags ask for with
// the checked configuration (for `serve` and `print_config`; --help and --version return before any
// key is read), or a config_error naming the flag, the file or the key at fault: an unknown flag or
// key, a value of the wrong kind or out of range, an unreadable file, or a published development
// secret on an address that is not loopback. Never exits and prints nothing; the caller prints and
// picks the exit code.
std::variant<config_outcome, config_error> load_config(int argc, const char* const* argv);

// Whether `host` is a loopback address (127.0.0.0/8, ::1, or "localhost").
bool is_loopback_host(std::string_view host);

} // namespace reqstore::app
