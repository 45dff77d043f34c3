// Reads the merged configuration document into a server_config, key by key, with the rules of each
// key; an error names the key.
#include "config_validation.hpp"

#include <reqstore/hooks/secret_box.hpp>
#include <reqstore/hooks/signer.hpp>
#include <reqstore/store/pg/pg_store.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cmath>
#include <thread>

namespace reqstore::app
{
namespace json = boost::json;

namespace
{

// Keys whose members are open (names chosen by the user) or checked by their own parser.
bool is_open_section(std::string_view path)
{
    return path == "types" || path == "auth.keys";
}

std::string_view kind_name(const json::value& v)
{
    switch (v.kind())
    {
    case json::kind::object:
        return "an object";
    case json::kind::array:
        return "a list";
    case json::kind::string:
        return "a string";
    case json::kind::bool_:
        return "true or false";
    case json::kind::null:
        return "null";
    default:
        return "a number";
    }
}

bool same_kind(const json::value& a, const json::value& b)
{
    return a.is_number() ? b.is_number() : a.kind() == b.kind();
}

const json::value& at_path(const json::object& o, std::string_view a, std::string_view b = {})
{
    const json::value& first = o.at(a);
    return b.empty() ? first : first.get_object().at(b);
}

// A positive count at `key`, within [min, max].
std::optional<std::string> read_count(const json::object& o, std::string_view section, std::string_view name,
                                      std::uint64_t min, std::uint64_t max, std::uint64_t& out)
{
    const json::value& v = at_path(o, section, name);
    const std::string key =
        section.empty() ? std::string(name) : std::string(section) + "." + std::string(name);
    const double d = v.to_number<double>();
    if (d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max))
        return key + ": must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    out = static_cast<std::uint64_t>(d);
    return std::nullopt;
}

std::optional<std::string> read_seconds(const json::object& limits, std::string_view name,
                                        std::chrono::milliseconds& out)
{
    const double d = limits.at(name).to_number<double>();
    if (!(d >= 0.001 && d <= 86400))
        return "limits." + std::string(name) + ": must be a number of seconds from 0.001 to 86400";
    out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(d * 1000)));
    return std::nullopt;
}

std::optional<std::string> parse_listen(std::string_view text, std::string& host_out, std::uint16_t& port_out)
{
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    std::string_view host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host == "localhost")
        host = "127.0.0.1";
    boost::system::error_code ec;
    boost::asio::ip::make_address(std::string(host), ec);
    if (ec)
        return "\"" + std::string(host) + "\" is not an IP address";
    unsigned value = 0;
    if (port.empty() || port.size() > 5)
        return "the port must be a number from 0 to 65535";
    for (char ch : port)
    {
        if (ch < '0' || ch > '9')
            return "the port must be a number from 0 to 65535";
        value = value * 10 + static_cast<unsigned>(ch - '0');
    }
    if (value > 65535)
        return "the port must be a number from 0 to 65535";
    host_out = std::string(host);
    port_out = static_cast<std::uint16_t>(value);
    return std::nullopt;
}

std::optional<std::string> interpret_tls(const json::object& tls, server_config& c)
{
    http::tls_settings settings;
    settings.cert_file = std::string(tls.at("cert_file").get_string());
    settings.key_file = std::string(tls.at("key_file").get_string());
    settings.client_ca_file = std::string(tls.at("client_ca_file").get_string());
    settings.min_version = std::string(tls.at("min_version").get_string());
    if (settings.min_version == "1.0" || settings.min_version == "1.1")
        return "tls.min_version: TLS " + settings.min_version +
               " is never accepted (RFC 8996 deprecates it): use \"1.2\" or \"1.3\"";
    if (settings.min_version != "1.2" && settings.min_version != "1.3")
        return "tls.min_version: must be \"1.2\" or \"1.3\"";
    if (settings.cert_file.empty())
    {
        if (!settings.key_file.empty() || !settings.client_ca_file.empty())
            return "tls.cert_file: must be set when tls.key_file or tls.client_ca_file is (a PEM file with "
                   "the "
                   "server's certificate and its chain)";
        return std::nullopt;
    }
    if (settings.key_file.empty())
        return "tls.key_file: must be set when tls.cert_file is (a PEM file with the certificate's private "
               "key)";
    c.tls = std::move(settings);
    return std::nullopt;
}

std::optional<std::string> interpret_webhooks(const json::object& w, webhooks_config& c)
{
    const auto& schedule = w.at("retry_schedule").get_array();
    for (std::size_t i = 0; i < schedule.size(); ++i)
    {
        if (!schedule[i].is_number() || !(schedule[i].to_number<double>() > 0) ||
            schedule[i].to_number<double>() > 30 * 86400.0)
            return "webhooks.retry_schedule[" + std::to_string(i) + "]: must be a number of seconds above 0";
        c.retry_schedule_seconds.push_back(schedule[i].to_number<double>());
    }
    const double timeout = w.at("timeout").to_number<double>();
    if (!(timeout >= 0.001 && timeout <= 3600))
        return "webhooks.timeout: must be a number of seconds from 0.001 to 3600";
    c.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(timeout * 1000)));
    const auto& networks = w.at("allow_networks").get_array();
    for (std::size_t i = 0; i < networks.size(); ++i)
    {
        const auto parsed =
            networks[i].is_string() ? hooks::cidr::parse(networks[i].get_string()) : std::nullopt;
        if (!parsed)
            return "webhooks.allow_networks[" + std::to_string(i) +
                   "]: must be a network such as 127.0.0.0/8";
        c.allow_networks.push_back(*parsed);
    }
    c.callback_secret = std::string(w.at("callback_secret").get_string());
    if (!hooks::decode_secret(c.callback_secret))
        return "webhooks.callback_secret: must be whsec_ followed by the base64 of 16 to 128 bytes";
    c.secrets_key = std::string(w.at("secrets_key").get_string());
    if (!hooks::secret_box::from_base64(c.secrets_key))
        return "webhooks.secrets_key: must be the base64 of 32 bytes (e.g. openssl rand -base64 32)";
    c.ca_file = std::string(w.at("ca_file").get_string());
    const double disable_after = w.at("disable_after").to_number<double>();
    if (!(disable_after >= 1))
        return "webhooks.disable_after: must be a number of seconds of at least 1";
    c.disable_after = std::chrono::milliseconds(static_cast<std::int64_t>(disable_after * 1000));
    const double in_flight = w.at("max_in_flight").to_number<double>();
    if (in_flight < 1 || in_flight > 100000 || in_flight != std::floor(in_flight))
        return "webhooks.max_in_flight: must be a whole number from 1 to 100000";
    c.max_in_flight = static_cast<std::size_t>(in_flight);
    return std::nullopt;
}

std::optional<std::string> interpret_engine(const json::object& store, server_config& c)
{
    const std::string_view engine = store.at("engine").get_string();
    if (engine != "rocksdb" && engine != "postgres")
        return "store.engine: must be \"rocksdb\" or \"postgres\"";
    c.engine = engine == "postgres" ? store_engine::postgres : store_engine::rocksdb;
    const auto& pg = store.at("postgres").get_object();
    c.postgres.conninfo = std::string(pg.at("conninfo").get_string());
    if (c.engine == store_engine::postgres && c.postgres.conninfo.empty())
        return "store.postgres.conninfo: must be set when store.engine is \"postgres\" (a libpq connection "
               "string or URI, e.g. \"host=db1,db2 dbname=reqstore target_session_attrs=read-write\")";
    c.postgres.schema = std::string(pg.at("schema").get_string());
    if (!store::pg::valid_schema_name(c.postgres.schema))
        return "store.postgres.schema: must be lower-case letters, digits and _, not starting with a digit, "
               "at most 63 characters";
    const double pool = pg.at("pool").to_number<double>();
    if (!(pool >= 1 && pool <= 64) || pool != std::floor(pool))
        return "store.postgres.pool: must be a whole number from 1 to 64";
    c.postgres.pool = static_cast<std::size_t>(pool);
    return std::nullopt;
}

} // namespace

std::optional<std::string> check_shape(const json::object& config, const json::object& defaults,
                                       const std::string& path)
{
    for (const auto& member : config)
    {
        const std::string key =
            path.empty() ? std::string(member.key()) : path + "." + std::string(member.key());
        const json::value* expected = defaults.if_contains(member.key());
        if (!expected)
            return key + ": unknown key";
        if (!same_kind(*expected, member.value()))
            return key + ": must be " + std::string(kind_name(*expected));
        if (member.value().is_object() && !is_open_section(key))
            if (auto err = check_shape(member.value().get_object(), expected->get_object(), key))
                return err;
    }
    return std::nullopt;
}

std::optional<std::string> interpret(const json::object& o, server_config& c)
{
    if (auto err = parse_listen(o.at("listen").get_string(), c.listen_host, c.listen_port))
        return "listen: " + *err;
    if (const std::string_view plain = o.at("listen_plain").get_string(); !plain.empty())
        if (auto err = parse_listen(plain, c.listen_plain_host, c.listen_plain_port))
            return "listen_plain: " + *err + " (or \"\" for none)";
    if (auto err = interpret_tls(o.at("tls").get_object(), c))
        return err;
    c.data_dir = std::string(o.at("data_dir").get_string());
    if (c.data_dir.empty())
        return "data_dir: must not be empty";
    c.backup_dir = std::string(at_path(o, "backup", "dir").get_string());
    if (c.backup_dir.empty())
        return "backup.dir: must not be empty";
    c.console_enabled = at_path(o, "console", "enabled").get_bool();
    std::uint64_t n = 0;
    if (auto err = read_count(o, "threads", {}, 0, 256, n))
        return err;
    c.threads = n == 0 ? std::max(1u, std::thread::hardware_concurrency()) : static_cast<unsigned>(n);
    const std::string_view durability = o.at("durability").get_string();
    if (durability != "fsync" && durability != "buffered")
        return "durability: must be \"fsync\" or \"buffered\"";
    c.durability_fsync = durability == "fsync";
    c.require_if_match = o.at("require_if_match").get_bool();

    const auto& limits = o.at("limits").get_object();
    if (auto err = read_count(o, "limits", "max_body_bytes", 1, 1ull << 30, n))
        return err;
    c.limits.max_body_bytes = n;
    if (auto err = read_count(o, "limits", "max_record_bytes", 1024, 1ull << 30, n))
        return err;
    c.limits.max_record_bytes = n;
    if (auto err = read_count(o, "limits", "max_header_bytes", 1024, 1u << 20, n))
        return err;
    c.limits.max_header_bytes = n;
    if (auto err = read_count(o, "limits", "max_json_depth", 1, 1000, n))
        return err;
    c.limits.max_json_depth = static_cast<unsigned>(n);
    for (auto [name, field] : {std::pair{"idle_timeout", &limits_config::idle_timeout},
                               std::pair{"header_timeout", &limits_config::header_timeout},
                               std::pair{"body_timeout", &limits_config::body_timeout},
                               std::pair{"write_timeout", &limits_config::write_timeout},
                               std::pair{"drain_timeout", &limits_config::drain_timeout}})
        if (auto err = read_seconds(limits, name, c.limits.*field))
            return err;
    // 0: no cap of its own (the open-file limit still bounds the total).
    if (auto err = read_count(o, "limits", "max_connections", 0, 1'000'000, n))
        return *err + " (0: no cap)";
    c.limits.max_connections = n;
    if (auto err = read_count(o, "limits", "max_connections_per_address", 0, 1'000'000, n))
        return *err + " (0: no cap)";
    c.limits.max_connections_per_address = n;

    c.access_log = at_path(o, "log", "access").get_bool();
    c.node_id = std::string(at_path(o, "node", "id").get_string());
    if (c.node_id.size() > 200 || std::any_of(c.node_id.begin(), c.node_id.end(),
                                              [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; }))
        return "node.id: must be at most 200 printable characters (empty: the host name and the port)";
    if (auto err = read_count(o, "store", "block_cache_mb", 1, 1u << 20, n))
        return err;
    c.block_cache_bytes = n << 20;
    if (auto err = read_count(o, "store", "write_buffer_mb", 4, 1u << 20, n))
        return err;
    c.write_buffer_bytes = n << 20;
    if (auto err = interpret_engine(o.at("store").get_object(), c))
        return err;

    if (auto err = interpret_webhooks(o.at("webhooks").get_object(), c.webhooks))
        return err;
    const double retention = o.at("events").get_object().at("retention").to_number<double>();
    if (!(retention >= 0) || retention > 3.2e9)
        return "events.retention: must be a number of seconds, 0 to keep every entry";
    c.events_retention = std::chrono::seconds(static_cast<std::int64_t>(retention));

    const auto& auth = o.at("auth").get_object();
    for (const auto& member : auth)
        if (member.key() != "keys")
            return "auth." + std::string(member.key()) + ": unknown key";
    if (auto err = auth::parse_keys(auth.at("keys").get_array(), c.keys))
        return err;
    if (auto err = core::parse_types(o.at("types").get_object(), c.types))
        return err;
    if (c.types.empty())
        return "types: at least one request type must be declared";
    return std::nullopt;
}

} // namespace reqstore::app
