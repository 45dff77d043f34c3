// The webhook dispatcher: fans every committed event out to the record's callback_url (status
// changes only) and to every enabled subscription that asks for it, as durable deliveries; then
// sends them, signed, one at a time per (target, record) lane in sequence order, retrying with
// full-jitter backoff until they succeed or die. Everything it knows is in the store, so a restart
// resumes where it stopped.
#pragma once

#include <reqstore/core/feed_notifier.hpp>
#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/hooks/http_client.hpp>
#include <reqstore/hooks/retry_policy.hpp>
#include <reqstore/hooks/secret_box.hpp>
#include <reqstore/ops/metrics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace reqstore::hooks
{

struct dispatcher_options
{
    std::vector<double> retry_schedule_seconds{5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400};
    std::chrono::milliseconds timeout{10'000};                 // one attempt
    std::chrono::milliseconds disable_after{5 * 86'400'000LL}; // a subscription failing this long is disabled
    std::string callback_secret;                               // signs deliveries to callback_url targets
    std::size_t max_in_flight = 256;                           // attempts under way at once
    // The body sent to a record's callback_url when it is not the standard one: given the change
    // feed entry and the record at that version, returns the body, or nullopt for the standard
    // body. A seed surface whose original API posts its own callback shape sets it (Autodesk).
    std::function<std::optional<std::string>(const boost::json::object& event,
                                             const boost::json::value& record)>
        callback_body;
    // Seals subscription secrets in the store (secret_box.hpp): the base64 of 32 bytes. The default
    // is the local profile's development key, like webhooks.callback_secret's.
    std::string secrets_key = "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=";
};

// A subscription as the API creates or changes it.
struct subscription_fields
{
    std::optional<std::string> url;
    std::optional<std::vector<std::string>> events;
    std::optional<std::vector<std::string>> types;
    std::optional<std::string> secret;
    std::optional<bool> enabled;
};

class dispatcher
{
public:
    // Everything passed by reference must outlive the dispatcher.
    dispatcher(boost::asio::any_io_executor executor, core::outbox_store& outbox, core::record_store& records,
               core::feed_notifier& feed, http_client& client, ops::metrics& stats,
               dispatcher_options options);

    // Makes this dispatcher one of several, on nodes that share the store (store/pg), named
    // `node_id` in leases and claims: it fans out only while it holds the fan-out's lease (and
    // then with a compare-and-swap on the cursor), and sends only the heads of lanes it claimed
    // from the store, recording each outcome under its claim. Subscriptions are read from the store
    // again before each use, since another node may have changed them. Before start().
    void share_with_nodes(core::outbox_coordination& coordination, std::string node_id);

    // Loads subscriptions and open deliveries, then starts fanning out and sending. Fails as the
    // store does, and then starts nothing.
    [[nodiscard]] boost::asio::awaitable<core::result<void>> start();
    // Stops starting attempts; attempts under way finish or time out.
    void stop();

    // Subscriptions (API). Each runs on the dispatcher's strand.
    [[nodiscard]] boost::asio::awaitable<core::result<core::subscription>>
    create_subscription(subscription_fields fields);
    [[nodiscard]] boost::asio::awaitable<core::result<std::vector<core::subscription>>> list_subscriptions();
    [[nodiscard]] boost::asio::awaitable<core::result<core::subscription>> get_subscription(std::string id);
    [[nodiscard]] boost::asio::awaitable<core::result<core::subscription>>
    update_subscription(std::string id, subscription_fields fields);
    [[nodiscard]] boost::asio::awaitable<core::result<void>> delete_subscription(std::string id);

    // Deliveries (API).
    [[nodiscard]] boost::asio::awaitable<core::result<std::vector<core::delivery>>>
    deliveries_of(std::string subscription_id, core::delivery_filter filter);
    // Queues a failed or dead delivery again (errc::not_found, or errc::bad_request if it is not
    // failed or dead).
    [[nodiscard]] boost::asio::awaitable<core::result<core::delivery>> retry(std::uint64_t delivery_id);
    // Queues again every failed or dead delivery of the subscription created at or after `since`;
    // returns how many.
    [[nodiscard]] boost::asio::awaitable<core::result<std::size_t>> recover(std::string subscription_id,
                                                                            core::unix_millis since);

private:
    struct lane_state
    {
        std::deque<core::delivery> queue; // open deliveries, head first, in sequence order
        bool sending = false;
        bool scheduled = false;
        std::uint64_t claim_epoch = 0; // shared with other nodes: the claim its head was taken under
    };

    // Every function below runs on strand_. Coroutines that take a reference are only awaited, never
    // spawned, so the referenced object lives in the awaiting frame.

    // ---- fan-out (dispatcher_fan_out.cpp): the change feed becomes deliveries ----
    boost::asio::awaitable<void> fan_out_loop();
    // Writes the deliveries of `entries` and the cursor past them in one batch, then queues them.
    // Fails as the store does, or on an unreadable entry, and then neither writes nor queues anything.
    [[nodiscard]] boost::asio::awaitable<core::result<void>>
    fan_out_batch(std::vector<core::feed_entry> entries);
    // A change feed entry as the fan-out reads it: the event, and the subscriptions that ask for it.
    struct fan_out_event
    {
        std::uint64_t sequence = 0;
        boost::json::object event;
        std::string name, record_id, type;
        std::uint64_t version = 0;
        bool to_callback = false;                                 // a status change: the callback_url's too
        std::vector<std::pair<std::string, std::string>> targets; // target, url
        bool needs_record = false;                                // for the body, or for the callback_url
    };
    // Reads one entry; fails (errc::internal) when it is unreadable.
    core::result<fan_out_event> read_event(const core::feed_entry& entry) const;
    // The deliveries one event makes (none if nobody asks for it), given the record at its version
    // (null when not needed or gone).
    std::vector<core::delivery> deliveries_for(fan_out_event e, const boost::json::value& record,
                                               core::unix_millis now) const;
    // Announces subscription `s`, just disabled for `reason`, to every other enabled subscription that
    // asks for webhook.disabled. A failure to write the deliveries is logged.
    boost::asio::awaitable<void> announce_disabled(core::subscription s, std::string reason);

    // ---- shared with other nodes (dispatcher_shared.cpp) ----
    // How often the fan-out's lease is renewed (or, by a node that does not hold it, tried), and
    // how long it lasts: a dead holder is replaced within the lease and one try.
    static constexpr std::chrono::milliseconds fan_out_lease_renewal{1'000};
    static constexpr std::chrono::milliseconds fan_out_lease{5'000};
    // How often each node claims due lanes when nothing wakes it sooner (a fan-out, a settled
    // attempt on this node). Another node's new deliveries wait for it.
    static constexpr std::chrono::milliseconds claim_poll{250};
    static constexpr std::chrono::milliseconds claim_gap{20}; // between two claim rounds at least
    // Between two fan-out rounds that found the feed caught up, at least. Each round is a
    // transaction acknowledged by the synchronous standby, as every commit of writes is: under a
    // steady load, a round per commit would double the commits the database makes, for a few
    // events each. A delivery waits this much longer at most.
    static constexpr std::chrono::milliseconds fan_out_gap{50};
    // Asks for a claim round as soon as claim_gap allows.
    void wake_claims();
    // How long a lane's claim lasts: twice as long as an attempt may (webhooks.timeout), and a
    // second for the round trips around it, so that only a live claim may be attempting. A dead
    // node's lanes are claimed again within it and one claim_poll.
    std::chrono::milliseconds lane_lease() const;
    bool shared() const { return coordination_ != nullptr; }
    // Takes or renews the fan-out's lease when a renewal is due; whether this node holds it. A new
    // epoch means another node may have moved the cursor meanwhile: it is read again.
    [[nodiscard]] boost::asio::awaitable<bool> hold_fan_out_lease();
    [[nodiscard]] boost::asio::awaitable<bool> take_fan_out_lease(std::chrono::steady_clock::time_point now);
    // Lanes that hold a delivery here (shared: the lanes this node has claimed).
    std::size_t lanes_with_a_head() const;
    // Claims due lanes from the store, as many as attempts may start, and queues their heads.
    boost::asio::awaitable<void> claim_loop();
    boost::asio::awaitable<void> claim_due_lanes();
    // Reads the subscriptions from the store again, keeping the failure state not yet saved here.
    [[nodiscard]] boost::asio::awaitable<core::result<void>> refresh_subscriptions();
    // Takes stored subscriptions in, their secrets unsealed (or kept sealed and the subscription
    // disabled, under another key). Returns those stored before secrets were sealed.
    std::vector<core::subscription> adopt_subscriptions(std::vector<core::subscription> stored);
    // Saves the outcome of an attempt of `d`, the head of `lane`: under its claim when shared (an
    // outcome whose claim was taken over is dropped, and logged).
    boost::asio::awaitable<void> save_attempted(const std::string& lane, const core::delivery& d);
    // Hands the claim on `lane` back to the store unattempted, and forgets the lane.
    boost::asio::awaitable<void> give_back_claim(std::string lane);
    // Saves a subscription's failure state (enabled, failing_since, disabled_reason).
    [[nodiscard]] boost::asio::awaitable<core::result<void>> save_state(const core::subscription& s);

    // ---- lanes (dispatcher_lanes.cpp): scheduling and sending ----
    boost::asio::awaitable<void> send_loop();
    // One attempt of the lane's head, then its outcome recorded and the lane settled.
    boost::asio::awaitable<void> deliver_head(std::string lane);
    // The signed POST of one attempt of `d`.
    post_request signed_request(const core::delivery& d) const;
    // Appends the attempt `result` stands for to `d`, judges `d` (succeeded, failed with its next
    // attempt due, or dead), updates its target's failure state, and saves `d`; a failure to save is
    // logged.
    boost::asio::awaitable<void> record_outcome(const std::string& lane, core::delivery& d,
                                                const post_result& result);
    // Ends the attempt of `d` in `lane`: the lane's copy of `d` is updated or removed, and the lane
    // resumes (or ends, if its subscription was deleted meanwhile).
    boost::asio::awaitable<void> settle_lane(std::string lane, const core::delivery& d);
    void enqueue(core::delivery d);
    void schedule(const std::string& lane, core::unix_millis due);
    void resume_lane(const std::string& lane);
    bool lane_blocked(const lane_state& lane) const;
    // Queues a failed or dead delivery again (the body of retry(), on the strand).
    [[nodiscard]] boost::asio::awaitable<core::result<core::delivery>> requeue(std::uint64_t delivery_id);
    // Ends every delivery of a lane whose subscription was deleted (unless an attempt is under way).
    boost::asio::awaitable<void> end_orphaned_lane(std::string lane);
    // Marks one delivery of a deleted subscription dead and saves it; a failure to save is logged.
    boost::asio::awaitable<void> end_for_deleted_subscription(core::delivery& d);
    // Saves the subscriptions of unsaved_failure_state_ when a second has passed since the last
    // save, or at once when `now_anyway`.
    boost::asio::awaitable<void> save_failure_state(bool now_anyway);
    const std::string& secret_for(const core::delivery& d) const;

    // ---- subscriptions (dispatcher_subscriptions.cpp): their state as deliveries change it ----
    // Disables subscription `id` (if enabled), saves it and announces it as webhook.disabled.
    boost::asio::awaitable<void> disable(std::string id, std::string reason);
    // A delivery to `target` succeeded: the subscription (if any) is no longer failing.
    void mark_target_healthy(const std::string& target);
    // A delivery to `target` failed at `at`: the subscription (if any) is failing since then, unless
    // it already was, and is disabled if the retry policy says so.
    boost::asio::awaitable<void> mark_target_failing(std::string target, bool answered_gone,
                                                     core::unix_millis at);
    // Publishes how many subscriptions are disabled.
    void count_disabled();
    // Whether `target` names a subscription that no longer exists (a callback target never does).
    bool subscription_deleted(const std::string& target) const;
    // Saves a subscription with its secret sealed. `s` must live until the save completes.
    [[nodiscard]] boost::asio::awaitable<core::result<void>> save(const core::subscription& s);

    core::outbox_store& outbox_;
    core::record_store& records_;
    core::feed_notifier& feed_;
    http_client& client_;
    ops::metrics& stats_;
    const dispatcher_options options_;
    const retry_policy retry_;
    const secret_box box_;

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    core::outbox_coordination* coordination_ = nullptr; // set when shared with other nodes
    std::string node_id_;
    // Everything below only on strand_.
    boost::asio::steady_timer wake_;
    boost::asio::steady_timer claim_wake_;       // shared: wakes the claim loop early
    bool claim_wanted_ = false;                  // shared: a claim round was asked for
    std::optional<std::uint64_t> fan_out_epoch_; // shared: the fan-out lease's, while held
    std::chrono::steady_clock::time_point lease_renewed_at_{};
    std::chrono::steady_clock::time_point subscriptions_read_at_{}; // shared: the last refresh
    std::map<std::string, core::subscription> subscriptions_;
    std::unordered_map<std::string, lane_state> lanes_;
    std::multimap<core::unix_millis, std::string> due_; // when each scheduled lane's head is due
    std::uint64_t cursor_ = 0;
    std::size_t in_flight_ = 0;
    std::size_t open_ = 0; // open deliveries (the outbox depth)
    // Subscriptions whose failing_since changed since it was last saved. A receiver that fails
    // some attempts flips it on nearly every attempt; saving each flip (a synced write on this
    // strand) held up the deliveries to every other target. It is saved at most once a second.
    std::set<std::string> unsaved_failure_state_;
    // Subscriptions whose secret is sealed under another webhooks.secrets_key, as stored: save()
    // writes their sealed secret and their enabled state back unchanged. They stay disabled and
    // cannot be enabled while this key runs.
    std::map<std::string, core::subscription> unreadable_secrets_;
    core::unix_millis failure_state_saved_at_ = 0;
    std::atomic<bool> stopping_{false}; // set by stop() from any thread
};

} // namespace reqstore::hooks
