// Internal to the http module: the open connections as the drain sees them, and the drain itself
// (section 9 of the contract): stop taking requests, close idle connections at once, let busy
// ones answer and close, and close what is left when the deadline passes.
#pragma once

#include <reqstore/ops/metrics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace reqstore::http
{

class session_drain
{
    struct connection; // one open connection as the drain sees it

public:
    // `stats` counts the open connections and must outlive the drain.
    explicit session_drain(ops::metrics& stats) : stats_(stats) {}
    session_drain(const session_drain&) = delete;
    session_drain& operator=(const session_drain&) = delete;

    // One open connection in the drain's sight, from its session's start to its end. Constructed
    // and destroyed on the connection's strand, where its session runs; `stream` must outlive it.
    class registration
    {
    public:
        registration(session_drain& owner, boost::beast::tcp_stream& stream);
        ~registration();
        registration(const registration&) = delete;
        registration& operator=(const registration&) = delete;

        // Marks the connection as waiting for the first byte of a request (the drain closes it at
        // once) or as busy with one (it closes after its answer). Only on the connection's strand.
        void set_idle(bool idle) noexcept;

    private:
        session_drain& owner_;
        std::shared_ptr<connection> connection_;
        std::uint64_t id_;
    };

    // True once begin() was called: sessions answer with `Connection: close` and take no new
    // request. Thread-safe.
    bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }

    // Sets draining(). Thread-safe; calling it again changes nothing.
    void begin() noexcept { draining_.store(true, std::memory_order_release); }

    // Closes the idle connections, then completes once every connection is closed or `deadline`
    // has passed; then closes the rest and waits up to a second more for their sessions to end.
    // Call after begin(). Runs on any executor: each connection is touched only on its strand.
    boost::asio::awaitable<void> close_connections(std::chrono::milliseconds deadline);

private:
    // Runs `action(connection&)` on the strand of every open connection.
    template <class Action>
    void for_each_connection(Action action);
    std::size_t open_connections();
    // Waits, polling, until no connection is open or `until` has passed.
    boost::asio::awaitable<void> wait_for_sessions(std::chrono::steady_clock::time_point until);

    ops::metrics& stats_; // constant after construction
    std::atomic<bool> draining_{false};

    std::mutex mutex_; // guards connections_ and next_id_
    std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections_;
    std::uint64_t next_id_ = 0;
};

} // namespace reqstore::http
