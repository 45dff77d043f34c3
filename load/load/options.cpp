// Parsing reqstore-load's command line.
#include "options.hpp"

#include <reqstore/hooks/signer.hpp>

#include <boost/url/parse.hpp>

#include <charconv>
#include <cmath>
#include <string_view>

namespace reqstore::load
{
namespace
{

template <typename T>
std::optional<T> parse_number(std::string_view text)
{
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    if constexpr (std::is_floating_point_v<T>)
    {
        if (!std::isfinite(value))
            return std::nullopt;
    }
    return value;
}

// "http://HOST:PORT" with an optional "/" and nothing after it: the tool builds every path itself.
std::optional<origin> parse_origin(std::string_view text)
{
    const auto url = boost::urls::parse_uri(text);
    if (!url || url->scheme() != "http" || !url->has_authority() || url->has_userinfo() || url->has_query() ||
        url->has_fragment() || (url->encoded_path() != "" && url->encoded_path() != "/"))
        return std::nullopt;
    origin out;
    out.host = url->host_address();
    if (out.host.empty())
        return std::nullopt;
    out.port = url->has_port() ? std::string(url->port()) : "80";
    if (!parse_number<std::uint16_t>(out.port) || out.port == "0")
        return std::nullopt;
    out.authority = std::string(url->encoded_host_and_port());
    if (!url->has_port())
        out.authority += ":80";
    out.text = "http://" + out.authority;
    return out;
}

std::optional<protocol> parse_protocol(std::string_view text)
{
    for (protocol p : {protocol::reqstore, protocol::rest, protocol::etcd})
        if (text == name_of(p))
            return p;
    return std::nullopt;
}

std::optional<scenario> parse_scenario(std::string_view text)
{
    for (scenario s : {scenario::read, scenario::create, scenario::cas_update, scenario::update,
                       scenario::mixed, scenario::webhook_fanout})
        if (text == name_of(s))
            return s;
    return std::nullopt;
}

// Which scenarios each protocol can run; the rest are usage errors.
bool supports(protocol p, scenario s)
{
    switch (p)
    {
    case protocol::reqstore:
        return s != scenario::update;
    case protocol::rest:
        return s == scenario::read || s == scenario::update || s == scenario::create;
    case protocol::etcd:
        return s == scenario::read || s == scenario::cas_update;
    }
    return false;
}

} // namespace

std::string_view name_of(protocol p)
{
    switch (p)
    {
    case protocol::reqstore:
        return "reqstore";
    case protocol::rest:
        return "rest";
    case protocol::etcd:
        return "etcd";
    }
    return "?";
}

std::string_view name_of(scenario s)
{
    switch (s)
    {
    case scenario::read:
        return "read";
    case scenario::create:
        return "create";
    case scenario::cas_update:
        return "cas-update";
    case scenario::update:
        return "update";
    case scenario::mixed:
        return "mixed";
    case scenario::webhook_fanout:
        return "webhook-fanout";
    }
    return "?";
}

std::string usage_text()
{
    return "usage: reqstore-load --target http://HOST:PORT --scenario NAME [--protocol reqstore|rest|etcd]\n"
           "                     [--connections N] [--duration SECONDS] [--warmup SECONDS] [--rate RPS]\n"
           "                     [--keys N] [--skew zipf:S|uniform] [--auth ID.SECRET] [--json FILE]\n"
           "                     [--threads N] [--type NAME] [--path TEMPLATE] [--seed N] [--timeout "
           "SECONDS]\n"
           "                     [--reuse-keys FILE] [--save-keys FILE] [--sink URL --sink-secret "
           "whsec_...]\n"
           "                     [--drain SECONDS] [--quiet]\n"
           "\n"
           "An HTTP/1.1 load generator that checks what it measured. Scenarios:\n"
           "  read            GET one of --keys keys per request (keys set up first, not measured)\n"
           "  create          create one record per request\n"
           "  cas-update      increment a counter with If-Match (etcd: a txn on mod_revision), re-read and\n"
           "                  retry on 412; at the end every counter must equal its acknowledged updates "
           "and\n"
           "                  every version must be readable (no lost update)\n"
           "  update          rest only: PUT the whole object {\"id\",\"counter\"}, no precondition\n"
           "  mixed           reqstore only: 80% read, 15% cas-update, 5% create, with the cas-update check\n"
           "  webhook-fanout  reqstore only: status-changing cas-updates; deliveries to --sink are counted\n"
           "                  and their commit-to-delivery lag measured\n"
           "\n"
           "  --target URL        http://HOST:PORT of the server (required)\n"
           "  --scenario NAME     one of the above (required)\n"
           "  --protocol P        reqstore (default), rest (json-server or static files), etcd (v3 JSON "
           "gateway)\n"
           "  --connections N     keep-alive connections, one coroutine each (default 16)\n"
           "  --duration SECONDS  the measured part of the run (default 10)\n"
           "  --warmup SECONDS    run this long first without counting (default 0)\n"
           "  --rate RPS          open loop: send at fixed intervals, latency from the scheduled time;\n"
           "                      without it, closed loop (each connection sends when answered)\n"
           "  --keys N            keys to set up and choose from (default 1000)\n"
           "  --skew zipf:S       choose keys by a Zipf law of exponent S (key 0 hottest); default uniform\n"
           "  --auth ID.SECRET    API key, sent as `Authorization: Bearer ID.SECRET`\n"
           "  --json FILE         write the result as JSON (API.md section 11)\n"
           "  --threads N         I/O threads (default 1)\n"
           "  --type NAME         record type of created records (default request)\n"
           "  --path TEMPLATE     rest: the resource, `{id}` replaced by the key (e.g. /posts/{id}, "
           "/data.json)\n"
           "  --seed N            seed of the key choices and the mix (default 1)\n"
           "  --timeout SECONDS   deadline of every connect, write and read (default 10)\n"
           "  --reuse-keys FILE   use these keys (one a line) as they are instead of setting up new ones;\n"
           "                      counters are checked against the values read at the start\n"
           "  --save-keys FILE    write the keys this run set up, one a line\n"
           "  --sink URL          webhook-fanout: http://HOST:PORT of a running reqstore-sink\n"
           "  --sink-secret S     webhook-fanout: the sink's whsec_ secret, given to the subscription\n"
           "  --drain SECONDS     webhook-fanout: how long to wait for outstanding deliveries (default 10)\n"
           "  --quiet             no live progress on stderr\n"
           "\n"
           "Exit code: 0 when the run completed and its check holds, 1 when the check fails or the target\n"
           "cannot be reached, 2 for a usage error.\n";
}

std::variant<options, show_help, usage_error> parse_options(int argc, char** argv)
{
    options out;
    bool target_given = false;
    bool scenario_given = false;
    bool keys_given = false;
    for (int i = 1; i < argc; ++i)
    {
        const std::string_view name = argv[i];
        if (name == "--help" || name == "-h")
            return show_help{};
        if (name == "--quiet")
        {
            out.quiet = true;
            continue;
        }
        if (!name.starts_with("--"))
            return usage_error{std::string(name) + ": unexpected argument"};
        if (i + 1 >= argc)
            return usage_error{std::string(name) + ": unknown option or missing value"};
        const std::string_view value = argv[++i];
        const auto bad = [name, value](std::string_view expected)
        {
            return usage_error{std::string(name) + ": \"" + std::string(value) + "\" is not " +
                               std::string(expected)};
        };
        // Seconds are decimal numbers within (min, max]; zero only when min_inclusive.
        const auto seconds = [&](double& into, double max, bool zero_allowed) -> std::optional<usage_error>
        {
            const auto s = parse_number<double>(value);
            if (!s || *s < 0 || (*s == 0 && !zero_allowed) || *s > max)
                return bad(zero_allowed ? "a number of seconds from 0 to " + std::to_string(int(max))
                                        : "a positive number of seconds up to " + std::to_string(int(max)));
            into = *s;
            return std::nullopt;
        };
        if (name == "--target" || name == "--sink")
        {
            auto o = parse_origin(value);
            if (!o)
                return bad("an http://HOST:PORT URL without a path");
            (name == "--target" ? out.target : out.sink.emplace()) = std::move(*o);
            target_given = target_given || name == "--target";
        }
        else if (name == "--scenario")
        {
            const auto s = parse_scenario(value);
            if (!s)
                return bad("a scenario (read, create, cas-update, update, mixed, webhook-fanout)");
            out.what = *s;
            scenario_given = true;
        }
        else if (name == "--protocol")
        {
            const auto p = parse_protocol(value);
            if (!p)
                return bad("reqstore, rest or etcd");
            out.proto = *p;
        }
        else if (name == "--connections")
        {
            const auto n = parse_number<unsigned>(value);
            if (!n || *n == 0 || *n > 10'000)
                return bad("a connection count from 1 to 10000");
            out.connections = *n;
        }
        else if (name == "--duration")
        {
            if (auto e = seconds(out.duration_s, 86'400, false))
                return *e;
        }
        else if (name == "--warmup")
        {
            if (auto e = seconds(out.warmup_s, 3'600, true))
                return *e;
        }
        else if (name == "--timeout")
        {
            if (auto e = seconds(out.timeout_s, 600, false))
                return *e;
        }
        else if (name == "--drain")
        {
            if (auto e = seconds(out.drain_s, 3'600, true))
                return *e;
        }
        else if (name == "--rate")
        {
            const auto r = parse_number<double>(value);
            if (!r || *r <= 0 || *r > 10'000'000)
                return bad("a positive rate up to 10000000 requests per second");
            out.rate = *r;
        }
        else if (name == "--keys")
        {
            const auto n = parse_number<std::size_t>(value);
            if (!n || *n == 0 || *n > 10'000'000)
                return bad("a key count from 1 to 10000000");
            out.keys = *n;
            keys_given = true;
        }
        else if (name == "--skew")
        {
            if (value == "uniform")
                out.zipf.reset();
            else
            {
                const auto s =
                    value.starts_with("zipf:") ? parse_number<double>(value.substr(5)) : std::nullopt;
                if (!s || *s <= 0 || *s > 10)
                    return bad("zipf:S with 0 < S <= 10, or uniform");
                out.zipf = *s;
            }
        }
        else if (name == "--auth")
        {
            const auto dot = value.find('.');
            if (dot == std::string_view::npos || dot == 0 || dot + 1 == value.size() ||
                value.find_first_of(" \t\r\n") != std::string_view::npos)
                return bad("ID.SECRET");
            out.auth = std::string(value);
        }
        else if (name == "--json" || name == "--reuse-keys" || name == "--save-keys")
        {
            if (value.empty())
                return bad("a file name");
            (name == "--json"         ? out.json_file
             : name == "--reuse-keys" ? out.reuse_keys_file
                                      : out.save_keys_file) = std::string(value);
        }
        else if (name == "--path")
        {
            if (!value.starts_with("/") || value.find_first_of(" \t\r\n?#") != std::string_view::npos)
                return bad("an absolute path without query (e.g. /posts/{id})");
            out.path_template = std::string(value);
        }
        else if (name == "--threads")
        {
            const auto n = parse_number<unsigned>(value);
            if (!n || *n == 0 || *n > 256)
                return bad("a thread count from 1 to 256");
            out.threads = *n;
        }
        else if (name == "--type")
        {
            if (value.empty() || value.find_first_of("\"\\ \t\r\n") != std::string_view::npos)
                return bad("a type name");
            out.record_type = std::string(value);
        }
        else if (name == "--seed")
        {
            const auto n = parse_number<std::uint64_t>(value);
            if (!n)
                return bad("an unsigned integer");
            out.seed = *n;
        }
        else if (name == "--sink-secret")
        {
            if (!hooks::decode_secret(value))
                return bad("a whsec_ secret (base64 of 16 to 128 bytes)");
            out.sink_secret = std::string(value);
        }
        else
            return usage_error{std::string(name) + ": unknown option"};
    }

    if (!target_given)
        return usage_error{"--target: http://HOST:PORT is required"};
    if (!scenario_given)
        return usage_error{"--scenario: a scenario is required"};
    if (!supports(out.proto, out.what))
        return usage_error{"--scenario: " + std::string(name_of(out.what)) +
                           " is not available with --protocol " + std::string(name_of(out.proto))};
    if (out.proto == protocol::rest && out.path_template.empty())
        return usage_error{"--path: --protocol rest needs the resource path (e.g. /posts/{id})"};
    if (out.proto != protocol::rest && !out.path_template.empty())
        return usage_error{"--path: only with --protocol rest"};
    if (out.proto == protocol::rest && out.what == scenario::update &&
        out.path_template.find("{id}") == std::string::npos)
        return usage_error{"--path: the update scenario needs {id} in the path"};
    const bool fanout = out.what == scenario::webhook_fanout;
    if (fanout && !out.sink)
        return usage_error{"--sink: webhook-fanout needs the URL of a running reqstore-sink"};
    if (fanout && out.sink_secret.empty())
        return usage_error{"--sink-secret: webhook-fanout needs the sink's whsec_ secret"};
    if (!fanout && (out.sink || !out.sink_secret.empty()))
        return usage_error{std::string(out.sink ? "--sink" : "--sink-secret") + ": only with webhook-fanout"};
    if (!out.reuse_keys_file.empty() && keys_given)
        return usage_error{"--keys: the keys come from --reuse-keys; give one or the other"};
    if (!out.reuse_keys_file.empty() && !out.save_keys_file.empty())
        return usage_error{"--save-keys: nothing is set up with --reuse-keys"};
    return out;
}

} // namespace reqstore::load
