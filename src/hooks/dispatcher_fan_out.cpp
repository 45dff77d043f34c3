// The dispatcher's fan-out: each committed event in the change feed becomes one durable delivery
// per target that asks for it (the record's callback_url, the subscriptions), written together
// with the feed cursor so that a restart neither loses nor repeats one.
#include <reqstore/core/json_body.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "delivery_target.hpp"

namespace reqstore::hooks
{
namespace net = boost::asio;
namespace json = boost::json;

namespace
{

constexpr std::size_t fan_out_batch_size = 512;

std::string text_of(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The body of a request event's delivery (API.md section 6).
std::string request_payload(const json::object& event, const json::value& record)
{
    json::object data{{"id", text_of(event, "id")},
                      {"type", text_of(event, "type")},
                      {"from", event.contains("from") ? event.at("from") : json::value(nullptr)},
                      {"to", text_of(event, "status")},
                      {"version", event.contains("version") ? event.at("version") : json::value(0)},
                      {"request", record}};
    return json::serialize(json::object{
        {"type", text_of(event, "event")}, {"timestamp", text_of(event, "at")}, {"data", std::move(data)}});
}

// A delivery of `event` about `record_id` to `target` at `url`, created and due at `now`.
core::delivery due_delivery(const std::string& target, const std::string& record_id, std::string event,
                            std::string url, core::unix_millis now)
{
    core::delivery d;
    d.target = target;
    d.lane = lane_of(target, record_id);
    d.event = std::move(event);
    d.record_id = record_id;
    d.url = std::move(url);
    d.created_at = now;
    d.committed_at = now;
    d.next_attempt_at = now;
    return d;
}

} // namespace

net::awaitable<void> dispatcher::fan_out_loop()
{
    while (!stopping_)
    {
        if (shared() && !co_await hold_fan_out_lease())
        {
            // Another node fans out; this one stands by to take over if its lease runs out.
            net::steady_timer pause(strand_, fan_out_lease_renewal);
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        auto entries = co_await outbox_.events_after(cursor_, fan_out_batch_size);
        if (!entries || entries->empty())
        {
            if (!entries)
                ops::log().error("reading the change feed for webhooks failed",
                                 {{"error", entries.error().detail}});
            // Shared, the lease is renewed while waiting.
            const auto wait = shared() ? std::chrono::milliseconds(fan_out_lease_renewal)
                                       : std::chrono::milliseconds(entries ? 30'000 : 1'000);
            co_await feed_.wait_beyond(cursor_, wait);
            continue;
        }
        const bool caught_up = entries->size() < fan_out_batch_size;
        if (auto done = co_await fan_out_batch(std::move(*entries)); !done)
        {
            ops::log().error("fanning out events to deliveries failed", {{"error", done.error().detail}});
            net::steady_timer pause(strand_, std::chrono::seconds(1));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
        else if (shared() && caught_up)
        {
            net::steady_timer pause(strand_, fan_out_gap);
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
    }
}

net::awaitable<core::result<void>> dispatcher::fan_out_batch(std::vector<core::feed_entry> entries)
{
    // Shared, a subscription created on another node must see the events committed after it.
    if (shared())
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed)
            co_return refreshed.error();
    // Every entry is read first, so that the record versions the batch needs are loaded in one
    // call (one round trip on a remote engine, instead of one per event).
    std::vector<fan_out_event> events;
    std::vector<std::pair<std::string, std::uint64_t>> wanted;
    for (const auto& entry : entries)
    {
        auto read = read_event(entry);
        if (!read)
            co_return read.error();
        if (read->needs_record)
            wanted.emplace_back(read->record_id, read->version);
        events.push_back(std::move(*read));
    }
    std::vector<std::optional<core::stored_version>> versions;
    if (!wanted.empty())
    {
        auto loaded = co_await records_.load_versions(std::move(wanted));
        if (!loaded)
            co_return loaded.error();
        versions = std::move(*loaded);
    }
    std::vector<core::delivery> created;
    const core::unix_millis now = core::now_millis();
    std::size_t next_version = 0;
    for (auto& e : events)
    {
        json::value record;
        if (e.needs_record)
            if (const auto& stored = versions.at(next_version++))
                if (auto body = core::parse_json_body(stored->body, 1024))
                    record = std::move(*body);
        auto made = deliveries_for(std::move(e), record, now);
        std::move(made.begin(), made.end(), std::back_inserter(created));
    }
    const std::uint64_t new_cursor = entries.back().sequence;
    if (shared())
    {
        auto written = co_await coordination_->fan_out_from(cursor_, new_cursor, created);
        if (!written && written.error().code == core::errc::precondition_failed)
        {
            // Another node fanned these out (it held the lease before this one): go on from where
            // it left the cursor.
            fan_out_epoch_.reset();
            co_return core::result<void>();
        }
        if (!written)
            co_return written.error();
        cursor_ = new_cursor;
        wake_claims(); // the new deliveries may be claimed at once
        co_return core::result<void>();
    }
    if (auto written = co_await outbox_.fan_out(new_cursor, created); !written)
        co_return written.error();
    cursor_ = new_cursor;
    for (auto& d : created)
        enqueue(std::move(d));
    co_return core::result<void>();
}

core::result<dispatcher::fan_out_event> dispatcher::read_event(const core::feed_entry& entry) const
{
    boost::system::error_code ec;
    json::value parsed = json::parse(entry.json, ec);
    if (ec || !parsed.is_object())
        return core::failure(core::errc::internal,
                             "change feed entry " + std::to_string(entry.sequence) + " is unreadable");
    fan_out_event e;
    e.sequence = entry.sequence;
    e.event = std::move(parsed.get_object());
    e.name = text_of(e.event, "event");
    e.record_id = text_of(e.event, "id");
    e.type = text_of(e.event, "type");
    e.version = e.event.contains("version") && e.event.at("version").is_number()
                    ? e.event.at("version").to_number<std::uint64_t>()
                    : 0;
    e.to_callback = e.name == "request.status_changed";
    for (const auto& [id, s] : subscriptions_)
        if (s.enabled && s.wants(e.name, e.type))
            e.targets.emplace_back(id, s.url);
    e.needs_record = !e.targets.empty() || e.to_callback;
    return e;
}

std::vector<core::delivery> dispatcher::deliveries_for(fan_out_event e, const json::value& record,
                                                       core::unix_millis now) const
{
    if (e.to_callback && record.is_object())
        if (const auto* url = record.get_object().if_contains("callback_url"); url && url->is_string())
            e.targets.emplace_back(std::string(callback_prefix) + e.record_id,
                                   std::string(url->get_string()));
    std::vector<core::delivery> made;
    if (e.targets.empty())
        return made;
    const std::string payload = request_payload(e.event, record);
    std::optional<std::string> callback_payload;
    if (e.to_callback && options_.callback_body)
        callback_payload = options_.callback_body(e.event, record);
    const auto committed = core::parse_rfc3339(text_of(e.event, "at")).value_or(now);
    for (auto& [target, url] : e.targets)
    {
        core::delivery d = due_delivery(target, e.record_id, e.name, std::move(url), now);
        d.sequence = e.sequence;
        d.record_type = e.type;
        d.version = e.version;
        d.webhook_id = "evt_" + std::to_string(e.sequence);
        d.payload = is_callback_target(target) && callback_payload ? *callback_payload : payload;
        d.committed_at = committed;
        made.push_back(std::move(d));
    }
    return made;
}

net::awaitable<void> dispatcher::announce_disabled(core::subscription s, std::string reason)
{
    const core::unix_millis now = core::now_millis();
    const std::string payload = json::serialize(json::object{
        {"type", "webhook.disabled"},
        {"timestamp", core::format_rfc3339(now)},
        {"data", json::object{{"id", s.id}, {"url", without_credentials(s.url)}, {"reason", reason}}}});
    std::vector<core::delivery> created;
    for (const auto& [other_id, other] : subscriptions_)
    {
        if (other_id == s.id || !other.enabled ||
            std::none_of(other.events.begin(), other.events.end(),
                         [](const std::string& e) { return e == "*" || e == "webhook.disabled"; }))
            continue;
        core::delivery d = due_delivery(other_id, s.id, "webhook.disabled", other.url, now);
        d.webhook_id = "evt_disabled_" + s.id + "_" + std::to_string(now);
        d.payload = payload;
        created.push_back(std::move(d));
    }
    if (created.empty())
        co_return;
    // Shared, the cursor is the fan-out's (perhaps another node's): it is not touched.
    core::result<void> written;
    if (shared())
        written = co_await coordination_->add_deliveries(created);
    else
        written = co_await outbox_.fan_out(cursor_, created);
    if (!written)
    {
        ops::log().error("announcing a disabled subscription failed", {{"error", written.error().detail}});
        co_return;
    }
    if (shared())
    {
        wake_claims();
        co_return;
    }
    for (auto& d : created)
        enqueue(std::move(d));
}

} // namespace reqstore::hooks
