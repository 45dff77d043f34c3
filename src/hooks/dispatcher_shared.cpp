// The dispatcher as one of several nodes sharing the store (docs/SCALING.md): the fan-out runs on
// the node that holds its lease, and each node claims due lanes from the store, attempts their
// heads and records each outcome under its claim. Nothing but the claims it holds is kept here.
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "delivery_target.hpp"

namespace reqstore::hooks
{
namespace net = boost::asio;

std::chrono::milliseconds dispatcher::lane_lease() const
{
    return 2 * options_.timeout + std::chrono::milliseconds(1'000);
}

net::awaitable<bool> dispatcher::hold_fan_out_lease()
{
    const auto now = std::chrono::steady_clock::now();
    if (fan_out_epoch_ && now - lease_renewed_at_ < fan_out_lease_renewal)
        co_return true;
    const bool held_now = co_await take_fan_out_lease(now);
    stats_.set_lease_held(ops::metrics::lease::fan_out, held_now);
    co_return held_now;
}

net::awaitable<bool> dispatcher::take_fan_out_lease(std::chrono::steady_clock::time_point now)
{
    auto held = co_await coordination_->acquire_lease("fan_out", node_id_, fan_out_lease);
    if (!held)
    {
        // Unknown whether it still holds: it stops fanning out, and the cursor's compare-and-swap
        // keeps a batch written meanwhile by the next holder from being written twice.
        ops::log().error("renewing the webhook fan-out's lease failed", {{"error", held.error().detail}});
        fan_out_epoch_.reset();
        co_return false;
    }
    if (!*held)
    {
        if (fan_out_epoch_)
            ops::log().warn("this node no longer holds the webhook fan-out's lease", {{"node", node_id_}});
        fan_out_epoch_.reset();
        co_return false;
    }
    if (fan_out_epoch_ != *held)
    {
        // Newly held: another node may have moved the cursor since this one last knew it.
        auto cursor = co_await outbox_.fan_out_cursor();
        if (!cursor)
        {
            ops::log().error("reading the fan-out cursor failed", {{"error", cursor.error().detail}});
            co_return false;
        }
        cursor_ = *cursor;
        ops::log().info("this node fans out webhook events",
                        {{"node", node_id_}, {"epoch", **held}, {"cursor", cursor_}});
    }
    fan_out_epoch_ = *held;
    lease_renewed_at_ = now;
    co_return true;
}

void dispatcher::wake_claims()
{
    claim_wanted_ = true;
    claim_wake_.cancel();
}

net::awaitable<void> dispatcher::claim_loop()
{
    net::steady_timer gap(strand_);
    while (!stopping_)
    {
        claim_wanted_ = false;
        co_await claim_due_lanes();
        // However often it is woken (each fan-out batch, each lane that ends here), a round reads
        // every open lane's head: at most one every claim_gap.
        gap.expires_after(claim_gap);
        co_await gap.async_wait(net::as_tuple(net::use_awaitable));
        if (claim_wanted_ || stopping_)
            continue;
        claim_wake_.expires_after(claim_poll - claim_gap);
        co_await claim_wake_.async_wait(net::as_tuple(net::use_awaitable));
    }
}

std::size_t dispatcher::lanes_with_a_head() const
{
    return static_cast<std::size_t>(std::count_if(
        lanes_.begin(), lanes_.end(), [](const auto& lane) { return !lane.second.queue.empty(); }));
}

net::awaitable<void> dispatcher::claim_due_lanes()
{
    const std::size_t held = lanes_with_a_head();
    if (held >= options_.max_in_flight)
        co_return;
    // Read again at most every claim_poll (rounds may come every claim_gap): what is known here
    // judges a claimed head's subscription disabled or deleted. The claim itself skips disabled
    // ones as the store has them, and a target unknown here is read once more below.
    if (std::chrono::steady_clock::now() - subscriptions_read_at_ >= claim_poll)
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed)
        {
            ops::log().error("reading webhook subscriptions failed", {{"error", refreshed.error().detail}});
            co_return;
        }
    auto claimed = co_await coordination_->claim_lanes(node_id_, lane_lease(), core::now_millis(),
                                                       options_.max_in_flight - held);
    if (!claimed)
    {
        ops::log().error("claiming delivery lanes failed", {{"error", claimed.error().detail}});
        co_return;
    }
    stats_.set_outbox_depth(static_cast<std::int64_t>(claimed->open_deliveries));
    const bool unknown_target =
        std::any_of(claimed->claims.begin(), claimed->claims.end(),
                    [this](const auto& c) { return c.head.id != 0 && subscription_deleted(c.head.target); });
    if (unknown_target)
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed)
            ops::log().error("reading webhook subscriptions failed", {{"error", refreshed.error().detail}});
    const core::unix_millis now = core::now_millis();
    for (auto& claim : claimed->claims)
    {
        const auto lane = claim.head.lane;
        // Another node recorded an attempt after the claim was judged: the lane's head moved on to
        // a delivery not due yet, or there is none left. The claim goes back.
        if (claim.head.id == 0 || claim.head.next_attempt_at > now)
        {
            if (auto released = co_await coordination_->release_lane(lane, claim.epoch); !released)
                ops::log().error("releasing a delivery lane failed",
                                 {{"lane", lane}, {"error", released.error().detail}});
            continue;
        }
        // A lane still held here whose claim ran out (this node was paused past it) is held again
        // under the new claim: an attempt under way records under it, and a waiting head is
        // replaced by the stored one.
        auto& state = lanes_[lane];
        state.claim_epoch = claim.epoch;
        if (state.sending)
            continue;
        state.queue.clear();
        state.queue.push_back(std::move(claim.head));
        schedule(lane, now);
    }
    stats_.set_lanes_claimed(static_cast<std::int64_t>(lanes_with_a_head()));
}

net::awaitable<core::result<void>> dispatcher::refresh_subscriptions()
{
    if (!shared())
        co_return core::result<void>();
    const auto reading = std::chrono::steady_clock::now();
    auto stored = co_await outbox_.load_subscriptions();
    if (!stored)
        co_return stored.error();
    subscriptions_read_at_ = reading;
    // The failure state this node changed and has not saved yet is its own news: kept.
    std::map<std::string, std::optional<core::unix_millis>> unsaved;
    for (const auto& id : unsaved_failure_state_)
        if (const auto it = subscriptions_.find(id); it != subscriptions_.end())
            unsaved.emplace(id, it->second.failing_since);
    (void)adopt_subscriptions(std::move(*stored)); // a secret not sealed yet is sealed at a start
    for (const auto& [id, failing_since] : unsaved)
        if (const auto it = subscriptions_.find(id); it != subscriptions_.end())
            it->second.failing_since = failing_since;
    co_return core::result<void>();
}

net::awaitable<void> dispatcher::save_attempted(const std::string& lane, const core::delivery& d)
{
    if (!shared())
    {
        if (auto saved = co_await outbox_.save_delivery(d); !saved)
            ops::log().error("saving a delivery's state failed",
                             {{"delivery", d.id}, {"error", saved.error().detail}});
        co_return;
    }
    auto& state = lanes_[lane];
    const std::uint64_t epoch = state.claim_epoch;
    auto settled = co_await coordination_->settle_claimed(d, epoch, lane_lease(), core::now_millis());
    // The lane map may have changed while the call was awaited: found again.
    auto& after = lanes_[lane];
    after.queue.clear();
    if (!settled)
        ops::log().error(
            "recording a delivery attempt failed; the lane is attempted again when its claim runs out",
            {{"delivery", d.id}, {"error", settled.error().detail}});
    else if (!settled->recorded)
        ops::log().warn(
            "a delivery attempt's outcome was not recorded: its lane's claim ran out and another claim "
            "took the lane",
            {{"delivery", d.id}, {"lane", lane}, {"epoch", epoch}});
    else if (settled->next)
        after.queue.push_back(std::move(*settled->next)); // still claimed: the lane goes on here
}

net::awaitable<void> dispatcher::give_back_claim(std::string lane)
{
    const auto found = lanes_.find(lane);
    if (found == lanes_.end() || found->second.sending)
        co_return;
    const std::uint64_t epoch = found->second.claim_epoch;
    const bool scheduled = found->second.scheduled;
    lanes_.erase(found);
    if (scheduled)
        std::erase_if(due_, [&](const auto& entry) { return entry.second == lane; });
    if (auto released = co_await coordination_->release_lane(lane, epoch); !released)
        ops::log().error("releasing a delivery lane failed",
                         {{"lane", lane}, {"error", released.error().detail}});
}

net::awaitable<core::result<void>> dispatcher::save_state(const core::subscription& s)
{
    if (shared() && !unreadable_secrets_.contains(s.id))
        co_return co_await coordination_->save_subscription_state(s);
    co_return co_await save(s);
}

} // namespace reqstore::hooks
