// The outbox: webhook subscriptions, deliveries of events to their targets, and the change feed,
// as the core sees them, and the storage interface they live behind (implemented in store/).
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/core/time.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

struct subscription
{
    std::string id;                  // "whk_" + 20 Crockford base32 characters
    std::string url;                 // absolute http or https URL
    std::vector<std::string> events; // event names, or "*" for every event
    std::vector<std::string> types;  // request types; empty means every type
    std::string secret;              // "whsec_..." (shown once, at creation)
    bool enabled = true;
    unix_millis created_at = 0;
    unix_millis updated_at = 0;
    std::optional<unix_millis> failing_since; // first failed attempt since the last success
    std::optional<std::string> disabled_reason;

    bool wants(std::string_view event, std::string_view type) const;
};

enum class delivery_status
{
    pending,   // not attempted yet, or waiting for an earlier delivery of its lane
    failed,    // attempted and failed; another attempt is scheduled
    succeeded, // a 2xx arrived
    dead,      // every attempt failed; only a retry by API sends it again
};

std::string_view to_string(delivery_status s) noexcept;
std::optional<delivery_status> delivery_status_from(std::string_view s) noexcept;

struct delivery_attempt
{
    unix_millis at = 0;
    unsigned status = 0; // 0 when no HTTP answer arrived
    std::int64_t latency_us = 0;
    std::string error; // empty on an HTTP answer
};

// One event on its way to one target.
struct delivery
{
    std::uint64_t id = 0;       // assigned by the store when the delivery is first written
    std::string target;         // a subscription id, or "cb_" + record id for a record's callback_url
    std::string lane;           // deliveries of one lane go one at a time, in sequence order
    std::uint64_t sequence = 0; // the event's place in the change feed (0 for webhook.disabled)
    std::string event;          // request.created, ..., webhook.disabled
    std::string record_id;      // the record (or, for webhook.disabled, the subscription)
    std::string record_type;
    std::uint64_t version = 0;
    std::string url;
    std::string webhook_id; // the same on every attempt
    std::string payload;    // the body to send when it is not built from a record version
                            // at send time (webhook.disabled); empty otherwise
    delivery_status status = delivery_status::pending;
    std::vector<delivery_attempt> attempts;
    unix_millis created_at = 0;
    unix_millis committed_at = 0; // when the event was committed (delivery lag is measured from it)
    unix_millis next_attempt_at = 0;
};

struct delivery_filter
{
    std::optional<delivery_status> status;
    std::uint64_t after_id = 0;
    std::size_t limit = 100;
};

// The JSON text of the change feed's entry for `event` at `sequence`, as every engine stores and
// serves it (API.md section 7): {"seq","event","id","type","version","status","at"}, with "from"
// on a status change.
std::string feed_entry_json(const event_draft& event, std::uint64_t sequence);

// One entry of the change feed: its sequence number and stored JSON text.
struct feed_entry
{
    std::uint64_t sequence = 0;
    std::string json;
};

// The outbox and the change feed in storage. Like record_store (record_store.hpp), every call
// returns an awaitable that the caller co_awaits at once, and may fail with errc::unavailable (the
// engine is closed: nothing was done), errc::store_unavailable (a remote engine cannot be reached,
// or was lost during the call: a write's outcome is unknown) or errc::internal (the engine failed).
class outbox_store
{
public:
    template <class T>
    using awaitable_result = boost::asio::awaitable<result<T>>;

    virtual ~outbox_store() = default;

    // Change feed: up to `limit` entries after sequence number `after`, in sequence order. Empty
    // when none has been committed after it yet.
    [[nodiscard]] virtual awaitable_result<std::vector<feed_entry>> events_after(std::uint64_t after,
                                                                                 std::size_t limit) = 0;
    // The oldest retained sequence number (0 when the feed is empty).
    [[nodiscard]] virtual awaitable_result<std::uint64_t> oldest_sequence() = 0;
    // Removes the oldest feed entries, in sequence order, while they were committed before `cutoff`
    // and their sequence numbers are below `below` (the first that is not ends the trim: entries
    // are never removed from the middle of the feed, nor from its newest end but by emptying it);
    // returns how many.
    [[nodiscard]] virtual awaitable_result<std::size_t> trim_events(unix_millis cutoff,
                                                                    std::uint64_t below) = 0;

    // Every stored subscription, in id order.
    [[nodiscard]] virtual awaitable_result<std::vector<subscription>> load_subscriptions() = 0;
    // Writes `s` under its id, replacing any stored before.
    [[nodiscard]] virtual awaitable_result<void> save_subscription(const subscription& s) = 0;
    // Removes subscription `id`; removing one that is not there succeeds.
    [[nodiscard]] virtual awaitable_result<void> delete_subscription(std::string_view id) = 0;

    // The sequence number up to which events have been fanned out to deliveries (0 at first).
    [[nodiscard]] virtual awaitable_result<std::uint64_t> fan_out_cursor() = 0;
    // Writes the new deliveries, giving each the next delivery id (ascending, never reused), and
    // moves the cursor to `cursor`, atomically: on failure neither is written and no id is given.
    [[nodiscard]] virtual awaitable_result<void> fan_out(std::uint64_t cursor,
                                                         std::vector<delivery>& deliveries) = 0;
    // Writes a delivery's new state (its id must have been given by fan_out).
    [[nodiscard]] virtual awaitable_result<void> save_delivery(const delivery& d) = 0;
    // Delivery `id`, or nullopt.
    [[nodiscard]] virtual awaitable_result<std::optional<delivery>> load_delivery(std::uint64_t id) = 0;
    // Every delivery not yet settled (pending or failed), in id order.
    [[nodiscard]] virtual awaitable_result<std::vector<delivery>> open_deliveries() = 0;
    // At most filter.limit deliveries to `target` with ids after filter.after_id and the filter's
    // status (any when unset), in id order.
    [[nodiscard]] virtual awaitable_result<std::vector<delivery>>
    deliveries_to(std::string_view target, const delivery_filter& filter) = 0;
};

// What the webhook dispatchers of several nodes sharing one engine (store/pg) need to take turns:
// leases on the engine's clock, each held under an epoch that no later holder reuses, and claims
// of delivery lanes. Every write that depends on a lease or a claim states its epoch and is refused
// once the epoch is no longer current, so that a node that lost its lease (paused, cut off, slow)
// cannot record anything with it. Calls fail as outbox_store's do.
class outbox_coordination
{
public:
    template <class T>
    using awaitable_result = boost::asio::awaitable<result<T>>;

    virtual ~outbox_coordination() = default;

    // Takes or renews lease `name` for `holder` for `duration` from now on the engine's clock. The
    // epoch it is held under, or nullopt when another holder's lease is live. The epoch changes
    // whenever the lease was not live in holder's hands before the call.
    [[nodiscard]] virtual awaitable_result<std::optional<std::uint64_t>>
    acquire_lease(std::string_view name, std::string_view holder, std::chrono::milliseconds duration) = 0;

    // outbox_store::fan_out with a compare-and-swap on the cursor: the deliveries are written and
    // the cursor moved from `from` to `to` only if the stored cursor is `from`; otherwise
    // errc::precondition_failed, and nothing is written (another node fanned these events out).
    [[nodiscard]] virtual awaitable_result<void> fan_out_from(std::uint64_t from, std::uint64_t to,
                                                              std::vector<delivery>& deliveries) = 0;
    // Writes deliveries that come from no change feed entry (webhook.disabled), the cursor untouched.
    [[nodiscard]] virtual awaitable_result<void> add_deliveries(std::vector<delivery>& deliveries) = 0;

    struct lane_claim
    {
        delivery head;           // the lane's open delivery with the lowest sequence
        std::uint64_t epoch = 0; // the claim's; its outcome is recorded under it
    };
    struct claimed_lanes
    {
        std::vector<lane_claim> claims;
        std::uint64_t open_deliveries = 0; // in the whole outbox, when the claim was made
    };
    // Claims for `holder`, for `lease`, up to `limit` lanes whose head is due at `now` and that no
    // live claim holds. A lane whose target is a disabled subscription is not claimed; one whose
    // subscription is gone is (its deliveries are ended under the claim).
    [[nodiscard]] virtual awaitable_result<claimed_lanes> claim_lanes(std::string_view holder,
                                                                      std::chrono::milliseconds lease,
                                                                      unix_millis now, std::size_t limit) = 0;
    struct settled
    {
        bool recorded = false;        // false: the claim was no longer the lane's, nothing was written
        std::optional<delivery> next; // the lane's new head, due, to attempt under the same claim
    };
    // Saves `d`, the head of a lane claimed under `epoch`, if the claim is still the lane's (else
    // nothing is written: it expired and another claim took the lane). Then, if the lane's new head
    // is due at `now`, the claim is renewed for `lease` and that head returned, so that a busy lane
    // stays with the node that sends it; otherwise the claim ends.
    [[nodiscard]] virtual awaitable_result<settled> settle_claimed(const delivery& d, std::uint64_t epoch,
                                                                   std::chrono::milliseconds lease,
                                                                   unix_millis now) = 0;
    // Ends every claim `holder` holds: a node starting again under its name has no attempt under way,
    // and its lanes need not wait for the claims of its previous run to run out.
    [[nodiscard]] virtual awaitable_result<void> release_lanes_of(std::string_view holder) = 0;
    // Ends the claim of `lane` made under `epoch` without recording anything.
    [[nodiscard]] virtual awaitable_result<void> release_lane(std::string_view lane, std::uint64_t epoch) = 0;

    // Saves the failure state of subscription `s` (enabled, failing_since, disabled_reason,
    // updated_at) and nothing else, so that it does not undo what another node changed meanwhile
    // (a new URL); saving a subscription that is gone does nothing.
    [[nodiscard]] virtual awaitable_result<void> save_subscription_state(const subscription& s) = 0;
};

} // namespace reqstore::core
