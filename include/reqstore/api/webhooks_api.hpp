// The webhook routes of the native API (/v1/webhooks, /v1/deliveries) and the change feed
// (/v1/events, /v1/events/stream).
#pragma once

#include <reqstore/core/feed_notifier.hpp>
#include <reqstore/core/outbox.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/http/router.hpp>

namespace reqstore::api
{

// `dispatcher` must outlive the router.
void add_webhook_routes(http::router& routes, hooks::dispatcher& dispatcher);

// `outbox` and `feed` must outlive the router.
void add_feed_routes(http::router& routes, core::outbox_store& outbox, core::feed_notifier& feed);

} // namespace reqstore::api
