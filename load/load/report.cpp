// Formatting the result of a run.
#include "report.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../common/json_file.hpp"

namespace reqstore::load
{
namespace json = boost::json;

namespace
{

double ms(std::uint64_t us)
{
    return static_cast<double>(us) / 1000.0;
}

std::string fixed(double v, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
    return text;
}

std::string skew_name(const options& o)
{
    return o.zipf ? "zipf:" + fixed(*o.zipf, 3) : "uniform";
}

} // namespace

json::object to_json(const options& o, const summary& s)
{
    json::object status;
    for (const auto& [code, n] : s.status)
        status[std::to_string(code)] = n;
    const json::object latency{
        {"p50", ms(s.latency.percentile(50))}, {"p90", ms(s.latency.percentile(90))},
        {"p99", ms(s.latency.percentile(99))}, {"p999", ms(s.latency.percentile(99.9))},
        {"max", ms(s.latency.max())},          {"mean", s.latency.mean() / 1000.0}};
    json::object out{{"scenario", name_of(o.what)},
                     {"protocol", name_of(o.proto)},
                     {"target", o.target.text},
                     {"connections", o.connections},
                     {"threads", o.threads},
                     {"duration_s", o.duration_s},
                     {"warmup_s", o.warmup_s},
                     {"rate", o.rate ? json::value(*o.rate) : json::value(nullptr)},
                     {"keys", s.keys},
                     {"skew", skew_name(o)},
                     {"requests", s.requests},
                     {"rps", static_cast<double>(s.requests) / o.duration_s},
                     {"latency_ms", latency},
                     {"status", std::move(status)},
                     {"errors", s.errors},
                     {"conflicts", s.conflicts},
                     {"updates", {{"acknowledged", s.acknowledged}, {"uncertain", s.uncertain}}},
                     {"connects", s.connects}};
    for (const auto& member : s.extra)
        out[member.key()] = member.value();
    out["correctness"] =
        json::object{{"ok", s.verdict.ok}, {"checked", s.verdict.checked}, {"detail", s.verdict.detail}};
    return out;
}

std::string to_text(const options& o, const summary& s)
{
    std::string out =
        "reqstore-load: " + std::string(name_of(o.what)) + " on " + o.target.text + " (" +
        std::string(name_of(o.proto)) + "), " + std::to_string(o.connections) + " connections, " +
        std::to_string(o.threads) + (o.threads == 1 ? " thread, " : " threads, ") + fixed(o.duration_s, 1) +
        " s" + (o.warmup_s > 0 ? " after " + fixed(o.warmup_s, 1) + " s warmup" : "") + ", " +
        (o.rate ? "open loop at " + fixed(*o.rate, 0) + " req/s" : std::string("closed loop")) +
        (s.keys > 0 ? ", " + std::to_string(s.keys) + " keys " + skew_name(o) : std::string()) + "\n";
    out += "  requests  " + std::to_string(s.requests) + " (" +
           fixed(static_cast<double>(s.requests) / o.duration_s, 1) + "/s), errors " +
           std::to_string(s.errors) + "\n";
    out += "  latency   ms p50 " + fixed(ms(s.latency.percentile(50)), 3) + "  p90 " +
           fixed(ms(s.latency.percentile(90)), 3) + "  p99 " + fixed(ms(s.latency.percentile(99)), 3) +
           "  p99.9 " + fixed(ms(s.latency.percentile(99.9)), 3) + "  max " + fixed(ms(s.latency.max()), 3) +
           "  mean " + fixed(s.latency.mean() / 1000.0, 3) + "\n";
    out += "  status   ";
    if (s.status.empty())
        out += " none";
    for (const auto& [code, n] : s.status)
        out += " " + std::to_string(code) + ": " + std::to_string(n);
    out += "\n";
    if (s.acknowledged > 0 || s.conflicts > 0)
        out += "  updates   " + std::to_string(s.acknowledged) + " acknowledged, " +
               std::to_string(s.conflicts) + " conflicts, " + std::to_string(s.uncertain) +
               " without answer\n";
    if (const auto* hooks = s.extra.if_contains("webhooks"); hooks != nullptr && hooks->is_object())
        out += "  webhooks  " + json::serialize(*hooks) + "\n";
    out += std::string("  check     ") + (s.verdict.ok ? "ok" : "FAILED") + ": " + s.verdict.detail + "\n";
    return out;
}

bool write_report(const std::string& file, const json::object& report)
{
    return tools::write_json_file(file, report);
}

} // namespace reqstore::load
