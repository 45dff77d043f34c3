// Scheduled transitions (a type's `expires`): one coroutine that sleeps until the earliest timer in
// the store falls due, then has the record service fire it. Timers live in the store, written in the
// same batch as the version that sets them, so a restart (even after the due time, or with the clock
// moved) finds every one and each fires once: firing removes its timer in the same batch as the
// transition it commits.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/core/record_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace reqstore::core
{

class expiry_scheduler
{
public:
    // `service` and `store` must outlive the scheduler. Registers itself with the service to hear
    // of new timers.
    expiry_scheduler(boost::asio::any_io_executor executor, record_service& service, record_store& store);

    // Makes this scheduler one of several, on nodes that share the store (store/pg), named
    // `node_id`: it scans only while it holds the lease "expiry", and looks at the store at least
    // every second, since timers set through other nodes are not announced here. `on_lease` hears
    // whether it holds the lease after each try. Before start().
    void share_with_nodes(outbox_coordination& coordination, std::string node_id,
                          std::function<void(bool held)> on_lease = {});

    // Starts the coroutine. Call once, after the store is open.
    void start();

    // Stops the coroutine at its next wait; a transition being committed finishes first.
    void stop();

    // A commit added a timer due at `due`: wake up earlier if that is sooner than planned.
    // Thread-safe.
    void timer_added(unix_millis due);

private:
    boost::asio::awaitable<void> run();
    // Whether this node may scan now: always alone; shared, while it holds the lease (renewed
    // when due).
    boost::asio::awaitable<bool> may_scan();

    record_service& service_;
    record_store& store_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer wake_;              // only on strand_
    std::atomic<unix_millis> planned_{INT64_MAX}; // when run() will look next
    std::atomic<bool> stopping_{false};
    outbox_coordination* coordination_ = nullptr; // set when shared with other nodes
    std::string node_id_;
    std::function<void(bool)> on_lease_;
    std::optional<std::uint64_t> lease_epoch_;             // only on strand_
    std::chrono::steady_clock::time_point lease_tried_at_; // only on strand_
};

} // namespace reqstore::core
