// The webhook checks of a torture run: two reqstore-sink receivers subscribed to every event, one
// failing and hanging some attempts on purpose, the other healthy. After the last restart:
// every surviving version reaches both within the deadline, none arrives for a version that does
// not exist, a version keeps one webhook-id, each record's first deliveries come in version order,
// and the healthy receiver is not held up by the misbehaving one (no head-of-line blocking).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "../load/connection.hpp"
#include "audit.hpp"
#include "ledger.hpp"

namespace reqstore::torture
{

struct receiver
{
    std::string name;
    load::endpoint_info where;
    bool misbehaves = false;
};

struct webhook_limits
{
    std::chrono::milliseconds deliver_within{30'000}; // from the last restart
    std::chrono::milliseconds healthy_lag_p99{2'000}; // first arrival at the healthy receiver
};

// Waits until every audited version reached every receiver (or the deadline), then checks each
// record's deliveries. The healthy receiver's lag is judged on the versions committed from
// `quiet_from` (unix ms), a load no crash interrupts: a lag there can only come from waiting behind
// the failing receiver. Violations go to the ledger; the figures are returned.
boost::asio::awaitable<boost::json::object> check_webhooks(ledger& book, const audit& feed,
                                                           const std::vector<receiver>& receivers,
                                                           std::chrono::steady_clock::time_point last_restart,
                                                           std::int64_t quiet_from, webhook_limits limits);

} // namespace reqstore::torture
