// reqstore-check: decides whether a recorded operation history is linearizable for reqstore's
// record model, with the version-order checker and the WGL search, and prints one JSON report.
// Exit code: 0 when every chosen checker passes, 1 when one finds a violation, 2 for bad input or
// usage.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "generate.hpp"
#include "history.hpp"
#include "version_order.hpp"
#include "wgl.hpp"

using namespace reqstore::check;
namespace json = boost::json;

namespace
{

std::string usage_text()
{
    return "usage: reqstore-check [--checker version-order|wgl|both] [--max-window N] [--max-explored N]\n"
           "                      [--show N] HISTORY.jsonl\n"
           "       reqstore-check --generate OPS [--seed S] [--crashes N] [--processes N] [--hot-keys N]\n"
           "                      > HISTORY.jsonl\n"
           "\n"
           "Reads a recorded operation history (JSON Lines; \"-\" reads standard input) and decides\n"
           "whether it is linearizable, printing one JSON object. Exit code: 0 when every chosen\n"
           "checker passes, 1 when a violation is found, 2 for bad input or usage.\n"
           "\n"
           "  --checker C       version-order, wgl or both (default both)\n"
           "  --max-window N    the widest WGL window searched, 1 to 4096 (default 256): the most\n"
           "                    operations invoked while one is pending; a wider one\n"
           "                    is reported as inconclusive\n"
           "  --max-explored N  the WGL search budget per window, plus 16 per operation of the window\n"
           "                    (default 1000000); a window over it is reported as inconclusive\n"
           "  --show N          list the first N violations of each checker (default 20); all are\n"
           "                    counted, by kind\n"
           "  --generate OPS    write a synthetic linearizable history of about OPS operations with\n"
           "                    crashes to standard output instead (--seed, --crashes, --processes,\n"
           "                    --hot-keys: the records every client updates, default 16)\n";
}

struct options
{
    bool version_order = true;
    bool wgl = true;
    wgl_options search;
    std::optional<generate_options> generate;
    std::string file;
    std::size_t shown = 20; // violations (and inconclusive windows) listed per checker
    bool help = false;
};

template <typename T>
std::optional<T> parse_number(std::string_view text)
{
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

// Returns the options, or a usage error's message.
std::variant<options, std::string> parse_options(int argc, char** argv)
{
    options out;
    generate_options generate;
    bool generating = false;
    for (int i = 1; i < argc; ++i)
    {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::optional<std::string_view>
        {
            if (i + 1 >= argc)
                return std::nullopt;
            return std::string_view(argv[++i]);
        };
        const auto number = [&]() -> std::optional<std::uint64_t>
        {
            const auto text = value();
            return text ? parse_number<std::uint64_t>(*text) : std::nullopt;
        };
        if (arg == "--help" || arg == "-h")
            out.help = true;
        else if (arg == "--checker")
        {
            const auto which = value();
            if (which == "version-order")
                out.wgl = false;
            else if (which == "wgl")
                out.version_order = false;
            else if (which != "both")
                return std::string("--checker takes version-order, wgl or both");
        }
        else if (arg == "--max-window")
        {
            const auto n = number();
            if (!n || *n < 1 || *n > 4096)
                return std::string("--max-window takes a number from 1 to 4096");
            out.search.max_window = *n;
        }
        else if (arg == "--max-explored")
        {
            const auto n = number();
            if (!n || *n < 1)
                return std::string("--max-explored takes a positive number");
            out.search.max_explored = *n;
        }
        else if (arg == "--show")
        {
            const auto n = number();
            if (!n)
                return std::string("--show takes a number");
            out.shown = *n;
        }
        else if (arg == "--generate")
        {
            const auto n = number();
            if (!n || *n < 1)
                return std::string("--generate takes a positive number of operations");
            generate.ops = *n;
            generating = true;
        }
        else if (arg == "--seed")
        {
            const auto n = number();
            if (!n)
                return std::string("--seed takes a number");
            generate.seed = *n;
        }
        else if (arg == "--crashes")
        {
            const auto n = number();
            if (!n || *n > 100000)
                return std::string("--crashes takes a number up to 100000");
            generate.crashes = static_cast<unsigned>(*n);
        }
        else if (arg == "--hot-keys")
        {
            const auto n = number();
            if (!n || *n > 100000)
                return std::string("--hot-keys takes a number up to 100000");
            generate.hot_keys = static_cast<unsigned>(*n);
        }
        else if (arg == "--processes")
        {
            const auto n = number();
            if (!n || *n < 1 || *n > 100000)
                return std::string("--processes takes a number from 1 to 100000");
            generate.processes = static_cast<unsigned>(*n);
        }
        else if (arg.starts_with("-") && arg != "-")
            return "unknown option " + std::string(arg);
        else if (!out.file.empty())
            return std::string("one history file at most");
        else
            out.file = std::string(arg);
    }
    if (generating)
        out.generate = generate;
    else if (out.file.empty() && !out.help)
        return std::string("no history file");
    return out;
}

json::object to_json(const violation& v)
{
    json::array lines;
    for (const std::uint32_t line : v.lines)
        lines.push_back(line);
    return {{"kind", name_of(v.kind)}, {"key", v.key}, {"lines", std::move(lines)}, {"message", v.message}};
}

json::object summary(const std::vector<violation>& violations, std::size_t shown_at_most)
{
    json::array shown;
    json::object kinds;
    for (const violation& v : violations)
    {
        if (shown.size() < shown_at_most)
            shown.push_back(to_json(v));
        const std::string_view kind = name_of(v.kind);
        kinds[kind] = (kinds.contains(kind) ? kinds[kind].as_int64() : 0) + 1;
    }
    return {{"ok", violations.empty()},
            {"count", violations.size()},
            {"kinds", std::move(kinds)},
            {"violations", std::move(shown)}};
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int check(const options& opts)
{
    const auto started = std::chrono::steady_clock::now();
    std::variant<history, history_error> read;
    if (opts.file == "-")
        read = read_history(std::cin);
    else
    {
        std::ifstream in(opts.file, std::ios::binary);
        if (!in)
        {
            std::cerr << "reqstore-check: cannot open " << opts.file << "\n";
            return 2;
        }
        read = read_history(in);
    }
    if (const auto* error = std::get_if<history_error>(&read))
    {
        std::cerr << "reqstore-check: " << opts.file;
        if (error->line > 0)
            std::cerr << ":" << error->line;
        std::cerr << ": " << error->message << "\n";
        return 2;
    }
    const history& h = std::get<history>(read);
    json::object out{{"ops", h.ops.size()},
                     {"keys", h.keys.size()},
                     {"crashes", h.crashes.size()},
                     {"read_seconds", seconds_since(started)}};
    bool passed = true;
    if (opts.version_order)
    {
        const auto checking = std::chrono::steady_clock::now();
        const version_order_report report = check_version_order(h);
        json::object result = summary(report.violations, opts.shown);
        result["seconds"] = seconds_since(checking);
        out["version_order"] = std::move(result);
        passed = passed && report.violations.empty();
    }
    if (opts.wgl)
    {
        const auto checking = std::chrono::steady_clock::now();
        const wgl_report report = check_wgl(h, opts.search);
        json::object result = summary(report.violations, opts.shown);
        result["windows"] = report.windows;
        result["largest_window"] = report.largest_window;
        result["widest_window"] = report.widest_window;
        result["explored"] = report.explored;
        json::array inconclusive;
        for (const inconclusive_window& w : report.inconclusive)
        {
            if (inconclusive.size() >= opts.shown)
                break;
            inconclusive.push_back(json::object{{"key", w.key},
                                                {"lines", json::array{w.first_line, w.last_line}},
                                                {"ops", w.ops},
                                                {"width", w.width},
                                                {"explored", w.explored},
                                                {"reason", w.reason}});
        }
        result["inconclusive_count"] = report.inconclusive.size();
        result["inconclusive"] = std::move(inconclusive);
        result["seconds"] = seconds_since(checking);
        out["wgl"] = std::move(result);
        passed = passed && report.violations.empty();
    }
    out["seconds"] = seconds_since(started);
    std::cout << json::serialize(out) << "\n";
    return passed ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    const auto parsed = parse_options(argc, argv);
    if (const auto* error = std::get_if<std::string>(&parsed))
    {
        std::cerr << "reqstore-check: " << *error << "\n\n" << usage_text();
        return 2;
    }
    const options& opts = std::get<options>(parsed);
    if (opts.help)
    {
        std::cout << usage_text();
        return 0;
    }
    try
    {
        if (opts.generate)
        {
            std::ios::sync_with_stdio(false);
            generate_history(std::cout, *opts.generate);
            std::cout.flush();
            return std::cout ? 0 : 2;
        }
        return check(opts);
    }
    catch (const std::exception& e)
    {
        std::cerr << "reqstore-check: " << e.what() << "\n";
        return 2;
    }
}
