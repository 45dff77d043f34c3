// webhook-fanout's two ends: the subscription that points reqstore at a reqstore-sink, and the
// judgement of what the sink received (every committed version delivered, in order, and how late).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <string>

#include "connection.hpp"
#include "keys.hpp"
#include "options.hpp"

namespace reqstore::load
{

class webhook_fanout
{
public:
    // `o` must outlive this object; o.sink is set.
    explicit webhook_fanout(const options& o);

    // POST /v1/webhooks on the target: the sink's URL plus a path of this run's own, the events
    // request.status_changed, the run's record type, and the sink's secret. Returns "" or what failed.
    net::awaitable<std::string> subscribe(connection& target);

    // Waits up to --drain for the sink to have received every version the verification found
    // (keys[i].commits), then reads each key's deliveries from the sink and judges them: every
    // version delivered at least once to this run's path (missing ones fail), none before a lower
    // version (out of order fails; duplicates are allowed: delivery is at least once). Adds
    // "webhooks" to `report` with the counts, the deliveries per second and the commit-to-delivery
    // lag, deletes the subscription, and returns "" or what is wrong.
    net::awaitable<std::string> judge(connection& target, key_table& keys, boost::json::object& report);

private:
    const options& options_;
    std::string path_;            // this run's path at the sink
    std::string subscription_;    // the webhook id, once subscribed
    std::int64_t started_ms_ = 0; // wall clock when subscribed
};

} // namespace reqstore::load
