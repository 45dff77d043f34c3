// The stored form of subscriptions and deliveries: JSON objects, one per key. Decoders check
// every member and answer nullopt for anything they cannot read whole.
#pragma once

#include <reqstore/core/outbox.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace reqstore::store
{

std::string encode_subscription(const core::subscription& s);
std::optional<core::subscription> decode_subscription(std::string_view bytes);

std::string encode_delivery(const core::delivery& d);
std::optional<core::delivery> decode_delivery(std::string_view bytes);

} // namespace reqstore::store
