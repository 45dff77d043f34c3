// Scheduled transitions (a type's `expires`): one coroutine that sleeps until the earliest timer in
// the store falls due, then has the record service fire it. Timers live in the store, written in the
// same batch as the version that sets them, so a restart (even after the due time, or with the clock
// moved) finds every one and each fires once: firing removes its timer in the same batch as the
// transition it commits.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/core/record_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>

namespace reqstore::core
{

class expiry_scheduler
{
public:
    // `service` and `store` must outlive the scheduler. Registers itself with the service to hear
    // of new timers.
    expiry_scheduler(boost::asio::any_io_executor executor, record_service& service, record_store& store);

    // Starts the coroutine. Call once, after the store is open.
    void start();

    // Stops the coroutine at its next wait; a transition being committed finishes first.
    void stop();

    // A commit added a timer due at `due`: wake up earlier if that is sooner than planned.
    // Thread-safe.
    void timer_added(unix_millis due);

private:
    boost::asio::awaitable<void> run();

    record_service& service_;
    record_store& store_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer wake_;              // only on strand_
    std::atomic<unix_millis> planned_{INT64_MAX}; // when run() will look next
    std::atomic<bool> stopping_{false};
};

} // namespace reqstore::core
