// Internal to hooks: how the dispatcher's files name a delivery's target and lane, and how a
// target's URL may be shown to others.
#pragma once

#include <string>
#include <string_view>

namespace reqstore::hooks
{

// A target is a subscription id, or this prefix and a record id for the record's callback_url.
inline constexpr std::string_view callback_prefix = "cb_";

inline bool is_callback_target(std::string_view target)
{
    return target.starts_with(callback_prefix);
}

// The lane of deliveries to `target` about `record`: they go one at a time, in sequence order.
inline std::string lane_of(std::string_view target, std::string_view record)
{
    std::string lane(target);
    lane.push_back('\0');
    lane.append(record);
    return lane;
}

// A URL as it may be shown to others: without user info, query and fragment, which may carry
// credentials; "" if it is not an absolute URL.
std::string without_credentials(const std::string& url);

} // namespace reqstore::hooks
