// Fan-out of committed events to deliveries, and their sending: one lane per (target, record),
// one attempt at a time per lane, retries with full jitter, subscriptions disabled on 410 or after
// failing too long. All state lives on the dispatcher's strand.
#include <reqstore/core/ids.hpp>
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/validation.hpp>
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/hooks/signer.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <random>

namespace reqstore::hooks
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::size_t fan_out_batch_size = 512;
constexpr std::string_view callback_prefix = "cb_";

std::string lane_of(std::string_view target, std::string_view record)
{
    std::string lane(target);
    lane.push_back('\0');
    lane.append(record);
    return lane;
}

std::string text_of(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A URL as it may be shown to others: without user info and query, which may carry credentials.
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

double uniform(double high)
{
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, high)(engine);
}

// The body of a request event's delivery (API.md section 6).
std::string request_payload(const json::object& event, const json::value& record)
{
    json::object data{{"id", text_of(event, "id")},
                      {"type", text_of(event, "type")},
                      {"from", event.contains("from") ? event.at("from") : json::value(nullptr)},
                      {"to", text_of(event, "status")},
                      {"version", event.contains("version") ? event.at("version") : json::value(0)},
                      {"request", record}};
    return json::serialize(json::object{
        {"type", text_of(event, "event")}, {"timestamp", text_of(event, "at")}, {"data", std::move(data)}});
}

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

secret_box open_box(const std::string& key)
{
    auto box = secret_box::from_base64(key);
    if (!box)
        throw std::invalid_argument("webhooks.secrets_key must be the base64 of 32 bytes");
    return std::move(*box);
}

} // namespace

dispatcher::dispatcher(net::any_io_executor executor, core::outbox_store& outbox, core::record_store& records,
                       core::feed_notifier& feed, http_client& client, ops::metrics& stats,
                       dispatcher_options options)
    : outbox_(outbox), records_(records), feed_(feed), client_(client), stats_(stats),
      options_(std::move(options)), box_(open_box(options_.secrets_key)), strand_(net::make_strand(executor)),
      wake_(strand_)
{
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

net::awaitable<core::result<void>> dispatcher::start()
{
    auto subscriptions = co_await outbox_.load_subscriptions();
    if (!subscriptions)
        co_return subscriptions.error();
    std::int64_t disabled = 0;
    for (auto& s : *subscriptions)
    {
        const bool was_sealed = secret_box::is_sealed(s.secret);
        if (auto secret = box_.open(s.secret, s.id))
        {
            s.secret = std::move(*secret);
            if (!was_sealed) // written before secrets were sealed: seal it now
                if (auto saved = co_await save(s); !saved)
                    ops::log().error("sealing a subscription's secret failed; it is sealed at the next start",
                                     {{"subscription", s.id}, {"error", saved.error().detail}});
        }
        else
        {
            // Sealed under another webhooks.secrets_key: nothing can be signed for it. Its sealed
            // secret is kept as it is stored, so that a restart with the right key gets it back.
            ops::log().error("a webhook subscription's secret cannot be unsealed with webhooks.secrets_key; "
                             "it stays disabled until the server runs with the key it was sealed under, "
                             "or it is deleted and created again",
                             {{"subscription", s.id}});
            unreadable_secrets_[s.id] = s;
            s.secret.clear();
            s.enabled = false;
            s.disabled_reason = "its secret cannot be unsealed with the configured webhooks.secrets_key";
        }
        disabled += s.enabled ? 0 : 1;
        subscriptions_.emplace(s.id, std::move(s));
    }
    stats_.set_disabled_subscriptions(disabled);
    auto cursor = co_await outbox_.fan_out_cursor();
    if (!cursor)
        co_return cursor.error();
    cursor_ = *cursor;
    auto open = co_await outbox_.open_deliveries();
    if (!open)
        co_return open.error();
    // Open deliveries come back in id order, which is fan-out order: each lane's queue is rebuilt
    // in sequence order.
    for (auto& d : *open)
    {
        if (!d.target.starts_with(callback_prefix) && !subscriptions_.contains(d.target))
        {
            // Its subscription was deleted while the delivery was open (and the server stopped
            // before it could mark it): it ends here.
            co_await end_for_deleted_subscription(d);
            continue;
        }
        enqueue(std::move(d));
    }
    net::co_spawn(strand_, fan_out_loop(), net::detached);
    net::co_spawn(strand_, send_loop(), net::detached);
    co_return core::result<void>();
}

void dispatcher::stop()
{
    // Set here, not on the strand: the fan-out loop may be spinning there on a closed feed.
    stopping_.store(true);
    net::post(strand_, [this] { wake_.cancel(); });
    feed_.wake_all();
}

// ---- fan-out -----------------------------------------------------------------------------------

net::awaitable<void> dispatcher::fan_out_loop()
{
    while (!stopping_)
    {
        auto entries = co_await outbox_.events_after(cursor_, fan_out_batch_size);
        if (!entries || entries->empty())
        {
            if (!entries)
                ops::log().error("reading the change feed for webhooks failed",
                                 {{"error", entries.error().detail}});
            co_await feed_.wait_beyond(cursor_, std::chrono::seconds(entries ? 30 : 1));
            continue;
        }
        if (auto done = co_await fan_out_batch(std::move(*entries)); !done)
        {
            ops::log().error("fanning out events to deliveries failed", {{"error", done.error().detail}});
            net::steady_timer pause(strand_, std::chrono::seconds(1));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
    }
}

net::awaitable<core::result<void>> dispatcher::fan_out_batch(std::vector<core::feed_entry> entries)
{
    std::vector<core::delivery> created;
    const core::unix_millis now = core::now_millis();
    for (const auto& entry : entries)
    {
        boost::system::error_code ec;
        const json::value parsed = json::parse(entry.json, ec);
        if (ec || !parsed.is_object())
            co_return failure(errc::internal,
                              "change feed entry " + std::to_string(entry.sequence) + " is unreadable");
        const json::object& event = parsed.get_object();
        const std::string name = text_of(event, "event");
        const std::string record_id = text_of(event, "id");
        const std::string type = text_of(event, "type");
        const auto version = event.contains("version") && event.at("version").is_number()
                                 ? event.at("version").to_number<std::uint64_t>()
                                 : 0;
        const bool to_callback = name == "request.status_changed";
        std::vector<std::pair<std::string, std::string>> targets; // target, url
        for (const auto& [id, s] : subscriptions_)
            if (s.enabled && s.wants(name, type))
                targets.emplace_back(id, s.url);
        json::value record;
        if (!targets.empty() || to_callback)
        {
            auto stored = co_await records_.load_version(record_id, version);
            if (!stored)
                co_return stored.error();
            if (*stored)
            {
                auto body = core::parse_json_body((*stored)->body, 1024);
                if (body)
                    record = std::move(*body);
            }
        }
        if (to_callback && record.is_object())
            if (const auto* url = record.get_object().if_contains("callback_url"); url && url->is_string())
                targets.emplace_back(std::string(callback_prefix) + record_id,
                                     std::string(url->get_string()));
        if (targets.empty())
            continue;
        const std::string payload = request_payload(event, record);
        std::optional<std::string> callback_payload;
        if (to_callback && options_.callback_body)
            callback_payload = options_.callback_body(event, record);
        const auto committed = core::parse_rfc3339(text_of(event, "at")).value_or(now);
        for (auto& [target, url] : targets)
        {
            const bool is_callback = target.starts_with(callback_prefix);
            core::delivery d;
            d.target = target;
            d.lane = lane_of(target, record_id);
            d.sequence = entry.sequence;
            d.event = name;
            d.record_id = record_id;
            d.record_type = type;
            d.version = version;
            d.url = std::move(url);
            d.webhook_id = "evt_" + std::to_string(entry.sequence);
            d.payload = is_callback && callback_payload ? *callback_payload : payload;
            d.created_at = now;
            d.committed_at = committed;
            d.next_attempt_at = now;
            created.push_back(std::move(d));
        }
    }
    const std::uint64_t new_cursor = entries.back().sequence;
    if (auto written = co_await outbox_.fan_out(new_cursor, created); !written)
        co_return written.error();
    cursor_ = new_cursor;
    for (auto& d : created)
        enqueue(std::move(d));
    co_return core::result<void>();
}

// ---- lanes and scheduling ----------------------------------------------------------------------

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
    if (target.starts_with(callback_prefix))
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
            if (auto saved = co_await save(it->second); !saved)
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
                // one's deliveries end here.
                if (!state.queue.empty() && !state.queue.front().target.starts_with(callback_prefix) &&
                    !subscriptions_.contains(state.queue.front().target))
                    co_await end_orphaned_lane(lane);
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
    if (d.target.starts_with(callback_prefix))
        return options_.callback_secret;
    const auto it = subscriptions_.find(d.target);
    return it == subscriptions_.end() ? none : it->second.secret;
}

net::awaitable<void> dispatcher::deliver_head(std::string lane)
{
    core::delivery d = lanes_[lane].queue.front();
    // A subscription's deliveries go to its URL as it is now, so that one PATCHed to a new
    // receiver takes its waiting and recovered deliveries along.
    if (const auto sub = subscriptions_.find(d.target); sub != subscriptions_.end())
        d.url = sub->second.url;
    post_request request;
    request.url = d.url;
    request.body = d.payload;
    request.timeout = options_.timeout;
    const auto timestamp = core::now_millis() / 1000;
    request.headers = {{"webhook-id", d.webhook_id}, {"webhook-timestamp", std::to_string(timestamp)}};
    if (const auto key = decode_secret(secret_for(d)))
        request.headers.emplace_back("webhook-signature", sign(*key, d.webhook_id, timestamp, d.payload));

    const post_result result = co_await client_.post(std::move(request));
    // Back on the strand (the coroutine's executor): lanes and subscriptions may have changed.
    --in_flight_;
    if (stopping_)
        co_return; // shutting down: the delivery stays open in the store and is sent after a restart
    core::delivery_attempt attempt;
    attempt.at = core::now_millis();
    attempt.status = result.status;
    attempt.latency_us = result.latency.count();
    const bool ok =
        result.what == post_result::outcome::responded && result.status >= 200 && result.status < 300;
    if (result.what != post_result::outcome::responded)
        attempt.error = result.error;
    else if (!ok)
        attempt.error = "answered " + std::to_string(result.status);
    d.attempts.push_back(attempt);

    auto sub = subscriptions_.find(d.target);
    if (ok)
    {
        d.status = core::delivery_status::succeeded;
        stats_.record_delivery_attempt("succeeded");
        stats_.record_delivery_lag(
            std::chrono::milliseconds(std::max<core::unix_millis>(0, attempt.at - d.committed_at)));
        if (sub != subscriptions_.end() && sub->second.failing_since)
        {
            sub->second.failing_since.reset();
            unsaved_failure_state_.insert(d.target);
        }
    }
    else
    {
        stats_.record_delivery_attempt(result.what == post_result::outcome::refused ? "refused" : "failed");
        if (sub != subscriptions_.end())
        {
            auto& s = sub->second;
            if (!s.failing_since)
            {
                s.failing_since = attempt.at;
                unsaved_failure_state_.insert(d.target);
            }
            if (result.what == post_result::outcome::responded && result.status == 410)
                co_await disable(d.target, "the target answered 410 Gone");
            else if (attempt.at - *s.failing_since >= options_.disable_after.count())
                co_await disable(d.target,
                                 "every delivery has failed since " + core::format_rfc3339(*s.failing_since));
        }
        if (d.attempts.size() > options_.retry_schedule_seconds.size())
        {
            d.status = core::delivery_status::dead;
            stats_.record_delivery_attempt("dead");
        }
        else
        {
            d.status = core::delivery_status::failed;
            const double cap = options_.retry_schedule_seconds[d.attempts.size() - 1];
            d.next_attempt_at = attempt.at + static_cast<core::unix_millis>(uniform(cap) * 1000.0);
        }
    }
    if (auto saved = co_await outbox_.save_delivery(d); !saved)
        ops::log().error("saving a delivery's state failed",
                         {{"delivery", d.id}, {"error", saved.error().detail}});
    ops::log().info("delivery attempt", {{"delivery", d.id},
                                         {"event", d.event},
                                         {"record", d.record_id},
                                         {"target", d.target},
                                         {"status", attempt.status},
                                         {"outcome", core::to_string(d.status)},
                                         {"latency_us", attempt.latency_us},
                                         {"error", attempt.error}});

    const bool orphaned = !d.target.starts_with(callback_prefix) && !subscriptions_.contains(d.target);
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
    if (auto saved = co_await save(s); !saved)
        ops::log().error("saving a disabled subscription failed; it is disabled until a restart",
                         {{"subscription", s.id}, {"error", saved.error().detail}});
    ops::log().warn("webhook subscription disabled",
                    {{"subscription", s.id}, {"url", without_credentials(s.url)}, {"reason", reason}});
    std::int64_t disabled = 0;
    for (const auto& [other_id, other] : subscriptions_)
        disabled += other.enabled ? 0 : 1;
    stats_.set_disabled_subscriptions(disabled);

    // Announced to every other subscription that asks for webhook.disabled.
    const core::unix_millis now = core::now_millis();
    const std::string payload = json::serialize(json::object{
        {"type", "webhook.disabled"},
        {"timestamp", core::format_rfc3339(now)},
        {"data", json::object{{"id", s.id}, {"url", without_credentials(s.url)}, {"reason", reason}}}});
    std::vector<core::delivery> created;
    for (const auto& [other_id, other] : subscriptions_)
    {
        if (other_id == s.id || !other.enabled ||
            std::none_of(other.events.begin(), other.events.end(),
                         [](const std::string& e) { return e == "*" || e == "webhook.disabled"; }))
            continue;
        core::delivery d;
        d.target = other_id;
        d.lane = lane_of(other_id, s.id);
        d.event = "webhook.disabled";
        d.record_id = s.id;
        d.url = other.url;
        d.webhook_id = "evt_disabled_" + s.id + "_" + std::to_string(now);
        d.payload = payload;
        d.created_at = now;
        d.committed_at = now;
        d.next_attempt_at = now;
        created.push_back(std::move(d));
    }
    if (created.empty())
        co_return;
    if (auto written = co_await outbox_.fan_out(cursor_, created); !written)
    {
        ops::log().error("announcing a disabled subscription failed", {{"error", written.error().detail}});
        co_return;
    }
    for (auto& d : created)
        enqueue(std::move(d));
}

// ---- the API's operations, each run on the strand ----------------------------------------------

namespace
{

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
        std::int64_t disabled = 0;
        for (const auto& [other_id, other] : subscriptions_)
            disabled += other.enabled ? 0 : 1;
        stats_.set_disabled_subscriptions(disabled);
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
        if (!subscriptions_.contains(id))
            co_return failure(errc::not_found, "no webhook subscription " + id);
        co_return co_await outbox_.deliveries_to(id, filter);
    };
    co_return co_await on_strand<core::result<std::vector<core::delivery>>>(strand_, std::move(op));
}

net::awaitable<core::result<core::delivery>> dispatcher::requeue(std::uint64_t delivery_id)
{
    auto loaded = co_await outbox_.load_delivery(delivery_id);
    if (!loaded)
        co_return loaded.error();
    if (!*loaded)
        co_return failure(errc::not_found, "no delivery " + std::to_string(delivery_id));
    core::delivery d = std::move(**loaded);
    if (!d.target.starts_with(callback_prefix) && !subscriptions_.contains(d.target))
        co_return failure(errc::not_found,
                          "the subscription of delivery " + std::to_string(delivery_id) + " was deleted");
    if (d.status != core::delivery_status::dead && d.status != core::delivery_status::failed)
        co_return failure(errc::bad_request, "delivery " + std::to_string(delivery_id) + " is " +
                                                 std::string(core::to_string(d.status)) +
                                                 "; only failed or dead deliveries are retried");
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
