// Small helpers of the outbox types.
#include <reqstore/core/outbox.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace reqstore::core
{

std::string feed_entry_json(const event_draft& event, std::uint64_t sequence)
{
    boost::json::object o;
    o["seq"] = sequence;
    o["event"] = event.name;
    o["id"] = event.id;
    o["type"] = event.type;
    o["version"] = event.version;
    o["status"] = event.status;
    if (event.from_status)
        o["from"] = *event.from_status;
    o["at"] = format_rfc3339(event.at);
    return boost::json::serialize(o);
}

bool subscription::wants(std::string_view event, std::string_view type) const
{
    const bool event_ok = std::any_of(events.begin(), events.end(),
                                      [&](const std::string& e) { return e == "*" || e == event; });
    const bool type_ok = types.empty() || std::any_of(types.begin(), types.end(),
                                                      [&](const std::string& t) { return t == type; });
    return event_ok && type_ok;
}

std::string_view to_string(delivery_status s) noexcept
{
    switch (s)
    {
    case delivery_status::pending:
        return "pending";
    case delivery_status::failed:
        return "failed";
    case delivery_status::succeeded:
        return "succeeded";
    case delivery_status::dead:
        return "dead";
    }
    return "pending";
}

std::optional<delivery_status> delivery_status_from(std::string_view s) noexcept
{
    for (auto status : {delivery_status::pending, delivery_status::failed, delivery_status::succeeded,
                        delivery_status::dead})
        if (to_string(status) == s)
            return status;
    return std::nullopt;
}

} // namespace reqstore::core
