// The dispatcher's lanes: one queue of open deliveries per (target, record), each sent one attempt
// at a time in sequence order when its head is due, within max_in_flight attempts at once.
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/hooks/signer.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "delivery_target.hpp"

namespace reqstore::hooks
{
namespace net = boost::asio;
using core::errc;
using core::failure;

namespace
{

bool answered_2xx(const post_result& result)
{
    return result.what == post_result::outcome::responded && result.status >= 200 && result.status < 300;
}

// The attempt `result` stands for, as the delivery log shows it.
core::delivery_attempt attempt_of(const post_result& result)
{
    core::delivery_attempt attempt;
    attempt.at = core::now_millis();
    attempt.status = result.status;
    attempt.latency_us = result.latency.count();
    if (result.what != post_result::outcome::responded)
        attempt.error = result.error;
    else if (!answered_2xx(result))
        attempt.error = "answered " + std::to_string(result.status);
    return attempt;
}

} // namespace

void dispatcher::enqueue(core::delivery d)
{
    ++open_;
    stats_.set_outbox_depth(static_cast<std::int64_t>(open_));
    const std::string lane = d.lane;
    const core::unix_millis due = d.next_attempt_at;
    auto& state = lanes_[lane];
    // Keep sequence order even when a retried delivery rejoins its lane.
    const auto at = std::find_if(state.queue.begin(), state.queue.end(),
                                 [&](const core::delivery& q) { return q.sequence > d.sequence; });
    const bool becomes_head = at == state.queue.begin() && !state.sending;
    state.queue.insert(at, std::move(d));
    if (becomes_head || (state.queue.size() == 1 && !state.sending))
        schedule(lane, due);
}

bool dispatcher::lane_blocked(const lane_state& lane) const
{
    if (lane.queue.empty())
        return true;
    const auto& target = lane.queue.front().target;
    if (is_callback_target(target))
        return false;
    const auto it = subscriptions_.find(target);
    return it == subscriptions_.end() || !it->second.enabled;
}

void dispatcher::schedule(const std::string& lane, core::unix_millis due)
{
    auto& state = lanes_[lane];
    if (state.scheduled || state.sending)
        return;
    state.scheduled = true;
    due_.emplace(due, lane);
    wake_.cancel(); // the send loop recomputes its sleep
}

net::awaitable<void> dispatcher::save_failure_state(bool now_anyway)
{
    const core::unix_millis now = core::now_millis();
    if (unsaved_failure_state_.empty() || (!now_anyway && now - failure_state_saved_at_ < 1000))
        co_return;
    // Losing a second of these after a crash only moves when a failing subscription is disabled.
    for (const auto& id : unsaved_failure_state_)
        if (const auto it = subscriptions_.find(id); it != subscriptions_.end())
            if (auto saved = co_await save_state(it->second); !saved)
                ops::log().error("saving a subscription's failure state failed",
                                 {{"subscription", id}, {"error", saved.error().detail}});
    unsaved_failure_state_.clear();
    failure_state_saved_at_ = now;
}

net::awaitable<void> dispatcher::send_loop()
{
    while (!stopping_)
    {
        co_await save_failure_state(false);
        const core::unix_millis now = core::now_millis();
        while (!due_.empty() && due_.begin()->first <= now && in_flight_ < options_.max_in_flight)
        {
            std::string lane = due_.begin()->second;
            due_.erase(due_.begin());
            auto& state = lanes_[lane];
            state.scheduled = false;
            if (lane_blocked(state))
            {
                // A disabled subscription's lane resumes when it is enabled again; a deleted
                // one's deliveries end here. Shared, the claim goes back meanwhile: whichever
                // node next finds the lane due and its subscription enabled sends it.
                if (!state.queue.empty() && subscription_deleted(state.queue.front().target))
                    co_await end_orphaned_lane(lane);
                else if (shared())
                    co_await give_back_claim(lane);
                continue;
            }
            state.sending = true;
            ++in_flight_;
            net::co_spawn(strand_, deliver_head(std::move(lane)), net::detached);
        }
        auto sleep = std::chrono::milliseconds(unsaved_failure_state_.empty() ? 30'000 : 1'000);
        if (!due_.empty() && in_flight_ < options_.max_in_flight)
            sleep = std::min(
                sleep, std::chrono::milliseconds(std::max<core::unix_millis>(0, due_.begin()->first - now)));
        wake_.expires_after(sleep);
        co_await wake_.async_wait(net::as_tuple(net::use_awaitable));
    }
    co_await save_failure_state(true);
}

const std::string& dispatcher::secret_for(const core::delivery& d) const
{
    static const std::string none;
    if (is_callback_target(d.target))
        return options_.callback_secret;
    const auto it = subscriptions_.find(d.target);
    return it == subscriptions_.end() ? none : it->second.secret;
}

post_request dispatcher::signed_request(const core::delivery& d) const
{
    post_request request;
    request.url = d.url;
    request.body = d.payload;
    request.timeout = options_.timeout;
    const auto timestamp = core::now_millis() / 1000;
    request.headers = {{"webhook-id", d.webhook_id}, {"webhook-timestamp", std::to_string(timestamp)}};
    if (const auto key = decode_secret(secret_for(d)))
        request.headers.emplace_back("webhook-signature", sign(*key, d.webhook_id, timestamp, d.payload));
    return request;
}

net::awaitable<void> dispatcher::deliver_head(std::string lane)
{
    core::delivery d = lanes_[lane].queue.front();
    // A subscription's deliveries go to its URL as it is now, so that one PATCHed to a new
    // receiver takes its waiting and recovered deliveries along.
    if (const auto sub = subscriptions_.find(d.target); sub != subscriptions_.end())
        d.url = sub->second.url;
    post_request request = signed_request(d);
    const post_result result = co_await client_.post(std::move(request));
    // Back on the strand (the coroutine's executor): lanes and subscriptions may have changed.
    --in_flight_;
    if (stopping_)
        co_return; // shutting down: the delivery stays open in the store and is sent after a restart
    co_await record_outcome(lane, d, result);
    co_await settle_lane(std::move(lane), d);
}

net::awaitable<void> dispatcher::record_outcome(const std::string& lane, core::delivery& d,
                                                const post_result& result)
{
    const core::delivery_attempt attempt = attempt_of(result);
    d.attempts.push_back(attempt);
    if (answered_2xx(result))
    {
        d.status = core::delivery_status::succeeded;
        stats_.record_delivery_attempt("succeeded");
        stats_.record_delivery_lag(
            std::chrono::milliseconds(std::max<core::unix_millis>(0, attempt.at - d.committed_at)));
        mark_target_healthy(d.target);
    }
    else
    {
        stats_.record_delivery_attempt(result.what == post_result::outcome::refused ? "refused" : "failed");
        const bool gone = result.what == post_result::outcome::responded && result.status == 410;
        co_await mark_target_failing(d.target, gone, attempt.at);
        if (const auto next = retry_.next_attempt_at(d.attempts.size(), attempt.at))
        {
            d.status = core::delivery_status::failed;
            d.next_attempt_at = *next;
        }
        else
        {
            d.status = core::delivery_status::dead;
            stats_.record_delivery_attempt("dead");
        }
    }
    co_await save_attempted(lane, d);
    ops::log().info("delivery attempt", {{"delivery", d.id},
                                         {"event", d.event},
                                         {"record", d.record_id},
                                         {"target", d.target},
                                         {"status", attempt.status},
                                         {"outcome", core::to_string(d.status)},
                                         {"latency_us", attempt.latency_us},
                                         {"error", attempt.error}});
}

net::awaitable<void> dispatcher::settle_lane(std::string lane, const core::delivery& d)
{
    if (shared())
    {
        // The lane's next head, when the store kept the claim for it; otherwise the claim ended with
        // the attempt's record, and the next head is claimed anew, here or on another node.
        auto& state = lanes_[lane];
        state.sending = false;
        if (subscription_deleted(d.target))
            co_await end_orphaned_lane(lane);
        else if (state.queue.empty())
        {
            if (!state.scheduled)
                lanes_.erase(lane);
            wake_claims();
        }
        else
            resume_lane(lane);
        wake_.cancel();
        co_return;
    }
    const bool orphaned = subscription_deleted(d.target);
    auto& state = lanes_[lane];
    state.sending = false;
    // Found by id: a retried delivery may have joined the lane ahead of this one meanwhile.
    const auto sent = std::find_if(state.queue.begin(), state.queue.end(),
                                   [&](const core::delivery& q) { return q.id == d.id; });
    if (sent != state.queue.end())
    {
        if (d.status == core::delivery_status::failed)
            *sent = d;
        else
        {
            state.queue.erase(sent);
            --open_;
            stats_.set_outbox_depth(static_cast<std::int64_t>(open_));
        }
    }
    if (orphaned)
        co_await end_orphaned_lane(lane); // the subscription was deleted while this attempt was under way
    else
        resume_lane(lane);
    wake_.cancel();
}

net::awaitable<void> dispatcher::end_for_deleted_subscription(core::delivery& d)
{
    d.status = core::delivery_status::dead;
    d.attempts.push_back({core::now_millis(), 0, 0, "the subscription was deleted"});
    // Not saved, it stays open in the store: a restart finds its subscription gone and ends it then.
    if (auto saved = co_await outbox_.save_delivery(d); !saved)
        ops::log().error("saving a delivery of a deleted subscription failed; it is ended at the next start",
                         {{"delivery", d.id}, {"error", saved.error().detail}});
}

net::awaitable<void> dispatcher::end_orphaned_lane(std::string lane)
{
    auto it = lanes_.find(lane);
    if (it == lanes_.end() || it->second.sending)
        co_return;
    if (shared())
    {
        // Under the claim, each head ends in turn while the store hands the next one on; deliveries
        // not due yet end when a claim takes them (any node finds the subscription gone).
        while (!lanes_[lane].queue.empty())
        {
            core::delivery d = lanes_[lane].queue.front();
            d.status = core::delivery_status::dead;
            d.attempts.push_back({core::now_millis(), 0, 0, "the subscription was deleted"});
            co_await save_attempted(lane, d);
        }
        if (!lanes_[lane].scheduled)
            lanes_.erase(lane);
        co_return;
    }
    // Taken out of the lane before the first save, so that nothing else sees them meanwhile.
    std::deque<core::delivery> ended = std::move(it->second.queue);
    it->second.queue.clear();
    if (!it->second.scheduled)
        lanes_.erase(it);
    open_ -= ended.size();
    stats_.set_outbox_depth(static_cast<std::int64_t>(open_));
    for (auto& d : ended)
        co_await end_for_deleted_subscription(d);
}

void dispatcher::resume_lane(const std::string& lane)
{
    auto it = lanes_.find(lane);
    if (it == lanes_.end())
        return;
    auto& state = it->second;
    if (state.queue.empty())
    {
        if (!state.scheduled && !state.sending)
            lanes_.erase(it);
        return;
    }
    // The lane's head waits no longer than its own schedule says.
    schedule(lane, std::max(core::now_millis(), state.queue.front().next_attempt_at));
}

net::awaitable<core::result<core::delivery>> dispatcher::requeue(std::uint64_t delivery_id)
{
    if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // shared: another node's changes
        co_return refreshed.error();
    auto loaded = co_await outbox_.load_delivery(delivery_id);
    if (!loaded)
        co_return loaded.error();
    if (!*loaded)
        co_return failure(errc::not_found, "no delivery " + std::to_string(delivery_id));
    core::delivery d = std::move(**loaded);
    if (subscription_deleted(d.target))
        co_return failure(errc::not_found,
                          "the subscription of delivery " + std::to_string(delivery_id) + " was deleted");
    if (d.status != core::delivery_status::dead && d.status != core::delivery_status::failed)
        co_return failure(errc::bad_request, "delivery " + std::to_string(delivery_id) + " is " +
                                                 std::string(core::to_string(d.status)) +
                                                 "; only failed or dead deliveries are retried");
    if (shared())
    {
        // Due now, in the store: whichever node claims its lane next sends it (a failed one keeps
        // its status until that attempt).
        d.next_attempt_at = core::now_millis();
        if (d.status == core::delivery_status::dead)
            d.status = core::delivery_status::pending;
        if (auto saved = co_await outbox_.save_delivery(d); !saved)
            co_return saved.error();
        wake_claims();
        co_return d;
    }
    auto& state = lanes_[d.lane];
    const bool queued = std::any_of(state.queue.begin(), state.queue.end(),
                                    [&](const core::delivery& q) { return q.id == d.id; });
    d.next_attempt_at = core::now_millis();
    if (queued)
    {
        // A failed delivery waiting for its next attempt: bring the attempt forward.
        for (auto& q : state.queue)
            if (q.id == d.id)
                q.next_attempt_at = d.next_attempt_at;
        if (state.scheduled)
            for (auto it = due_.begin(); it != due_.end(); ++it)
                if (it->second == d.lane)
                {
                    due_.erase(it);
                    state.scheduled = false;
                    break;
                }
        schedule(d.lane, d.next_attempt_at);
        co_return d;
    }
    d.status = core::delivery_status::pending;
    if (auto saved = co_await outbox_.save_delivery(d); !saved)
        co_return saved.error();
    enqueue(d);
    co_return d;
}

} // namespace reqstore::hooks
