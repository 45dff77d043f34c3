// The PostgreSQL engine: core::record_store and core::outbox_store in a schema of one PostgreSQL
// database that any number of reqstore nodes share (docs/SCALING.md).
//
// Writes go through one writer connection per node, which runs the group commit: every commit
// queued since its last round trip goes to the server as one call of the server-side function
// rs_commit (one round trip, one transaction), which checks each commit's compare-and-swap on
// (version, tag) and numbers the events from a one-row counter in that same transaction, so that
// the change feed stays gap-free across nodes. Reads take a connection of a small pool. Both
// reconnect by themselves; meanwhile calls fail with errc::store_unavailable.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace reqstore::store::pg
{

struct pg_options
{
    std::string conninfo;            // a libpq connection string or URI; multi-host allowed
    std::string schema = "reqstore"; // where the tables live; created if missing
    std::size_t readers = 4;         // connections for reads and outbox calls
    // A call not answered by then fails (store_unavailable); its connection is dropped.
    std::chrono::milliseconds read_timeout{10'000};
    // A commit not answered by then fails with its outcome unknown. Longer than a read: a
    // synchronous standby's acknowledgement is part of it.
    std::chrono::milliseconds commit_timeout{30'000};
    // How long open() keeps trying to reach the database.
    std::chrono::milliseconds open_timeout{30'000};
    // A batch of the group commit carries at most this many bytes of bodies and attachments (one
    // commit larger than that goes alone).
    std::size_t max_batch_bytes = 16u << 20;
    // Follow the commits of other nodes (LISTEN/NOTIFY and a poll), telling the commit observer of
    // each new last sequence. Off only where one store is alone and its context must run out of
    // work when idle (the conformance suite).
    bool follow_other_nodes = true;
};

// Whether `schema` is a name open() accepts: lower-case letters, digits and '_', not starting
// with a digit, at most 63 characters.
bool valid_schema_name(std::string_view schema) noexcept;

class pg_store final : public core::record_store, public core::outbox_store, public core::outbox_coordination
{
public:
    template <class T>
    using awaitable_result = boost::asio::awaitable<core::result<T>>;

    // Connects, creates or migrates the schema (under an advisory lock, so that nodes starting
    // together are safe), and reads the feed's last sequence. Fails naming the cause when the
    // database cannot be reached within options.open_timeout, or holds a schema version newer
    // than this build knows. `executor` runs every call's I/O.
    [[nodiscard]] static awaitable_result<std::unique_ptr<pg_store>>
    open(pg_options options, boost::asio::any_io_executor executor, core::commit_observer observer = {});

    ~pg_store() override;

    // Ends the loop that follows other nodes' commits (within a quarter second), so that the I/O
    // context can run out of work. Commits and reads still work. Idempotent.
    void stop_listening() noexcept;

    // Fails queued commits (errc::unavailable) and every later call; closes the connections.
    // A commit already sent completes as the server decides. Idempotent.
    [[nodiscard]] core::result<void> close();

    // core::record_store (core/record_store.hpp).
    [[nodiscard]] awaitable_result<std::optional<core::stored_version>> load(std::string_view id) override;
    [[nodiscard]] awaitable_result<std::optional<core::stored_version>>
    load_version(std::string_view id, std::uint64_t version) override;
    [[nodiscard]] awaitable_result<std::vector<std::optional<core::stored_version>>>
    load_versions(std::vector<std::pair<std::string, std::uint64_t>> wanted) override;
    [[nodiscard]] awaitable_result<std::vector<core::stored_version>>
    history(std::string_view id, std::uint64_t below_version, std::size_t limit) override;
    [[nodiscard]] awaitable_result<core::list_page> list(const core::list_filter& filter,
                                                         std::string_view after_id, std::size_t limit,
                                                         std::size_t max_examined) override;
    std::shared_ptr<core::pending_commit> start_commit(core::commit_request request) override;
    [[nodiscard]] awaitable_result<std::vector<core::timer_key>> timers_due(core::unix_millis up_to,
                                                                            std::size_t limit) override;
    [[nodiscard]] awaitable_result<std::optional<core::timer_key>> earliest_timer() override;
    [[nodiscard]] awaitable_result<void> remove_timer(const core::timer_key& timer) override;
    [[nodiscard]] awaitable_result<std::optional<core::idempotency_entry>>
    load_idempotency(std::string_view key) override;
    [[nodiscard]] awaitable_result<std::size_t> remove_idempotency_before(core::unix_millis cutoff) override;
    [[nodiscard]] awaitable_result<std::optional<std::string>>
    load_attachment(std::string_view id, std::string_view sha256) override;

    // core::outbox_store (core/outbox.hpp).
    [[nodiscard]] awaitable_result<std::vector<core::feed_entry>> events_after(std::uint64_t after,
                                                                               std::size_t limit) override;
    [[nodiscard]] awaitable_result<std::uint64_t> oldest_sequence() override;
    [[nodiscard]] awaitable_result<std::size_t> trim_events(core::unix_millis cutoff,
                                                            std::uint64_t below) override;
    [[nodiscard]] awaitable_result<std::vector<core::subscription>> load_subscriptions() override;
    [[nodiscard]] awaitable_result<void> save_subscription(const core::subscription& s) override;
    [[nodiscard]] awaitable_result<void> delete_subscription(std::string_view id) override;
    [[nodiscard]] awaitable_result<std::uint64_t> fan_out_cursor() override;
    [[nodiscard]] awaitable_result<void> fan_out(std::uint64_t cursor,
                                                 std::vector<core::delivery>& deliveries) override;
    [[nodiscard]] awaitable_result<void> save_delivery(const core::delivery& d) override;
    [[nodiscard]] awaitable_result<std::optional<core::delivery>> load_delivery(std::uint64_t id) override;
    [[nodiscard]] awaitable_result<std::vector<core::delivery>> open_deliveries() override;
    [[nodiscard]] awaitable_result<std::vector<core::delivery>>
    deliveries_to(std::string_view target, const core::delivery_filter& filter) override;

    // core::outbox_coordination (core/outbox.hpp): the webhook dispatchers of the nodes sharing
    // the database take turns through these (pg_coordination.cpp).
    [[nodiscard]] awaitable_result<std::optional<std::uint64_t>>
    acquire_lease(std::string_view name, std::string_view holder,
                  std::chrono::milliseconds duration) override;
    [[nodiscard]] awaitable_result<void> fan_out_from(std::uint64_t from, std::uint64_t to,
                                                      std::vector<core::delivery>& deliveries) override;
    [[nodiscard]] awaitable_result<void> add_deliveries(std::vector<core::delivery>& deliveries) override;
    [[nodiscard]] awaitable_result<claimed_lanes> claim_lanes(std::string_view holder,
                                                              std::chrono::milliseconds lease,
                                                              core::unix_millis now,
                                                              std::size_t limit) override;
    [[nodiscard]] awaitable_result<settled> settle_claimed(const core::delivery& d, std::uint64_t epoch,
                                                           std::chrono::milliseconds lease,
                                                           core::unix_millis now) override;
    [[nodiscard]] awaitable_result<void> release_lane(std::string_view lane, std::uint64_t epoch) override;
    [[nodiscard]] awaitable_result<void> release_lanes_of(std::string_view holder) override;
    [[nodiscard]] awaitable_result<void> save_subscription_state(const core::subscription& s) override;

    // The newest sequence number this node has committed or read (0 before the first).
    // Thread-safe.
    std::uint64_t last_sequence() const noexcept;

    // False while the last attempt to reach the database failed: with follow_other_nodes, the
    // attempts of the loop that follows other nodes, which tries at least every few seconds with
    // or without traffic. Thread-safe.
    bool healthy() const noexcept;

    // Engine gauges for /metrics. Thread-safe.
    struct gauges
    {
        std::size_t readers_in_use = 0;
        std::uint64_t reconnects = 0;
        std::uint64_t batches = 0;
        std::uint64_t commits = 0;
    };
    gauges read_gauges() const noexcept;

    struct shared; // the state every call's coroutine keeps alive (pg_store.cpp)

private:
    explicit pg_store(std::shared_ptr<shared> state);
    std::shared_ptr<shared> shared_;
};

} // namespace reqstore::store::pg
