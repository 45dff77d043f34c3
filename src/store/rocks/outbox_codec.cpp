// JSON encoding of subscriptions and deliveries for the `webhooks` and `deliveries` column families.
#include <reqstore/store/rocks/outbox_codec.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::store
{
namespace json = boost::json;

namespace
{

json::array string_list(const std::vector<std::string>& items)
{
    json::array out;
    for (const auto& item : items)
        out.emplace_back(item);
    return out;
}

// Reads members one by one; any missing or ill-typed member makes the whole value unreadable.
struct object_reader
{
    const json::object& o;
    bool ok = true;

    std::string text(std::string_view name)
    {
        const auto* v = o.if_contains(name);
        if (!v || !v->is_string())
        {
            ok = false;
            return {};
        }
        return std::string(v->get_string());
    }
    std::int64_t integer(std::string_view name)
    {
        const auto* v = o.if_contains(name);
        if (!v || !(v->is_int64() || v->is_uint64()))
        {
            ok = false;
            return 0;
        }
        return v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
    }
    bool flag(std::string_view name)
    {
        const auto* v = o.if_contains(name);
        if (!v || !v->is_bool())
        {
            ok = false;
            return false;
        }
        return v->get_bool();
    }
    std::vector<std::string> list(std::string_view name)
    {
        std::vector<std::string> out;
        const auto* v = o.if_contains(name);
        if (!v || !v->is_array())
        {
            ok = false;
            return out;
        }
        for (const auto& item : v->get_array())
        {
            if (!item.is_string())
            {
                ok = false;
                return out;
            }
            out.emplace_back(item.get_string());
        }
        return out;
    }
    std::optional<std::int64_t> optional_integer(std::string_view name)
    {
        const auto* v = o.if_contains(name);
        if (!v || v->is_null())
            return std::nullopt;
        return integer(name);
    }
    std::optional<std::string> optional_text(std::string_view name)
    {
        const auto* v = o.if_contains(name);
        if (!v || v->is_null())
            return std::nullopt;
        return text(name);
    }
};

std::optional<json::object> parse_object(std::string_view bytes)
{
    boost::system::error_code ec;
    json::value v = json::parse(bytes, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    return std::move(v.get_object());
}

json::value optional_value(const std::optional<std::int64_t>& v)
{
    return v ? json::value(*v) : json::value(nullptr);
}

} // namespace

std::string encode_subscription(const core::subscription& s)
{
    return json::serialize(json::object{
        {"id", s.id},
        {"url", s.url},
        {"events", string_list(s.events)},
        {"types", string_list(s.types)},
        {"secret", s.secret},
        {"enabled", s.enabled},
        {"created_at", s.created_at},
        {"updated_at", s.updated_at},
        {"failing_since", optional_value(s.failing_since)},
        {"disabled_reason", s.disabled_reason ? json::value(*s.disabled_reason) : json::value(nullptr)}});
}

std::optional<core::subscription> decode_subscription(std::string_view bytes)
{
    const auto o = parse_object(bytes);
    if (!o)
        return std::nullopt;
    object_reader r{*o};
    core::subscription s;
    s.id = r.text("id");
    s.url = r.text("url");
    s.events = r.list("events");
    s.types = r.list("types");
    s.secret = r.text("secret");
    s.enabled = r.flag("enabled");
    s.created_at = r.integer("created_at");
    s.updated_at = r.integer("updated_at");
    s.failing_since = r.optional_integer("failing_since");
    s.disabled_reason = r.optional_text("disabled_reason");
    if (!r.ok)
        return std::nullopt;
    return s;
}

std::string encode_delivery(const core::delivery& d)
{
    json::array attempts;
    for (const auto& a : d.attempts)
        attempts.push_back(json::object{
            {"at", a.at}, {"status", a.status}, {"latency_us", a.latency_us}, {"error", a.error}});
    return json::serialize(json::object{{"id", d.id},
                                        {"target", d.target},
                                        {"lane", d.lane},
                                        {"sequence", d.sequence},
                                        {"event", d.event},
                                        {"record_id", d.record_id},
                                        {"record_type", d.record_type},
                                        {"version", d.version},
                                        {"url", d.url},
                                        {"webhook_id", d.webhook_id},
                                        {"payload", d.payload},
                                        {"status", core::to_string(d.status)},
                                        {"attempts", std::move(attempts)},
                                        {"created_at", d.created_at},
                                        {"committed_at", d.committed_at},
                                        {"next_attempt_at", d.next_attempt_at}});
}

std::optional<core::delivery> decode_delivery(std::string_view bytes)
{
    const auto o = parse_object(bytes);
    if (!o)
        return std::nullopt;
    object_reader r{*o};
    core::delivery d;
    d.id = static_cast<std::uint64_t>(r.integer("id"));
    d.target = r.text("target");
    d.lane = r.text("lane");
    d.sequence = static_cast<std::uint64_t>(r.integer("sequence"));
    d.event = r.text("event");
    d.record_id = r.text("record_id");
    d.record_type = r.text("record_type");
    d.version = static_cast<std::uint64_t>(r.integer("version"));
    d.url = r.text("url");
    d.webhook_id = r.text("webhook_id");
    d.payload = r.text("payload");
    const auto status = core::delivery_status_from(r.text("status"));
    d.created_at = r.integer("created_at");
    d.committed_at = r.integer("committed_at");
    d.next_attempt_at = r.integer("next_attempt_at");
    const auto* attempts = o->if_contains("attempts");
    if (!r.ok || !status || !attempts || !attempts->is_array())
        return std::nullopt;
    d.status = *status;
    for (const auto& item : attempts->get_array())
    {
        if (!item.is_object())
            return std::nullopt;
        object_reader a{item.get_object()};
        core::delivery_attempt attempt;
        attempt.at = a.integer("at");
        attempt.status = static_cast<unsigned>(a.integer("status"));
        attempt.latency_us = a.integer("latency_us");
        attempt.error = a.text("error");
        if (!a.ok)
            return std::nullopt;
        d.attempts.push_back(std::move(attempt));
    }
    return d;
}

} // namespace reqstore::store
