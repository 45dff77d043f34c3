// webhook-fanout against a reqstore-sink: the sink's GET /stats says how many deliveries reached
// this run's path, and GET /deliveries?record=ID when each version arrived, which against the
// version's updated_at gives the commit-to-delivery lag.
#include "fanout.hpp"

#include <reqstore/core/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "driver.hpp"
#include "histogram.hpp"

namespace reqstore::load
{
namespace json = boost::json;

namespace
{

std::string random_tag()
{
    std::random_device device;
    const std::uint64_t n = (std::uint64_t{device()} << 32) ^ device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(n));
    return text;
}

double milliseconds(std::uint64_t us)
{
    return static_cast<double>(us) / 1000.0;
}

// The sink's counters for one path: {accepted, duplicates}; zeros when it has none yet.
std::pair<std::int64_t, std::int64_t> path_counts(const json::object& stats, const std::string& path)
{
    const auto* by_path = stats.if_contains("by_path");
    const auto* mine =
        by_path != nullptr && by_path->is_object() ? by_path->as_object().if_contains(path) : nullptr;
    if (mine == nullptr || !mine->is_object())
        return {0, 0};
    return {integer_member(mine->as_object(), "accepted").value_or(0),
            integer_member(mine->as_object(), "duplicates").value_or(0)};
}

} // namespace

webhook_fanout::webhook_fanout(const options& o) : options_(o), path_("/reqstore-load/" + random_tag()) {}

net::awaitable<std::string> webhook_fanout::subscribe(connection& target)
{
    const json::object body{{"url", options_.sink->text + path_},
                            {"events", json::array{"request.status_changed"}},
                            {"types", json::array{json::string(options_.record_type)}},
                            {"secret", options_.sink_secret}};
    target.prepare(http::verb::post, "/v1/webhooks", json::serialize(body));
    if (const auto ec = co_await target.exchange())
        co_return describe_failure(target, ec);
    const auto created = target.status() == 201 ? body_object(target) : std::nullopt;
    const auto* id = created ? created->if_contains("id") : nullptr;
    if (id == nullptr || !id->is_string())
        co_return "subscribing the sink: " + describe_answer(target);
    subscription_ = std::string(id->as_string());
    started_ms_ = core::now_millis();
    co_return std::string();
}

net::awaitable<std::string> webhook_fanout::judge(connection& target, key_table& keys, json::object& report)
{
    std::size_t expected = 0;
    for (std::size_t i = 0; i < keys.size(); ++i)
        expected += keys[i].commits.size();

    net::ip::tcp::resolver resolver(target.get_executor());
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(options_.sink->host, options_.sink->port,
                                                                   net::as_tuple(net::use_awaitable));
    if (resolve_ec)
        co_return "cannot resolve the sink " + options_.sink->text + ": " + resolve_ec.message();
    const endpoint_info where{
        endpoints, options_.sink->authority, "",
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(options_.timeout_s))};
    connection sink(target.get_executor(), where);

    // Wait until the sink has as many distinct deliveries at this path as versions were committed.
    net::steady_timer timer(target.get_executor());
    const auto give_up = steady::now() + std::chrono::duration_cast<steady::duration>(
                                             std::chrono::duration<double>(options_.drain_s));
    for (;;)
    {
        sink.prepare(http::verb::get, "/stats");
        if (const auto ec = co_await exchange_retrying(sink))
            co_return "the sink: " + describe_failure(sink, ec);
        const auto stats = sink.status() == 200 ? body_object(sink) : std::nullopt;
        if (!stats)
            co_return "the sink: " + describe_answer(sink);
        const auto [accepted, duplicates] = path_counts(*stats, path_);
        if (static_cast<std::size_t>(accepted - duplicates) >= expected || steady::now() >= give_up)
            break;
        timer.expires_after(std::chrono::milliseconds(100));
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }

    histogram lag;
    std::uint64_t delivered = 0, missing = 0, duplicates = 0, out_of_order = 0, truncated = 0;
    std::int64_t last_at = started_ms_;
    std::string first_problem;
    for (std::size_t i = 0; i < keys.size(); ++i)
    {
        const key_state& k = keys[i];
        if (k.commits.empty())
            continue;
        sink.prepare(http::verb::get, "/deliveries?record=" + k.name);
        if (const auto ec = co_await exchange_retrying(sink))
            co_return "the sink: " + describe_failure(sink, ec);
        const auto answer = sink.status() == 200 ? body_object(sink) : std::nullopt;
        const auto* list = answer ? answer->if_contains("deliveries") : nullptr;
        if (list == nullptr || !list->is_array())
            co_return "the sink: " + describe_answer(sink);
        const auto* cut = answer->if_contains("truncated");
        const bool was_truncated = cut != nullptr && cut->is_bool() && cut->as_bool();
        std::map<std::int64_t, std::int64_t> first_arrival; // version -> at
        std::int64_t highest = 0;
        for (const auto& item : list->as_array())
        {
            if (!item.is_object())
                continue;
            const json::object& d = item.as_object();
            const auto* path = d.if_contains("path");
            if (path == nullptr || !path->is_string() || path->as_string() != path_)
                continue;
            const auto* dup = d.if_contains("duplicate");
            if (dup != nullptr && dup->is_bool() && dup->as_bool())
            {
                ++duplicates;
                continue;
            }
            const auto version = integer_member(d, "version");
            const auto* at = d.if_contains("at");
            const auto at_ms =
                at != nullptr && at->is_string() ? core::parse_rfc3339(at->as_string()) : std::nullopt;
            if (!version || !at_ms)
                continue;
            if (*version < highest)
            {
                ++out_of_order;
                if (first_problem.empty())
                    first_problem = "key " + k.name + ": version " + std::to_string(*version) +
                                    " delivered after version " + std::to_string(highest);
            }
            highest = std::max(highest, *version);
            first_arrival.emplace(*version, *at_ms);
        }
        for (const commit& c : k.commits)
        {
            const auto it = first_arrival.find(c.version);
            if (it == first_arrival.end())
            {
                if (was_truncated)
                {
                    ++truncated;
                    continue;
                }
                ++missing;
                if (first_problem.empty())
                    first_problem = "key " + k.name + ": version " + std::to_string(c.version) +
                                    " was never delivered to the sink";
                continue;
            }
            ++delivered;
            last_at = std::max(last_at, it->second);
            const std::int64_t lag_ms = std::max<std::int64_t>(0, it->second - c.at_ms);
            lag.record(static_cast<std::uint64_t>(lag_ms) * 1000);
        }
    }

    // The subscription belongs to this run only.
    target.prepare(http::verb::delete_, "/v1/webhooks/" + subscription_);
    if (const auto ec = co_await exchange_retrying(target))
        co_return "deleting the subscription: " + describe_failure(target, ec);

    const double window_s = static_cast<double>(last_at - started_ms_) / 1000.0;
    report["webhooks"] =
        json::object{{"subscription", subscription_},
                     {"sink_url", options_.sink->text + path_},
                     {"committed", expected},
                     {"delivered", delivered},
                     {"missing", missing},
                     {"unchecked", truncated},
                     {"duplicates", duplicates},
                     {"out_of_order", out_of_order},
                     {"deliveries_per_s", window_s > 0 ? static_cast<double>(delivered) / window_s : 0.0},
                     {"lag_ms",
                      {{"p50", milliseconds(lag.percentile(50))},
                       {"p90", milliseconds(lag.percentile(90))},
                       {"p99", milliseconds(lag.percentile(99))},
                       {"max", milliseconds(lag.max())}}}};
    if (missing > 0 || out_of_order > 0)
        co_return std::to_string(missing) + " versions never delivered, " + std::to_string(out_of_order) +
            " delivered out of order; first: " + first_problem;
    co_return std::string();
}

} // namespace reqstore::load
