// Parsing reqstore-sink's command line.
#include "options.hpp"

#include <reqstore/hooks/signer.hpp>

#include <charconv>
#include <string_view>

namespace reqstore::sink
{
namespace
{

template <typename T>
std::optional<T> parse_integer(std::string_view text)
{
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<double> parse_rate(std::string_view text)
{
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0 && value <= 1))
        return std::nullopt;
    return value;
}

// "HOST:PORT" or "[V6]:PORT".
bool parse_listen(std::string_view text, options& out)
{
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return false;
    std::string_view host = text.substr(0, colon);
    if (host.front() == '[')
    {
        if (host.size() < 3 || host.back() != ']')
            return false;
        host = host.substr(1, host.size() - 2);
    }
    const auto port = parse_integer<std::uint16_t>(text.substr(colon + 1));
    if (!port)
        return false;
    out.host = std::string(host);
    out.port = *port;
    return true;
}

} // namespace

std::string usage_text()
{
    return "usage: reqstore-sink --listen HOST:PORT --secret whsec_... [--secret whsec_...]\n"
           "                     [--fail-rate F] [--hang-rate F] [--seed N] [--status CODE]\n"
           "                     [--answer-delay-ms N] [--json FILE] [--bodies FILE] [--max-age SECONDS]\n"
           "                     [--threads N]\n"
           "\n"
           "A Standard Webhooks receiver for reqstore's deliveries. POST on any path outside /v1 is a\n"
           "delivery; GET /stats answers the summary, GET /deliveries?record=ID one record's deliveries.\n"
           "Two verified deliveries of one record to one path in flight at once are counted as\n"
           "overlapping_attempts (a lane must be attempted one delivery at a time).\n"
           "\n"
           "  --listen HOST:PORT  where to listen (port 0: a free port); prints `listening on HOST:PORT`\n"
           "  --secret whsec_...  a signing secret; repeat it: a delivery verifies if any secret matches\n"
           "  --fail-rate F       answer this fraction (0..1) of verified deliveries with 500, unrecorded\n"
           "  --hang-rate F       record this fraction (0..1) of deliveries, then answer after 60 s\n"
           "  --seed N            seed for --fail-rate and --hang-rate (default: random)\n"
           "  --status CODE       answer every verified delivery with CODE (non-2xx: not recorded)\n"
           "  --answer-delay-ms N\n"
           "                      answer every accepted delivery N ms (0..60000) after recording it,\n"
           "                      so that attempts last long enough to overlap (default 0)\n"
           "  --json FILE         write the summary to FILE on SIGTERM or SIGINT\n"
           "  --bodies FILE       append every accepted delivery to FILE as one JSON line:\n"
           "                      {\"path\", \"headers\" (webhook-*, content-type), \"body\"}\n"
           "  --max-age SECONDS   refuse webhook-timestamps further than this from now (default 300)\n"
           "  --threads N         I/O threads (default 2)\n";
}

std::variant<options, show_help, usage_error> parse_options(int argc, char** argv)
{
    options out;
    bool listen_given = false;
    for (int i = 1; i < argc; ++i)
    {
        const std::string_view name = argv[i];
        if (name == "--help" || name == "-h")
            return show_help{};
        if (i + 1 >= argc)
            return usage_error{std::string(name) + ": unknown option or missing value"};
        const std::string_view value = argv[++i];
        const auto bad = [name, value](std::string_view expected)
        {
            return usage_error{std::string(name) + ": \"" + std::string(value) + "\" is not " +
                               std::string(expected)};
        };
        if (name == "--listen")
        {
            if (!parse_listen(value, out))
                return bad("HOST:PORT");
            listen_given = true;
        }
        else if (name == "--secret")
        {
            auto key = hooks::decode_secret(value);
            if (!key)
                return usage_error{"--secret: not a whsec_ secret (base64 of 16 to 128 bytes)"};
            out.keys.push_back(std::move(*key));
        }
        else if (name == "--fail-rate" || name == "--hang-rate")
        {
            const auto rate = parse_rate(value);
            if (!rate)
                return bad("a fraction from 0 to 1");
            (name == "--fail-rate" ? out.fail_rate : out.hang_rate) = *rate;
        }
        else if (name == "--seed")
        {
            out.seed = parse_integer<std::uint64_t>(value);
            if (!out.seed)
                return bad("an unsigned integer");
        }
        else if (name == "--status")
        {
            const auto status = parse_integer<unsigned>(value);
            if (!status || *status < 200 || *status > 599)
                return bad("an HTTP status from 200 to 599");
            out.status = *status;
        }
        else if (name == "--answer-delay-ms")
        {
            const auto delay = parse_integer<unsigned>(value);
            if (!delay || *delay > max_answer_delay_ms)
                return bad("a delay from 0 to " + std::to_string(max_answer_delay_ms) + " ms");
            out.answer_delay_ms = *delay;
        }
        else if (name == "--json" || name == "--bodies")
        {
            if (value.empty())
                return bad("a file name");
            (name == "--json" ? out.json_file : out.bodies_file) = std::string(value);
        }
        else if (name == "--max-age")
        {
            const auto seconds = parse_integer<std::int64_t>(value);
            if (!seconds || *seconds <= 0)
                return bad("a positive number of seconds");
            out.max_age_seconds = *seconds;
        }
        else if (name == "--threads")
        {
            const auto threads = parse_integer<unsigned>(value);
            if (!threads || *threads == 0 || *threads > 256)
                return bad("a thread count from 1 to 256");
            out.threads = *threads;
        }
        else
            return usage_error{std::string(name) + ": unknown option"};
    }
    if (!listen_given)
        return usage_error{"--listen HOST:PORT is required"};
    if (out.keys.empty())
        return usage_error{"at least one --secret is required"};
    return out;
}

} // namespace reqstore::sink
