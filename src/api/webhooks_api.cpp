// Subscriptions, the delivery log, retries and recovery; the change feed as JSON and as SSE.
#include <reqstore/api/webhooks_api.hpp>
#include <reqstore/auth/keys.hpp>
#include <reqstore/core/json_body.hpp>
#include <reqstore/http/header_text.hpp>
#include <reqstore/http/problem.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/params_encoded_view.hpp>

#include <algorithm>
#include <charconv>

#include "request_parsing.hpp"

namespace reqstore::api
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;
using http::handler_context;
using http::response;

namespace
{

constexpr std::string_view delivery_prefix = "dlv_";

response problem(const failure& f, const http::request& req)
{
    return http::problem_response(f, req.path());
}

json::value optional_time(const std::optional<core::unix_millis>& t)
{
    return t ? json::value(core::format_rfc3339(*t)) : json::value(nullptr);
}

json::array string_list(const std::vector<std::string>& items)
{
    json::array out;
    for (const auto& item : items)
        out.emplace_back(item);
    return out;
}

json::object subscription_json(const core::subscription& s, bool with_secret)
{
    json::object o{
        {"id", s.id},
        {"url", s.url},
        {"events", string_list(s.events)},
        {"types", string_list(s.types)},
        {"enabled", s.enabled},
        {"created_at", core::format_rfc3339(s.created_at)},
        {"updated_at", core::format_rfc3339(s.updated_at)},
        {"failing_since", optional_time(s.failing_since)},
        {"disabled_reason", s.disabled_reason ? json::value(*s.disabled_reason) : json::value(nullptr)}};
    if (with_secret)
        o["secret"] = s.secret;
    return o;
}

json::object delivery_json(const core::delivery& d)
{
    json::array attempts;
    for (const auto& a : d.attempts)
        attempts.push_back(
            json::object{{"at", core::format_rfc3339(a.at)},
                         {"status", a.status == 0 ? json::value(nullptr) : json::value(a.status)},
                         {"latency_us", a.latency_us},
                         {"error", a.error.empty() ? json::value(nullptr) : json::value(a.error)}});
    const bool open = d.status == core::delivery_status::pending || d.status == core::delivery_status::failed;
    return json::object{
        {"id", std::string(delivery_prefix) + std::to_string(d.id)},
        {"event", d.event},
        {"webhook_id", d.webhook_id},
        {"record_id", d.record_id},
        {"version", d.version},
        {"url", d.url},
        {"status", core::to_string(d.status)},
        {"attempts", std::move(attempts)},
        {"created_at", core::format_rfc3339(d.created_at)},
        {"next_attempt_at", open ? json::value(core::format_rfc3339(d.next_attempt_at)) : nullptr}};
}

core::result<std::vector<std::string>> string_list_member(const json::object& body, std::string_view name,
                                                          json::object& errors)
{
    std::vector<std::string> out;
    const auto& v = body.at(name);
    // The pointer is built with append(): GCC 12 warns falsely (-Wrestrict) on "/" + std::string.
    const std::string pointer = std::string("/").append(name);
    if (!v.is_array())
    {
        errors[pointer] = "must be a list of strings";
        return out;
    }
    for (std::size_t i = 0; i < v.get_array().size(); ++i)
    {
        const auto& item = v.get_array()[i];
        if (!item.is_string())
            errors[std::string(pointer).append("/").append(std::to_string(i))] = "must be a string";
        else
            out.emplace_back(item.get_string());
    }
    return out;
}

// The webhook routes' bodies are JSON: any other declared media type is 415, before the body is read.
// The media type is read as the native API reads it (case-insensitive, parameters aside).
core::result<void> declared_json(const http::request& req)
{
    if (http::media_type(req) != "application/json")
        return failure(errc::unsupported_media_type, "this takes application/json");
    return {};
}

// Reads the members a subscription's body may hold; every offending member is reported at once.
core::result<hooks::subscription_fields> subscription_fields_of(const http::request& req, bool creating)
{
    if (auto declared = declared_json(req); !declared)
        return declared.error();
    auto parsed = core::parse_json_body(req.body(), 64);
    if (!parsed)
        return parsed.error();
    if (!parsed->is_object())
        return failure(errc::malformed_json, "the body must be a JSON object");
    const json::object& body = parsed->get_object();
    hooks::subscription_fields f;
    json::object errors;
    for (const auto& member : body)
    {
        const std::string_view key = member.key();
        const json::value& v = member.value();
        if (key == "url" || key == "secret")
        {
            if (!v.is_string())
                errors["/" + std::string(key)] = "must be a string";
            else
                (key == "url" ? f.url : f.secret) = std::string(v.get_string());
        }
        else if (key == "events" || key == "types")
        {
            auto list = string_list_member(body, key, errors);
            (key == "events" ? f.events : f.types) = std::move(*list);
        }
        else if (key == "enabled")
        {
            if (!v.is_bool())
                errors["/enabled"] = "must be true or false";
            else
                f.enabled = v.get_bool();
        }
        else
            errors["/" + std::string(key)] = "is not a member of a subscription";
    }
    if (!creating && f.secret)
        errors["/secret"] = "cannot be changed; create a new subscription instead";
    if (!errors.empty())
        return failure(errc::validation_failed, "the subscription is not valid",
                       {{"errors", std::move(errors)}});
    return f;
}

std::optional<std::uint64_t> whole_number(std::string_view text, std::uint64_t max)
{
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n > max)
        return std::nullopt;
    return n;
}

// ---- subscriptions ---------------------------------------------------------------------------

net::awaitable<response> create_subscription(hooks::dispatcher& d, handler_context& ctx)
{
    auto fields = subscription_fields_of(ctx.req, true);
    if (!fields)
        co_return problem(fields.error(), ctx.req);
    auto created = co_await d.create_subscription(std::move(*fields));
    if (!created)
        co_return problem(created.error(), ctx.req);
    response r = json_answer(201, json::serialize(subscription_json(*created, true)));
    r.set("Location", "/v1/webhooks/" + created->id);
    co_return r;
}

net::awaitable<response> list_subscriptions(hooks::dispatcher& d, handler_context& ctx)
{
    auto listed = co_await d.list_subscriptions();
    if (!listed)
        co_return problem(listed.error(), ctx.req);
    json::array data;
    for (const auto& s : *listed)
        data.push_back(subscription_json(s, false));
    co_return json_answer(200, json::serialize(json::object{{"data", std::move(data)}}));
}

net::awaitable<response> get_subscription(hooks::dispatcher& d, handler_context& ctx)
{
    auto found = co_await d.get_subscription(std::string(ctx.params[0]));
    if (!found)
        co_return problem(found.error(), ctx.req);
    co_return json_answer(200, json::serialize(subscription_json(*found, false)));
}

net::awaitable<response> update_subscription(hooks::dispatcher& d, handler_context& ctx)
{
    auto fields = subscription_fields_of(ctx.req, false);
    if (!fields)
        co_return problem(fields.error(), ctx.req);
    auto updated = co_await d.update_subscription(std::string(ctx.params[0]), std::move(*fields));
    if (!updated)
        co_return problem(updated.error(), ctx.req);
    co_return json_answer(200, json::serialize(subscription_json(*updated, false)));
}

net::awaitable<response> delete_subscription(hooks::dispatcher& d, handler_context& ctx)
{
    auto removed = co_await d.delete_subscription(std::string(ctx.params[0]));
    if (!removed)
        co_return problem(removed.error(), ctx.req);
    response r;
    r.status = 204;
    co_return r;
}

// ---- deliveries ------------------------------------------------------------------------------

net::awaitable<response> list_deliveries(hooks::dispatcher& d, handler_context& ctx)
{
    auto params = query_parameters(ctx.req, {"status", "limit", "cursor"});
    if (!params)
        co_return problem(params.error(), ctx.req);
    core::delivery_filter filter;
    for (const auto& [key, value] : *params)
    {
        if (key == "status")
        {
            filter.status = core::delivery_status_from(value);
            if (!filter.status)
                co_return problem({errc::bad_request, "status must be pending, failed, succeeded or dead"},
                                  ctx.req);
        }
        else if (key == "limit")
        {
            const auto n = whole_number(value, 1000);
            if (!n || *n == 0)
                co_return problem({errc::bad_request, "limit must be a whole number from 1 to 1000"},
                                  ctx.req);
            filter.limit = *n;
        }
        else if (key == "cursor")
        {
            const auto n = value.starts_with(delivery_prefix)
                               ? whole_number(value.substr(delivery_prefix.size()), UINT64_MAX)
                               : std::nullopt;
            if (!n)
                co_return problem({errc::bad_request, "cursor is not one this server gave out"}, ctx.req);
            filter.after_id = *n;
        }
    }
    auto listed = co_await d.deliveries_of(std::string(ctx.params[0]), filter);
    if (!listed)
        co_return problem(listed.error(), ctx.req);
    json::array data;
    for (const auto& delivery : *listed)
        data.push_back(delivery_json(delivery));
    const bool more = listed->size() == filter.limit;
    co_return json_answer(200, json::serialize(json::object{
                                   {"data", std::move(data)},
                                   {"next_cursor", more ? json::value(std::string(delivery_prefix) +
                                                                      std::to_string(listed->back().id))
                                                        : json::value(nullptr)}}));
}

net::awaitable<response> retry_delivery(hooks::dispatcher& d, handler_context& ctx)
{
    const std::string_view id = ctx.params[0];
    const auto n = id.starts_with(delivery_prefix)
                       ? whole_number(id.substr(delivery_prefix.size()), UINT64_MAX)
                       : std::nullopt;
    if (!n)
        co_return problem({errc::invalid_id, "\"" + std::string(id) + "\" is not a delivery id"}, ctx.req);
    auto queued = co_await d.retry(*n);
    if (!queued)
        co_return problem(queued.error(), ctx.req);
    co_return json_answer(202, json::serialize(delivery_json(*queued)));
}

net::awaitable<response> recover(hooks::dispatcher& d, handler_context& ctx)
{
    if (auto declared = declared_json(ctx.req); !declared)
        co_return problem(declared.error(), ctx.req);
    auto parsed = core::parse_json_body(ctx.req.body(), 8);
    if (!parsed)
        co_return problem(parsed.error(), ctx.req);
    const auto* since = parsed->is_object() ? parsed->get_object().if_contains("since") : nullptr;
    const auto when = since && since->is_string() ? core::parse_rfc3339(since->get_string()) : std::nullopt;
    if (!when)
        co_return problem({errc::validation_failed,
                           "the body must be {\"since\": <RFC 3339 date-time>}",
                           {{"errors", json::object{{"/since", "must be an RFC 3339 date-time"}}}}},
                          ctx.req);
    auto count = co_await d.recover(std::string(ctx.params[0]), *when);
    if (!count)
        co_return problem(count.error(), ctx.req);
    co_return json_answer(202, json::serialize(json::object{{"queued", *count}}));
}

// ---- the change feed -------------------------------------------------------------------------

constexpr auto keep_alive_interval = std::chrono::seconds(15);

// Where a reader starts: after `after`, or at the oldest retained entry; 410 if `after` is older
// than what is retained.
net::awaitable<core::result<std::uint64_t>>
start_after(core::outbox_store& outbox, const core::feed_notifier& feed, std::optional<std::uint64_t> after)
{
    auto stored = co_await outbox.oldest_sequence();
    if (!stored)
        co_return stored.error();
    // An empty feed (nothing committed yet, or everything trimmed) next holds last + 1.
    const std::uint64_t oldest = *stored != 0 ? *stored : feed.last_sequence() + 1;
    if (!after)
        co_return oldest - 1;
    if (*after < oldest - 1)
        co_return failure(errc::gone, "the feed no longer holds entries after " + std::to_string(*after) +
                                          "; the oldest retained is " + std::to_string(oldest) +
                                          ": list the records again");
    co_return *after;
}

net::awaitable<response> read_feed(core::outbox_store& outbox, core::feed_notifier& feed,
                                   handler_context& ctx)
{
    auto params = query_parameters(ctx.req, {"after", "limit", "wait"});
    if (!params)
        co_return problem(params.error(), ctx.req);
    std::optional<std::uint64_t> after;
    std::size_t limit = 100;
    std::uint64_t wait_seconds = 0;
    for (const auto& [key, value] : *params)
    {
        const auto n = whole_number(value, key == "after" ? UINT64_MAX : key == "limit" ? 1000 : 30);
        if (!n || (key == "limit" && *n == 0))
            co_return problem(
                {errc::bad_request, key == "after"   ? "after must be a sequence number"
                                    : key == "limit" ? "limit must be a whole number from 1 to 1000"
                                                     : "wait must be a whole number of seconds from 0 to 30"},
                ctx.req);
        if (key == "after")
            after = *n;
        else if (key == "limit")
            limit = *n;
        else
            wait_seconds = *n;
    }
    auto start = co_await start_after(outbox, feed, after);
    if (!start)
        co_return problem(start.error(), ctx.req);
    auto entries = co_await outbox.events_after(*start, limit);
    if (entries && entries->empty() && wait_seconds > 0)
    {
        co_await feed.wait_beyond(*start, std::chrono::seconds(wait_seconds));
        entries = co_await outbox.events_after(*start, limit);
    }
    if (!entries)
        co_return problem(entries.error(), ctx.req);
    std::string body = "{\"data\":[";
    for (std::size_t i = 0; i < entries->size(); ++i)
    {
        if (i)
            body.push_back(',');
        body += (*entries)[i].json;
    }
    const std::uint64_t next_after = entries->empty() ? *start : entries->back().sequence;
    // The newest sequence number known here: a reader that wants only what comes next (a console's
    // live view) follows the stream from it. An entry read may be newer than the last notification.
    const std::uint64_t last_seq = std::max(feed.last_sequence(), next_after);
    body +=
        "],\"next_after\":" + std::to_string(next_after) + ",\"last_seq\":" + std::to_string(last_seq) + "}";
    co_return json_answer(200, std::move(body));
}

net::awaitable<void> stream_feed(core::outbox_store& outbox, core::feed_notifier& feed, std::uint64_t after,
                                 http::stream_writer& out)
{
    if (!co_await out.write(": reqstore change feed\n\n"))
        co_return;
    while (!out.stopping())
    {
        auto entries = co_await outbox.events_after(after, 256);
        if (!entries)
            co_return; // the client sees the stream end and resumes with Last-Event-ID
        for (const auto& e : *entries)
        {
            boost::system::error_code ec;
            const auto parsed = json::parse(e.json, ec);
            const auto* name = !ec && parsed.is_object() ? parsed.get_object().if_contains("event") : nullptr;
            std::string chunk = "id: " + std::to_string(e.sequence) + "\n";
            if (name && name->is_string())
                chunk += "event: " + std::string(name->get_string()) + "\n";
            chunk += "data: " + e.json + "\n\n";
            if (!co_await out.write(chunk))
                co_return;
            after = e.sequence;
        }
        if (!entries->empty())
            continue;
        const auto before = after;
        co_await feed.wait_beyond(after, keep_alive_interval);
        if (feed.last_sequence() <= before && !out.stopping())
            if (!co_await out.write(": keep-alive\n\n"))
                co_return;
    }
}

net::awaitable<response> open_stream(core::outbox_store& outbox, core::feed_notifier& feed,
                                     handler_context& ctx)
{
    auto params = query_parameters(ctx.req, {"after"});
    if (!params)
        co_return problem(params.error(), ctx.req);
    std::optional<std::uint64_t> after;
    for (const auto& [key, value] : *params)
    {
        after = whole_number(value, UINT64_MAX);
        if (!after)
            co_return problem({errc::bad_request, "after must be a sequence number"}, ctx.req);
    }
    // Last-Event-ID wins over ?after=: an EventSource reconnects to the URL it was given, ?after=
    // included, and says with Last-Event-ID how far it got since.
    if (const auto last = ctx.req.header("last-event-id"))
    {
        after = whole_number(*last, UINT64_MAX);
        if (!after)
            co_return problem({errc::bad_request, "Last-Event-ID must be a sequence number"}, ctx.req);
    }
    auto start = co_await start_after(outbox, feed, after);
    if (!start)
        co_return problem(start.error(), ctx.req);
    response r;
    r.status = 200;
    r.content_type = "text/event-stream";
    r.set("Cache-Control", "no-store");
    r.stream = [&outbox, &feed, from = *start](http::stream_writer& out)
    {
        return stream_feed(outbox, feed, from, out);
    };
    co_return r;
}

} // namespace

void add_webhook_routes(http::router& routes, hooks::dispatcher& dispatcher)
{
    using http::method;
    auto& d = dispatcher;
    const auto bind = [&d](net::awaitable<response> (*fn)(hooks::dispatcher&, handler_context&))
    {
        return [&d, fn](handler_context& ctx)
        {
            return fn(d, ctx);
        };
    };
    routes.add("/v1/webhooks", {{method::get, auth::scope_webhooks, bind(list_subscriptions)},
                                {method::post, auth::scope_webhooks, bind(create_subscription)}});
    routes.add("/v1/webhooks/{wid}", {{method::get, auth::scope_webhooks, bind(get_subscription)},
                                      {method::patch, auth::scope_webhooks, bind(update_subscription)},
                                      {method::delete_, auth::scope_webhooks, bind(delete_subscription)}});
    routes.add("/v1/webhooks/{wid}/deliveries", {{method::get, auth::scope_webhooks, bind(list_deliveries)}});
    routes.add("/v1/webhooks/{wid}/recover", {{method::post, auth::scope_webhooks, bind(recover)}});
    routes.add("/v1/deliveries/{did}/retry", {{method::post, auth::scope_webhooks, bind(retry_delivery)}});
}

void add_feed_routes(http::router& routes, core::outbox_store& outbox, core::feed_notifier& feed)
{
    using http::method;
    routes.add("/v1/events", {{method::get, auth::scope_read,
                               [&outbox, &feed](handler_context& ctx)
                               {
                                   return read_feed(outbox, feed, ctx);
                               }}});
    routes.add("/v1/events/stream", {{method::get, auth::scope_read,
                                      [&outbox, &feed](handler_context& ctx)
                                      {
                                          return open_stream(outbox, feed, ctx);
                                      }}});
}

} // namespace reqstore::api
