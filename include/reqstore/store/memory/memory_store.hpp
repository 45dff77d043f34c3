// The memory engine, for tests: core::record_store and core::outbox_store with the embedded
// engine's semantics (the same compare-and-swap, gap-free sequence, orders and limits) in maps
// guarded by one mutex. Nothing survives the object. It gives the core's unit tests a store without
// a disk, and the store conformance suite (tests/store/) a reference for every engine.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reqstore::store
{

class memory_store final : public core::record_store, public core::outbox_store
{
public:
    template <class T>
    using awaitable_result = boost::asio::awaitable<core::result<T>>;

    // `observer` hears of every commit, from the thread that starts it.
    explicit memory_store(core::commit_observer observer = {});

    // core::record_store (core/record_store.hpp). Every call completes without suspending, and
    // start_commit applies the commit, or refuses it, before it returns.
    [[nodiscard]] awaitable_result<std::optional<core::stored_version>> load(std::string_view id) override;
    [[nodiscard]] awaitable_result<std::optional<core::stored_version>>
    load_version(std::string_view id, std::uint64_t version) override;
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

    // The sequence number of the newest event (0 before the first). Thread-safe.
    std::uint64_t last_sequence() const;

    // From now on every commit and every write of the outbox fails with `refusal` (nothing is
    // written), as an engine that cannot write does; nullopt accepts writes again. For tests of
    // what the core does when the store refuses. Thread-safe.
    void refuse_writes(std::optional<core::failure> refusal);

private:
    struct feed_event
    {
        core::unix_millis at = 0;
        std::string json;
    };
    using timer_entry = std::pair<core::unix_millis, std::string>; // due, id: earliest first

    // Each with mutex_ held.
    [[nodiscard]] std::optional<core::failure> refused_now() const;
    [[nodiscard]] core::result<core::commit_receipt> apply(core::commit_request& request);

    const core::commit_observer observer_;

    mutable std::mutex mutex_; // guards everything below
    std::optional<core::failure> refusal_;
    std::map<std::string, std::vector<core::stored_version>> records_; // id -> versions 1..N
    std::map<std::uint64_t, feed_event> events_;                       // by sequence number
    std::uint64_t last_sequence_ = 0;
    std::set<timer_entry> timers_;
    std::map<std::string, core::idempotency_entry> idempotency_;
    std::map<std::pair<std::string, std::string>, std::string> attachments_; // (id, sha256) -> bytes
    std::map<std::string, core::subscription> subscriptions_;
    std::uint64_t fan_out_cursor_ = 0;
    std::uint64_t last_delivery_id_ = 0;
    std::map<std::uint64_t, core::delivery> deliveries_;
};

} // namespace reqstore::store
