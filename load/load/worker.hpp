// What one connection records during the run, and the pacing of its requests: closed loop (send
// when answered) or open loop (fixed slots, latency from the slot, as wrk2 corrects coordinated
// omission).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "connection.hpp"
#include "histogram.hpp"

namespace reqstore::load
{

using steady = std::chrono::steady_clock;

// The counts of one connection. Single writer (the connection's coroutine); the progress display
// and the final report read them concurrently.
struct run_stats
{
    static constexpr unsigned max_status = 600;

    histogram latency;                                              // answered requests, µs
    std::array<std::atomic<std::uint64_t>, max_status> by_status{}; // answered requests by status
    std::atomic<std::uint64_t> answered{0};
    std::atomic<std::uint64_t> errors{0};    // transport failures: no answer
    std::atomic<std::uint64_t> conflicts{0}; // failed compare-and-swaps (412, or an etcd txn not succeeded)

    static void bump(std::atomic<std::uint64_t>& cell) noexcept
    {
        cell.store(cell.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

// When the run starts, when counting starts (after the warmup) and when it ends.
struct run_clock
{
    steady::time_point start;
    steady::time_point measure_from;
    steady::time_point until;
};

enum class outcome
{
    answered, // the answer is in connection(): status(), etag(), body()
    failed,   // a transport error (counted); the connection reconnects on its next exchange
    over      // the run has ended: nothing was sent
};

class worker
{
public:
    // Closed loop when `rate` is nullopt; otherwise this worker is number `index` of `count` sharing
    // `rate` requests per second, its slots spaced count / rate apart and offset by index / rate.
    // Every reference must outlive the worker.
    worker(connection& conn, run_stats& stats, const run_clock& clock, std::optional<double> rate,
           unsigned index, unsigned count, std::uint64_t seed);

    // Waits for the next slot (open loop), sends conn().request() and reads the answer. A request
    // whose slot (closed loop: send time) falls in the measured window is counted: its status and
    // its latency from the slot to the end of the answer, or one error. After a transport error it
    // pauses 10 ms, so that an unreachable target is not spun on. Returns `over` without sending
    // once the slot is at or past the end of the run.
    boost::asio::awaitable<outcome> send();

    // Whether the run's end has passed (closed loop) or the next slot is past it (open loop).
    bool over() const noexcept;

    // Whether the last request sent was counted (its slot was in the measured window).
    bool last_counted() const noexcept { return last_counted_; }
    // Counts a failed compare-and-swap of the last request, when that request was counted.
    void count_conflict() noexcept
    {
        if (last_counted_)
            run_stats::bump(stats_.conflicts);
    }

    connection& conn() noexcept { return conn_; }
    run_stats& stats() noexcept { return stats_; }
    std::mt19937_64& rng() noexcept { return rng_; }
    // A per-worker sequence, for bodies that only need to differ (rest updates).
    std::uint64_t next_sequence() noexcept { return ++sequence_; }

private:
    connection& conn_;
    run_stats& stats_;
    const run_clock& clock_;
    const bool open_loop_;
    const steady::duration interval_;
    steady::time_point next_slot_;
    boost::asio::steady_timer timer_;
    std::mt19937_64 rng_;
    std::uint64_t sequence_ = 0;
    bool last_counted_ = false;
};

} // namespace reqstore::load
