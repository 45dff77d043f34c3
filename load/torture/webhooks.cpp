// The webhook checks of a torture run (webhooks.hpp).
#include "webhooks.hpp"

#include <reqstore/core/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <map>

namespace reqstore::torture
{
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace
{

// The answer of a GET as a JSON object, or nullopt (with `error` set).
net::awaitable<std::optional<json::object>> fetch(load::connection& conn, std::string target,
                                                  std::string& error)
{
    conn.prepare(http::verb::get, target);
    if (auto ec = co_await conn.exchange())
    {
        error = "GET " + target + " failed: " + ec.message();
        co_return std::nullopt;
    }
    boost::system::error_code ec;
    auto value = json::parse(conn.body(), ec);
    if (conn.status() != 200 || ec || !value.is_object())
    {
        error = "GET " + target + " answered " + std::to_string(conn.status());
        co_return std::nullopt;
    }
    co_return std::move(value.as_object());
}

std::uint64_t counter(const json::object& stats, std::string_view name)
{
    const auto* v = stats.if_contains(name);
    return v && v->is_number() ? v->to_number<std::uint64_t>() : 0;
}

double percentile(std::vector<std::int64_t> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return static_cast<double>(values[std::min(rank, values.size() - 1)]);
}

} // namespace

net::awaitable<json::object> check_webhooks(ledger& book, const audit& feed,
                                            const std::vector<receiver>& receivers,
                                            steady::time_point last_restart, std::int64_t quiet_from,
                                            webhook_limits limits)
{
    auto executor = co_await net::this_coro::executor;
    std::uint64_t expected = 0;
    for (const auto& [key, state] : book.keys())
        expected += state.versions.size();

    std::vector<std::unique_ptr<load::connection>> conns;
    for (const auto& r : receivers)
        conns.push_back(std::make_unique<load::connection>(executor, r.where));

    // Wait until each receiver holds as many distinct deliveries as there are versions.
    json::object figures{{"versions", expected}};
    const auto deadline = last_restart + limits.deliver_within;
    net::steady_timer pause(executor);
    std::vector<std::uint64_t> distinct(receivers.size(), 0);
    while (true)
    {
        bool all = true;
        for (std::size_t i = 0; i < receivers.size(); ++i)
        {
            std::string error;
            const std::string target = "/stats";
            const auto stats = co_await fetch(*conns[i], target, error);
            if (!stats)
            {
                book.report({"webhook", "", receivers[i].name + ": " + error});
                co_return figures;
            }
            distinct[i] = counter(*stats, "accepted") - counter(*stats, "duplicates");
            all = all && distinct[i] >= expected;
        }
        if (all || steady::now() >= deadline)
            break;
        pause.expires_after(std::chrono::milliseconds(200));
        co_await pause.async_wait(net::as_tuple(net::use_awaitable));
    }
    figures["delivered_all_after_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - last_restart).count();

    // Each record at each receiver: every version, nothing else, one webhook-id per version (the
    // same at every receiver), first arrivals in version order.
    std::map<std::pair<std::string, std::uint64_t>, std::string> ids; // (key, version) → webhook-id
    std::vector<std::int64_t> healthy_lags;
    for (std::size_t i = 0; i < receivers.size(); ++i)
    {
        const auto& r = receivers[i];
        std::uint64_t missing = 0;
        for (const auto& [key, state] : book.keys())
        {
            if (state.versions.empty())
                continue;
            std::string error;
            const std::string target = "/deliveries?record=" + key;
            const auto list = co_await fetch(*conns[i], target, error);
            if (!list)
            {
                book.report({"webhook", key, r.name + ": " + error});
                co_return figures;
            }
            std::vector<bool> seen(state.versions.size() + 1, false);
            std::uint64_t last_first = 0;
            for (const auto& entry : list->at("deliveries").as_array())
            {
                const auto& d = entry.as_object();
                const auto* v = d.if_contains("version");
                if (!v || !v->is_int64())
                    continue; // not a record event
                const auto version = static_cast<std::uint64_t>(v->as_int64());
                const std::string webhook_id(d.at("webhook_id").as_string());
                if (version == 0 || version > state.versions.size())
                {
                    book.report(
                        {"webhook", key,
                         r.name + " got version " + std::to_string(version) + ", which does not exist"});
                    continue;
                }
                const auto [known, inserted] = ids.try_emplace({key, version}, webhook_id);
                if (!inserted && known->second != webhook_id)
                    book.report({"webhook", key,
                                 "version " + std::to_string(version) + " came as " + known->second +
                                     " and as " + webhook_id});
                if (seen[version])
                    continue;
                seen[version] = true;
                if (version < last_first)
                    book.report({"webhook", key,
                                 r.name + ": version " + std::to_string(version) +
                                     " first arrived after version " + std::to_string(last_first)});
                last_first = std::max(last_first, version);
                const auto committed = feed.event_time(key, version);
                if (!r.misbehaves && committed && *committed >= quiet_from)
                    if (const auto at = core::parse_rfc3339(d.at("at").as_string()))
                        healthy_lags.push_back(*at - *committed);
            }
            for (std::uint64_t v = 1; v <= state.versions.size(); ++v)
                if (!seen[v])
                    ++missing;
        }
        if (missing > 0)
            book.report({"webhook", "",
                         r.name + " never got " + std::to_string(missing) + " of " +
                             std::to_string(expected) + " versions within " +
                             std::to_string(limits.deliver_within.count()) + " ms"});
        figures[r.name] = json::object{{"distinct_deliveries", distinct[i]}, {"missing", missing}};
    }
    const double p99 = percentile(healthy_lags, 0.99);
    figures["healthy_lag_ms"] = json::object{{"p50", percentile(healthy_lags, 0.5)},
                                             {"p99", p99},
                                             {"max", percentile(healthy_lags, 1.0)},
                                             {"count", healthy_lags.size()}};
    if (p99 > static_cast<double>(limits.healthy_lag_p99.count()))
        book.report({"webhook", "",
                     "the healthy receiver's first deliveries lag " + std::to_string(p99) +
                         " ms at p99 (limit " + std::to_string(limits.healthy_lag_p99.count()) +
                         " ms): head-of-line blocking"});
    co_return figures;
}

} // namespace reqstore::torture
