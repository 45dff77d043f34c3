// The dispatcher's life: construction, start (subscriptions with their secrets unsealed, open
// deliveries back in their lanes) and stop. Fan-out, lanes and subscriptions have their own files.
#include <reqstore/hooks/dispatcher.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>

namespace reqstore::hooks
{
namespace net = boost::asio;

namespace
{

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
      options_(std::move(options)), retry_(options_.retry_schedule_seconds, options_.disable_after),
      box_(open_box(options_.secrets_key)), strand_(net::make_strand(executor)), wake_(strand_),
      claim_wake_(strand_)
{
}

void dispatcher::share_with_nodes(core::outbox_coordination& coordination, std::string node_id)
{
    coordination_ = &coordination;
    node_id_ = std::move(node_id);
    stats_.share_work();
}

std::vector<core::subscription> dispatcher::adopt_subscriptions(std::vector<core::subscription> stored)
{
    std::vector<core::subscription> unsealed_before;
    subscriptions_.clear();
    unreadable_secrets_.clear();
    for (auto& s : stored)
    {
        const bool was_sealed = secret_box::is_sealed(s.secret);
        if (auto secret = box_.open(s.secret, s.id))
        {
            s.secret = std::move(*secret);
            if (!was_sealed) // written before secrets were sealed: seal it now
                unsealed_before.push_back(s);
        }
        else
        {
            // Sealed under another webhooks.secrets_key: nothing can be signed for it. Its sealed
            // secret is kept as it is stored, so that a restart with the right key gets it back.
            unreadable_secrets_[s.id] = s;
            s.secret.clear();
            s.enabled = false;
            s.disabled_reason = "its secret cannot be unsealed with the configured webhooks.secrets_key";
        }
        subscriptions_.emplace(s.id, std::move(s));
    }
    count_disabled();
    return unsealed_before;
}

net::awaitable<core::result<void>> dispatcher::start()
{
    auto subscriptions = co_await outbox_.load_subscriptions();
    if (!subscriptions)
        co_return subscriptions.error();
    for (const auto& s : adopt_subscriptions(std::move(*subscriptions)))
        if (auto saved = co_await save(s); !saved)
            ops::log().error("sealing a subscription's secret failed; it is sealed at the next start",
                             {{"subscription", s.id}, {"error", saved.error().detail}});
    for (const auto& [id, s] : unreadable_secrets_)
        ops::log().error("a webhook subscription's secret cannot be unsealed with webhooks.secrets_key; "
                         "it stays disabled until the server runs with the key it was sealed under, "
                         "or it is deleted and created again",
                         {{"subscription", id}});
    if (shared())
    {
        // Nothing is held here: the fan-out waits for its lease, and open deliveries are claimed
        // lane by lane from the store. Claims this node's name holds are its previous run's.
        if (auto released = co_await coordination_->release_lanes_of(node_id_); !released)
            co_return released.error();
        net::co_spawn(strand_, fan_out_loop(), net::detached);
        net::co_spawn(strand_, send_loop(), net::detached);
        net::co_spawn(strand_, claim_loop(), net::detached);
        co_return core::result<void>();
    }
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
        if (subscription_deleted(d.target))
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
    net::post(strand_,
              [this]
              {
                  wake_.cancel();
                  claim_wake_.cancel();
              });
    feed_.wake_all();
}

} // namespace reqstore::hooks
