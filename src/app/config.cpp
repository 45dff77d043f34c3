// Configuration: the built-in defaults, the config file merge-patched over them, then the flags;
// the document is checked key by key (config_validation.cpp) before the server starts.
#include <reqstore/app/config.hpp>
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config_validation.hpp"

namespace reqstore::app
{
namespace json = boost::json;

namespace
{
// The local profile's webhooks.secrets_key, published in config/reqstore.json.
constexpr std::string_view development_secrets_key = "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=";

// Whether any configured key accepts the published development secret.
bool dev_key_configured(const server_config& c)
{
    return std::any_of(c.keys.begin(), c.keys.end(),
                       [](const auth::api_key& key)
                       { return key.secret_is("dev-secret") || key.secret_is("dev-subject-secret"); });
}

} // namespace

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
           "  --print-config     print the effective configuration as JSON and exit\n"
           "\n"
           "       reqstore restore --from DIR --data-dir NEW\n"
           "                     make a data directory from a backup (reqstore restore --help)\n";
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

    json::value merged = core::parse_json_body(default_config_text(), 64).value();
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
    // Either address may reach other machines.
    const bool beyond_loopback = !is_loopback_host(c.listen_host) ||
                                 (!c.listen_plain_host.empty() && !is_loopback_host(c.listen_plain_host));
    const std::string& exposed = is_loopback_host(c.listen_host) ? c.listen_plain_host : c.listen_host;
    if (beyond_loopback && dev_key_configured(c))
        return config_error{"refusing to listen on " + exposed +
                            " while a key with a published development secret (dev-secret, "
                            "dev-subject-secret) is configured: "
                            "set auth.keys in your config file to your own keys (see "
                            "config/production.example.json and docs/CONFIG.md)"};
    if (beyond_loopback && c.webhooks.secrets_key == development_secrets_key)
        return config_error{"refusing to listen on " + exposed +
                            " with the published development webhooks.secrets_key, which would seal "
                            "every subscription's secret under a key anyone has: set your own (openssl "
                            "rand -base64 32; see docs/CONFIG.md)"};
    c.effective = std::move(merged.get_object());
    return outcome;
}

} // namespace reqstore::app
