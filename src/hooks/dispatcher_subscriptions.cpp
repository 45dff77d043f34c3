// The dispatcher's subscriptions: the API's operations on them, each run on the strand, sealing
// their secrets when they are saved, and their failure state as deliveries succeed or fail, up to
// disabling one the retry policy gives up on.
#include <reqstore/core/ids.hpp>
#include <reqstore/core/validation.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/hooks/signer.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <set>

#include "delivery_target.hpp"

namespace reqstore::hooks
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

// A subscription's answer to the API never holds its secret.
void check_subscription_fields(const subscription_fields& f, bool creating, json::object& errors)
{
    if (creating && !f.url)
        errors["/url"] = "is required";
    if (f.url && !core::is_absolute_http_url(*f.url))
        errors["/url"] = "must be an absolute http or https URL";
    if (creating && !f.events)
        errors["/events"] = "is required: a list of event names, or [\"*\"]";
    if (f.events)
    {
        static const std::set<std::string_view> known{"*",
                                                      "request.created",
                                                      "request.updated",
                                                      "request.status_changed",
                                                      "request.deleted",
                                                      "webhook.disabled"};
        if (f.events->empty())
            errors["/events"] = "must name at least one event";
        for (std::size_t i = 0; i < f.events->size(); ++i)
            if (!known.contains((*f.events)[i]))
                errors["/events/" + std::to_string(i)] = "\"" + (*f.events)[i] + "\" is not an event";
    }
    if (f.secret && !decode_secret(*f.secret))
        errors["/secret"] = "must be whsec_ followed by the base64 of 16 to 128 bytes";
}

// `fn` is a parameter, so it lives in this coroutine's frame for as long as the call runs, and
// with it the captures of the lambda coroutine it holds. (A capturing lambda coroutine called
// bare would not: its captures die with the closure, before its first suspension ends.)
template <class T>
net::awaitable<T> call(std::function<net::awaitable<T>()> fn)
{
    co_return co_await fn();
}

template <class T>
net::awaitable<T> on_strand(net::strand<net::any_io_executor>& strand, std::function<net::awaitable<T>()> fn)
{
    co_return co_await net::co_spawn(strand, call<T>(std::move(fn)), net::use_awaitable);
}

} // namespace

std::string without_credentials(const std::string& url)
{
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed)
        return {};
    boost::urls::url copy(*parsed);
    copy.remove_userinfo();
    copy.remove_query();
    copy.remove_fragment();
    return std::string(copy.buffer());
}

net::awaitable<core::result<void>> dispatcher::save(const core::subscription& s)
{
    core::subscription stored = s;
    if (const auto unreadable = unreadable_secrets_.find(s.id); unreadable != unreadable_secrets_.end())
    {
        // Kept as stored: the sealed secret, and whether it is enabled (disabled here only because
        // this key cannot read it).
        stored.secret = unreadable->second.secret;
        stored.enabled = unreadable->second.enabled;
        stored.disabled_reason = unreadable->second.disabled_reason;
    }
    else
        stored.secret = box_.seal(s.secret, s.id);
    co_return co_await outbox_.save_subscription(stored);
}

net::awaitable<void> dispatcher::disable(std::string id, std::string reason)
{
    const auto found = subscriptions_.find(id);
    if (found == subscriptions_.end() || !found->second.enabled)
        co_return;
    found->second.enabled = false;
    found->second.disabled_reason = reason;
    found->second.updated_at = core::now_millis();
    // A copy: the map may change while the save is awaited.
    const core::subscription s = found->second;
    if (auto saved = co_await save_state(s); !saved)
        ops::log().error("saving a disabled subscription failed; it is disabled until a restart",
                         {{"subscription", s.id}, {"error", saved.error().detail}});
    ops::log().warn("webhook subscription disabled",
                    {{"subscription", s.id}, {"url", without_credentials(s.url)}, {"reason", reason}});
    count_disabled();
    co_await announce_disabled(s, std::move(reason));
}

void dispatcher::mark_target_healthy(const std::string& target)
{
    const auto sub = subscriptions_.find(target);
    if (sub != subscriptions_.end() && sub->second.failing_since)
    {
        sub->second.failing_since.reset();
        unsaved_failure_state_.insert(target);
    }
}

net::awaitable<void> dispatcher::mark_target_failing(std::string target, bool answered_gone,
                                                     core::unix_millis at)
{
    const auto sub = subscriptions_.find(target);
    if (sub == subscriptions_.end())
        co_return;
    auto& s = sub->second;
    if (!s.failing_since)
    {
        s.failing_since = at;
        unsaved_failure_state_.insert(target);
    }
    if (auto reason = retry_.disable_reason(answered_gone, *s.failing_since, at))
        co_await disable(std::move(target), std::move(*reason));
}

void dispatcher::count_disabled()
{
    std::int64_t disabled = 0;
    for (const auto& [id, s] : subscriptions_)
        disabled += s.enabled ? 0 : 1;
    stats_.set_disabled_subscriptions(disabled);
}

bool dispatcher::subscription_deleted(const std::string& target) const
{
    return !is_callback_target(target) && !subscriptions_.contains(target);
}

net::awaitable<core::result<core::subscription>> dispatcher::create_subscription(subscription_fields fields)
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<core::subscription>>()> op =
        [this, fields = std::move(fields)]() -> net::awaitable<core::result<core::subscription>>
    {
        json::object errors;
        check_subscription_fields(fields, true, errors);
        if (!errors.empty())
            co_return failure(errc::validation_failed, "the subscription is not valid",
                              {{"errors", std::move(errors)}});
        core::subscription s;
        s.id = core::generate_id(core::id_format::prefixed, "whk_");
        s.url = *fields.url;
        s.events = *fields.events;
        s.types = fields.types.value_or(std::vector<std::string>{});
        s.secret = fields.secret.value_or(generate_secret());
        s.enabled = fields.enabled.value_or(true);
        s.created_at = s.updated_at = core::now_millis();
        if (auto saved = co_await save(s); !saved)
            co_return saved.error();
        subscriptions_.emplace(s.id, s);
        co_return s;
    };
    co_return co_await on_strand<core::result<core::subscription>>(strand_, std::move(op));
}

net::awaitable<core::result<std::vector<core::subscription>>> dispatcher::list_subscriptions()
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<std::vector<core::subscription>>>()> op =
        [this]() -> net::awaitable<core::result<std::vector<core::subscription>>>
    {
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // another node's changes
            co_return refreshed.error();
        std::vector<core::subscription> out;
        for (const auto& [id, s] : subscriptions_)
            out.push_back(s);
        co_return out;
    };
    co_return co_await on_strand<core::result<std::vector<core::subscription>>>(strand_, std::move(op));
}

net::awaitable<core::result<core::subscription>> dispatcher::get_subscription(std::string id)
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<core::subscription>>()> op =
        [this, id = std::move(id)]() -> net::awaitable<core::result<core::subscription>>
    {
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // another node's changes
            co_return refreshed.error();
        const auto it = subscriptions_.find(id);
        if (it == subscriptions_.end())
            co_return failure(errc::not_found, "no webhook subscription " + id);
        co_return it->second;
    };
    co_return co_await on_strand<core::result<core::subscription>>(strand_, std::move(op));
}

net::awaitable<core::result<core::subscription>> dispatcher::update_subscription(std::string id,
                                                                                 subscription_fields fields)
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<core::subscription>>()> op =
        [this, id = std::move(id),
         fields = std::move(fields)]() -> net::awaitable<core::result<core::subscription>>
    {
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // another node's changes
            co_return refreshed.error();
        const auto it = subscriptions_.find(id);
        if (it == subscriptions_.end())
            co_return failure(errc::not_found, "no webhook subscription " + id);
        json::object errors;
        check_subscription_fields(fields, false, errors);
        if (!errors.empty())
            co_return failure(errc::validation_failed, "the subscription is not valid",
                              {{"errors", std::move(errors)}});
        core::subscription s = it->second;
        const bool enabling = fields.enabled && *fields.enabled && !s.enabled;
        if (enabling && unreadable_secrets_.contains(id))
            co_return failure(
                errc::validation_failed, "the subscription cannot be enabled",
                {{"errors", json::object{{"/enabled", "its secret cannot be unsealed with the configured "
                                                      "webhooks.secrets_key; delete the subscription and "
                                                      "create it again"}}}});
        if (fields.url)
            s.url = *fields.url;
        if (fields.events)
            s.events = *fields.events;
        if (fields.types)
            s.types = *fields.types;
        if (fields.enabled)
            s.enabled = *fields.enabled;
        if (enabling)
        {
            s.failing_since.reset();
            s.disabled_reason.reset();
        }
        s.updated_at = core::now_millis();
        if (auto saved = co_await save(s); !saved)
            co_return saved.error();
        it->second = s;
        count_disabled();
        if (enabling)
            for (auto& [lane, state] : lanes_)
                if (!state.queue.empty() && state.queue.front().target == id)
                    schedule(lane, core::now_millis());
        co_return s;
    };
    co_return co_await on_strand<core::result<core::subscription>>(strand_, std::move(op));
}

net::awaitable<core::result<void>> dispatcher::delete_subscription(std::string id)
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<void>>()> op =
        [this, id = std::move(id)]() -> net::awaitable<core::result<void>>
    {
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // another node's changes
            co_return refreshed.error();
        const auto it = subscriptions_.find(id);
        if (it == subscriptions_.end())
            co_return failure(errc::not_found, "no webhook subscription " + id);
        if (auto removed = co_await outbox_.delete_subscription(id); !removed)
            co_return removed.error();
        subscriptions_.erase(id); // by id: the map may have changed while the removal was awaited
        unreadable_secrets_.erase(id);
        // Its open deliveries end here, marked dead so that they are not resumed after a restart. A
        // lane with an attempt under way ends when the attempt does (deliver_head).
        std::vector<std::string> orphaned;
        for (const auto& [lane, state] : lanes_)
            if (!state.queue.empty() && state.queue.front().target == id && !state.sending)
                orphaned.push_back(lane);
        for (auto& lane : orphaned)
            co_await end_orphaned_lane(std::move(lane));
        co_return core::result<void>();
    };
    co_return co_await on_strand<core::result<void>>(strand_, std::move(op));
}

net::awaitable<core::result<std::vector<core::delivery>>>
dispatcher::deliveries_of(std::string subscription_id, core::delivery_filter filter)
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<std::vector<core::delivery>>>()> op =
        [this, id = std::move(subscription_id),
         filter]() -> net::awaitable<core::result<std::vector<core::delivery>>>
    {
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // another node's changes
            co_return refreshed.error();
        if (!subscriptions_.contains(id))
            co_return failure(errc::not_found, "no webhook subscription " + id);
        co_return co_await outbox_.deliveries_to(id, filter);
    };
    co_return co_await on_strand<core::result<std::vector<core::delivery>>>(strand_, std::move(op));
}

net::awaitable<core::result<core::delivery>> dispatcher::retry(std::uint64_t delivery_id)
{
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    std::function<net::awaitable<core::result<core::delivery>>()> op = [this, delivery_id]
    {
        return requeue(delivery_id);
    };
    co_return co_await on_strand<core::result<core::delivery>>(strand_, std::move(op));
}

net::awaitable<core::result<std::size_t>> dispatcher::recover(std::string subscription_id,
                                                              core::unix_millis since)
{
    // One operation on the strand: no delivery can settle between being listed and requeued.
    std::function<net::awaitable<core::result<std::size_t>>()> op =
        [this, id = std::move(subscription_id), since]() -> net::awaitable<core::result<std::size_t>>
    {
        if (auto refreshed = co_await refresh_subscriptions(); !refreshed) // another node's changes
            co_return refreshed.error();
        if (!subscriptions_.contains(id))
            co_return failure(errc::not_found, "no webhook subscription " + id);
        std::size_t queued = 0;
        core::delivery_filter page{std::nullopt, 0, 1000};
        for (;;)
        {
            auto listed = co_await outbox_.deliveries_to(id, page);
            if (!listed)
                co_return listed.error();
            for (const auto& d : *listed)
                if ((d.status == core::delivery_status::failed || d.status == core::delivery_status::dead) &&
                    d.created_at >= since)
                {
                    if (auto requeued = co_await requeue(d.id); !requeued)
                        co_return requeued.error();
                    ++queued;
                }
            if (listed->size() < page.limit)
                co_return queued;
            page.after_id = listed->back().id;
        }
    };
    co_return co_await on_strand<core::result<std::size_t>>(strand_, std::move(op));
}

} // namespace reqstore::hooks
