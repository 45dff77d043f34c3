// The sink's handlers: Standard Webhooks verification, the simulated failures, and the ledger's views.
#include "receiver.hpp"

#include <reqstore/core/time.hpp>
#include <reqstore/hooks/signer.hpp>
#include <reqstore/http/problem.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/params_encoded_view.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>

namespace reqstore::sink
{
namespace net = boost::asio;
namespace json = boost::json;
using http::method;

namespace
{

http::response json_answer(unsigned status, const json::object& body)
{
    http::response r;
    r.status = status;
    r.set("Cache-Control", "no-store");
    // These statuses carry no content (RFC 9110 sections 15.3.5, 15.3.6 and 15.4.5).
    if (status == 204 || status == 205 || status == 304)
        return r;
    r.content_type = "application/json";
    r.body = json::serialize(body);
    return r;
}

// Only "record" is taken; nullopt when the query cannot be parsed or names no record.
std::optional<std::string> record_parameter(std::string_view query_view)
{
    // Boost.URL 1.81 reads the query up to a NUL: give it a NUL-terminated copy (as native_api does).
    const std::string query(query_view);
    std::optional<boost::urls::params_encoded_view> params;
    try
    {
        params.emplace(std::string_view(query));
    }
    catch (const boost::system::system_error&)
    {
        return std::nullopt;
    }
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    for (const boost::urls::param_pct_view param : *params)
    {
        if (param.has_value && param.key.decode(form) == "record")
        {
            std::string value = param.value.decode(form);
            if (!value.empty())
                return value;
        }
    }
    return std::nullopt;
}

// The body as an event: a JSON object with a string "type"; "data.id" and "data.version" when the
// event is about a record. nullopt when it is not one.
std::optional<delivery> parse_event(const std::string& body)
{
    boost::system::error_code ec;
    json::parse_options limits;
    limits.max_depth = 64;
    const json::value v = json::parse(body, ec, {}, limits);
    if (ec || !v.is_object())
        return std::nullopt;
    const json::object& event = v.as_object();
    const auto* type = event.if_contains("type");
    if (type == nullptr || !type->is_string())
        return std::nullopt;
    delivery d;
    d.type = std::string(type->as_string());
    if (const auto* data = event.if_contains("data"); data != nullptr && data->is_object())
    {
        if (const auto* id = data->as_object().if_contains("id"); id != nullptr && id->is_string())
            d.record = std::string(id->as_string());
        if (const auto* version = data->as_object().if_contains("version"); version != nullptr)
        {
            if (version->is_int64())
                d.version = version->as_int64();
            else if (version->is_uint64() && version->as_uint64() <= INT64_MAX)
                d.version = static_cast<std::int64_t>(version->as_uint64());
        }
    }
    return d;
}

} // namespace

receiver::receiver(ledger& book, behaviour how) : book_(book), how_(std::move(how)), rng_(how_.seed) {}

void receiver::add_routes(http::router& routes)
{
    const auto deliver_binding = [this]
    {
        return http::method_binding{method::post, "",
                                    [this](http::handler_context& ctx)
                                    {
                                        return deliver(ctx);
                                    }};
    };
    routes.add("/stats", {{method::get, "",
                           [this](http::handler_context& ctx)
                           {
                               return stats(ctx);
                           }},
                          deliver_binding()});
    routes.add("/deliveries", {{method::get, "",
                                [this](http::handler_context& ctx)
                                {
                                    return deliveries(ctx);
                                }},
                               deliver_binding()});
    routes.add("/", {deliver_binding()});
    // The router matches whole segments, so "any path" is one pattern per depth.
    std::string pattern;
    for (std::size_t depth = 1; depth <= max_depth; ++depth)
    {
        pattern += "/{s" + std::to_string(depth) + "}";
        routes.add(pattern, {deliver_binding()});
        routes.add(pattern + "/", {deliver_binding()});
    }
}

receiver::draw receiver::next_draw()
{
    // Both draws are taken for every verified delivery, so that a seed fixes the whole sequence.
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::lock_guard lock(rng_mutex_);
    const double fail = unit(rng_);
    const double hang = unit(rng_);
    return {fail < how_.fail_rate, hang < how_.hang_rate};
}

bool receiver::verified(const http::request& req, bool& stale) const
{
    stale = false;
    const auto id = req.header("webhook-id");
    const auto timestamp = req.header("webhook-timestamp");
    const auto signature = req.header("webhook-signature");
    if (!id || !timestamp || !signature)
        return false;
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(timestamp->data(), timestamp->data() + timestamp->size(), seconds);
    if (ec != std::errc() || end != timestamp->data() + timestamp->size())
        return false;
    bool signed_by_us = false;
    for (const auto& key : how_.keys)
        signed_by_us = signed_by_us || hooks::verify(key, *id, *timestamp, req.body(), *signature);
    if (!signed_by_us)
        return false;
    const std::int64_t now = core::now_millis() / 1000;
    stale = seconds < now - how_.max_age.count() || seconds > now + how_.max_age.count();
    return !stale;
}

net::awaitable<void> receiver::hold(std::chrono::milliseconds how_long)
{
    // Short slices, so that shutdown ends a delayed answer without tracking every timer.
    net::steady_timer timer(co_await net::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (!stopping_.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until)
    {
        timer.expires_after(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
}

net::awaitable<http::response> receiver::deliver(http::handler_context& ctx)
{
    const http::request& req = ctx.req;
    const std::string path(req.path());
    book_.count_received(path);

    bool stale = false;
    if (!verified(req, stale))
    {
        book_.count_bad_signature(path, stale);
        co_return http::problem_response(core::errc::unauthorized,
                                         stale ? "webhook-timestamp is too far from now"
                                               : "missing webhook headers or no valid signature",
                                         path);
    }
    const std::string webhook_id(*req.header("webhook-id"));
    // The body is read before the simulated failures, so that every verified attempt of a record,
    // even one failed on purpose, is in flight on its lane until its handling ends.
    auto event = parse_event(req.body());
    const lane_attempt attempt =
        event && event->record ? book_.begin_attempt(path, *event->record, webhook_id) : lane_attempt{};

    const draw drawn = next_draw();
    if (drawn.fail)
    {
        book_.count_failed_on_purpose(path);
        co_return json_answer(500, {{"error", "failing on purpose (--fail-rate)"}});
    }
    if (how_.status && (*how_.status < 200 || *how_.status > 299))
    {
        book_.count_failed_on_purpose(path);
        co_return json_answer(*how_.status, {{"error", "answering on purpose (--status)"}});
    }
    if (!event)
    {
        book_.count_bad_body(path);
        co_return http::problem_response(core::errc::malformed_json,
                                         "the body is not a JSON object with a string \"type\"", path);
    }
    event->webhook_id = webhook_id;
    event->path = path;
    const verdict v = book_.record(std::move(*event));
    if (how_.bodies != nullptr)
        how_.bodies->append(req);
    if (drawn.hang)
        book_.count_hung_on_purpose(path);
    const auto hold_for = drawn.hang ? std::max(how_.hang_for, how_.answer_delay) : how_.answer_delay;
    if (hold_for > std::chrono::milliseconds::zero())
        co_await hold(hold_for);
    co_return json_answer(
        how_.status.value_or(200),
        {{"accepted", true}, {"duplicate", v.duplicate}, {"out_of_order", v.out_of_order}, {"gap", v.gap}});
}

net::awaitable<http::response> receiver::stats(http::handler_context&)
{
    co_return json_answer(200, book_.summary());
}

net::awaitable<http::response> receiver::deliveries(http::handler_context& ctx)
{
    const auto record = record_parameter(ctx.req.query());
    if (!record)
        co_return http::problem_response(core::errc::bad_request, "give the record as ?record=ID",
                                         ctx.req.path());
    co_return json_answer(200, book_.deliveries_of(*record));
}

} // namespace reqstore::sink
