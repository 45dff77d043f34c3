// Configuration: defaults, the merge-patched config file, flags, and validation by key.
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/hooks/secret_box.hpp>
#include <reqstore/hooks/signer.hpp>
#include <reqstore/ops/config.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace reqstore::ops
{
namespace json = boost::json;

namespace
{

// The local profile. Keep config/reqstore.json identical (a unit test compares them) and
// docs/CONFIG.md in step.
constexpr std::string_view defaults_text = R"json({
  "listen": "127.0.0.1:8080",
  "data_dir": "./data",
  "threads": 0,
  "durability": "fsync",
  "require_if_match": false,
  "limits": {
    "max_body_bytes": 1048576,
    "max_record_bytes": 2097152,
    "max_header_bytes": 16384,
    "max_json_depth": 64,
    "idle_timeout": 60,
    "header_timeout": 10,
    "body_timeout": 30,
    "write_timeout": 30,
    "drain_timeout": 10,
    "max_connections": 16384,
    "max_connections_per_address": 1024
  },
  "log": {
    "access": true
  },
  "store": {
    "block_cache_mb": 128,
    "write_buffer_mb": 64
  },
  "webhooks": {
    "retry_schedule": [5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400],
    "timeout": 10,
    "allow_networks": ["127.0.0.0/8", "::1/128"],
    "callback_secret": "whsec_cmVxc3RvcmUtZGV2ZWxvcG1lbnQtY2FsbGJhY2trZXk=",
    "secrets_key": "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=",
    "ca_file": "",
    "disable_after": 432000,
    "max_in_flight": 256
  },
  "events": {
    "retention": 0
  },
  "auth": {
    "keys": [
      {
        "id": "dev",
        "secret_sha256": "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
        "scopes": ["requests:read", "requests:write", "webhooks:manage", "admin"]
      },
      {
        "id": "dev-subject",
        "secret_sha256": "f7172dc66663bda26124cb1bfb00de7bf75a183a4a75c5bea9efbb38cc93c80e",
        "scopes": [],
        "subject": "subject-1"
      }
    ]
  },
  "types": {
    "request": {
      "id_format": "prefixed",
      "id_prefix": "req_",
      "states": ["pending", "active", "completed", "canceled"],
      "initial": "pending",
      "transitions": {
        "pending": ["active", "completed", "canceled"],
        "active": ["pending", "completed", "canceled"]
      },
      "final": ["completed", "canceled"],
      "additional_attributes": true
    },
    "docspring_data_request": {
      "id_format": "prefixed",
      "id_prefix": "drq_",
      "states": ["pending", "viewed", "completed"],
      "initial": "pending",
      "transitions": {
        "pending": ["viewed", "completed"],
        "viewed": ["completed"]
      },
      "final": ["completed"],
      "updatable_in": ["pending"],
      "timestamps": {
        "viewed": "viewed_at",
        "completed": "completed_at"
      },
      "attributes": {
        "email": {"type": "email", "required": true},
        "name": {"type": "string", "max_length": 200},
        "order": {"type": "integer", "min": 0, "default": 1},
        "fields": {"type": "array", "default": []},
        "auth_type": {
          "type": "enum",
          "enum": ["none", "password", "oauth", "email_link", "phone_number", "ldap", "saml"]
        },
        "auth_second_factor_type": {
          "type": "enum",
          "enum": ["none", "phone_number", "totp", "mobile_push", "security_key", "fingerprint"]
        },
        "auth_provider": {"type": "string", "max_length": 200},
        "auth_session_started_at": {"type": "datetime"},
        "auth_session_id_hash": {"type": "string", "max_length": 200},
        "auth_user_id_hash": {"type": "string", "max_length": 200},
        "auth_username_hash": {"type": "string", "max_length": 200},
        "auth_phone_number_hash": {"type": "string", "max_length": 200},
        "viewed_at": {"type": "datetime", "read_only": true},
        "completed_at": {"type": "datetime", "read_only": true}
      },
      "requires": {
        "completed": ["auth_type"]
      }
    },
    "box_file_request": {
      "id_format": "numeric",
      "states": ["active", "inactive"],
      "initial": "active",
      "transitions": {
        "active": ["inactive"],
        "inactive": ["active"]
      },
      "expires": {"attribute": "expires_at", "state": "inactive"},
      "attributes": {
        "title": {"type": "string", "required": true, "max_length": 255},
        "description": {"type": "string", "max_length": 10000},
        "is_email_required": {"type": "boolean", "default": false},
        "is_description_required": {"type": "boolean", "default": false},
        "expires_at": {"type": "datetime"},
        "folder": {"type": "object", "required": true, "read_only": true},
        "url": {"type": "string", "read_only": true}
      }
    },
    "autodesk_data_request": {
      "id_format": "uuid",
      "states": ["active", "inactive"],
      "initial": "active",
      "transitions": {
        "active": ["inactive"],
        "inactive": ["active"]
      },
      "attributes": {
        "account_id": {"type": "uuid", "required": true, "read_only": true},
        "description": {"type": "string", "max_length": 1000},
        "schedule_interval": {"type": "enum", "enum": ["ONE_TIME", "DAY", "WEEK", "MONTH", "YEAR"], "default": "ONE_TIME"},
        "reoccuring_interval": {"type": "integer", "min": 1, "max": 1000},
        "effective_from": {"type": "datetime"},
        "effective_to": {"type": "datetime"},
        "service_groups": {"type": "array", "default": []},
        "send_email": {"type": "boolean", "default": true},
        "project_id": {"type": "uuid"},
        "project_id_list": {"type": "array"},
        "start_date": {"type": "datetime"},
        "end_date": {"type": "datetime"},
        "last_queued_at": {"type": "datetime", "read_only": true},
        "date_range": {"type": "string", "max_length": 100},
        "project_status": {"type": "string", "max_length": 100},
        "created_by_email": {"type": "email", "read_only": true}
      }
    },
    "jsonapi_request": {
      "id_format": "uuid",
      "states": ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED"],
      "initial": "PENDING",
      "transitions": {
        "PENDING": ["IN_PROGRESS", "COMPLETED", "FAILED"],
        "IN_PROGRESS": ["PENDING", "COMPLETED", "FAILED"]
      },
      "final": ["COMPLETED", "FAILED"],
      "timestamps": {
        "COMPLETED": "completed_at"
      },
      "attributes": {
        "request_id": {"type": "string", "read_only": true, "max_length": 200},
        "requested_by": {"type": "string", "read_only": true, "max_length": 200},
        "note_id": {"type": "uuid"},
        "community_server_id": {"type": "string", "read_only": true, "max_length": 200},
        "requested_at": {"type": "datetime", "read_only": true},
        "completed_at": {"type": "datetime", "read_only": true},
        "content": {"type": "string", "read_only": true, "max_length": 100000},
        "platform_message_id": {"type": "string", "read_only": true, "max_length": 200},
        "platform_channel_id": {"type": "string", "read_only": true, "max_length": 200},
        "similarity_score": {"type": "number", "read_only": true, "min": 0},
        "dataset_name": {"type": "string", "read_only": true, "max_length": 200},
        "dataset_item_id": {"type": "string", "read_only": true, "max_length": 200}
      }
    },
    "dsr": {
      "id_format": "prefixed",
      "id_prefix": "dsr_",
      "require_if_match": false,
      "states": ["draft", "submitted", "in_progress", "completed", "rejected", "canceled"],
      "initial": "draft",
      "transitions": {
        "draft": ["submitted", "canceled"],
        "submitted": ["in_progress", "rejected", "canceled"],
        "in_progress": ["completed", "rejected"]
      },
      "final": ["completed", "rejected", "canceled"],
      "updatable_in": ["draft", "submitted", "in_progress"],
      "timestamps": {
        "submitted": "submitted_at"
      },
      "attributes": {
        "type_id": {"type": "string", "required": true, "max_length": 100, "mutable_in": ["draft"]},
        "owner": {"type": "object", "mutable_in": ["draft"]},
        "labels": {"type": "array", "default": []},
        "data": {"type": "object", "default": {}},
        "due_date": {"type": "datetime"},
        "portal_url": {"type": "url"},
        "attachments": {"type": "object", "default": {}},
        "submitted_at": {"type": "datetime", "read_only": true}
      },
      "requires": {
        "submitted": ["owner", "data", "attachments"]
      },
      "dsr_types": {
        "access": {
          "data": {
            "email": {"type": "email", "required": true},
            "full_name": {"type": "string", "required": true, "max_length": 200},
            "reason": {"type": "string", "max_length": 2000}
          },
          "attachments": {
            "id_document": {"required": true, "content_types": ["image/png", "image/jpeg", "application/pdf"],
                            "max_bytes": 524288}
          }
        },
        "erasure": {
          "data": {
            "email": {"type": "email", "required": true},
            "scope": {"type": "enum", "enum": ["all", "marketing"], "required": true}
          },
          "attachments": {}
        }
      }
    }
  }
}
)json";

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

// Every key of `config` must exist in `defaults` with a value of the same kind.
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

std::optional<std::string> parse_listen(std::string_view text, server_config& c)
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
    c.listen_host = std::string(host);
    c.listen_port = static_cast<std::uint16_t>(value);
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

std::optional<std::string> interpret(const json::object& o, server_config& c)
{
    if (auto err = parse_listen(o.at("listen").get_string(), c))
        return "listen: " + *err;
    c.data_dir = std::string(o.at("data_dir").get_string());
    if (c.data_dir.empty())
        return "data_dir: must not be empty";
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
    if (auto err = read_count(o, "store", "block_cache_mb", 1, 1u << 20, n))
        return err;
    c.block_cache_bytes = n << 20;
    if (auto err = read_count(o, "store", "write_buffer_mb", 4, 1u << 20, n))
        return err;
    c.write_buffer_bytes = n << 20;

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

// Whether any configured key accepts the published development secret.
// The local profile's webhooks.secrets_key, published in config/reqstore.json.
constexpr std::string_view development_secrets_key = "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=";

bool dev_key_configured(const server_config& c)
{
    return std::any_of(c.keys.begin(), c.keys.end(),
                       [](const auth::api_key& key)
                       { return key.secret_is("dev-secret") || key.secret_is("dev-subject-secret"); });
}

} // namespace

std::string_view default_config_text()
{
    return defaults_text;
}

std::string usage_text()
{
    return "usage: reqstore [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--threads N]\n"
           "                [--durability fsync|buffered] [--recover-wal point-in-time]\n"
           "                [--print-config] [--help] [--version]\n"
           "\n"
           "  --config FILE      a JSON merge patch over the built-in defaults (docs/CONFIG.md)\n"
           "  --listen HOST:PORT address to serve on; port 0 picks a free port (default 127.0.0.1:8080)\n"
           "  --data-dir DIR     where the RocksDB database lives (default ./data)\n"
           "  --threads N        I/O threads; 0 = one per core (default 0)\n"
           "  --durability MODE  fsync: a 2xx write is on disk (default); buffered: in the OS cache\n"
           "  --recover-wal point-in-time\n"
           "                     start although the write-ahead log is damaged, dropping the damaged\n"
           "                     record and every record after it (docs/RELIABILITY.md); for once only\n"
           "  --print-config     print the effective configuration as JSON and exit\n";
}

bool is_loopback_host(std::string_view host)
{
    if (host == "localhost")
        return true;
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(host), ec);
    return !ec && address.is_loopback();
}

std::variant<config_outcome, config_error> load_config(int argc, const char* const* argv)
{
    config_outcome outcome;
    std::optional<std::string> config_file;
    json::object flags; // flag values, applied over the file as one more merge patch
    for (int i = 1; i < argc; ++i)
    {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::optional<std::string_view>
        {
            if (i + 1 >= argc)
                return std::nullopt;
            return std::string_view(argv[++i]);
        };
        if (arg == "--help" || arg == "-h")
        {
            outcome.what = config_outcome::action::show_help;
            return outcome;
        }
        if (arg == "--version")
        {
            outcome.what = config_outcome::action::show_version;
            return outcome;
        }
        if (arg == "--print-config")
        {
            outcome.what = config_outcome::action::print_config;
            continue;
        }
        const auto v = value();
        if (!v)
        {
            if (arg == "--config" || arg == "--listen" || arg == "--data-dir" || arg == "--threads" ||
                arg == "--durability" || arg == "--recover-wal")
                return config_error{std::string(arg) + ": needs a value"};
            return config_error{std::string(arg) + ": unknown option (see --help)"};
        }
        if (arg == "--config")
            config_file = std::string(*v);
        else if (arg == "--listen")
            flags["listen"] = *v;
        else if (arg == "--data-dir")
            flags["data_dir"] = *v;
        else if (arg == "--durability")
            flags["durability"] = *v;
        else if (arg == "--recover-wal")
        {
            // A flag only, never a configuration key: accepting lost writes must not be left on.
            if (*v != "point-in-time")
                return config_error{"--recover-wal: the only mode is point-in-time"};
            outcome.config.recover_wal_point_in_time = true;
        }
        else if (arg == "--threads")
        {
            const auto parsed = core::parse_json_body(*v, 1);
            if (!parsed || !parsed->is_number())
                return config_error{"--threads: must be a whole number"};
            flags["threads"] = *parsed;
        }
        else
            return config_error{std::string(arg) + ": unknown option (see --help)"};
    }

    json::value merged = core::parse_json_body(defaults_text, 64).value();
    if (config_file)
    {
        std::ifstream in(*config_file, std::ios::binary);
        if (!in)
            return config_error{*config_file + ": cannot be read"};
        std::stringstream text;
        text << in.rdbuf();
        const auto parsed = core::parse_json_body(text.str(), 64);
        if (!parsed)
            return config_error{*config_file + ": " + parsed.error().detail};
        if (!parsed->is_object())
            return config_error{*config_file + ": must hold a JSON object"};
        if (auto err = check_shape(parsed->get_object(), merged.get_object(), ""))
            return config_error{*config_file + ": " + *err};
        merged = core::apply_merge_patch(merged, *parsed);
    }
    if (auto err = check_shape(flags, merged.get_object(), ""))
        return config_error{"flags: " + *err};
    merged = core::apply_merge_patch(merged, flags);

    server_config& c = outcome.config;
    if (auto err = interpret(merged.get_object(), c))
        return config_error{(config_file ? *config_file + ": " : std::string()) + *err};
    if (!is_loopback_host(c.listen_host) && dev_key_configured(c))
        return config_error{"refusing to listen on " + c.listen_host +
                            " while a key with a published development secret (dev-secret, "
                            "dev-subject-secret) is configured: "
                            "set auth.keys in your config file to your own keys (see "
                            "config/production.example.json and docs/CONFIG.md)"};
    if (!is_loopback_host(c.listen_host) && c.webhooks.secrets_key == development_secrets_key)
        return config_error{"refusing to listen on " + c.listen_host +
                            " with the published development webhooks.secrets_key, which would seal "
                            "every subscription's secret under a key anyone has: set your own (openssl "
                            "rand -base64 32; see docs/CONFIG.md)"};
    c.effective = std::move(merged.get_object());
    return outcome;
}

} // namespace reqstore::ops
