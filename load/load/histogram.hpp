// A latency histogram in the manner of HdrHistogram: log-linear buckets with three significant
// digits from 1 µs to 60 s, mergeable, and readable while it is being written. Buckets come in
// chunks of 1024 allocated on first use, so that a connection's histogram costs a few chunks
// (the latencies it actually saw), not the whole range.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace reqstore::load
{

class histogram
{
public:
    static constexpr std::uint64_t max_trackable_us = 60'000'000; // larger values count as this

    histogram() = default;
    ~histogram();
    histogram(const histogram&) = delete;
    histogram& operator=(const histogram&) = delete;

    // Counts one value. Single writer: only one thread at a time may record into a histogram
    // (each connection has its own), while others may read or merge it concurrently; a
    // concurrent reader sees each count either before or after an increment, never torn. Throws
    // std::bad_alloc only when a value falls into a chunk not used before and memory is short.
    void record(std::uint64_t microseconds);

    // Adds every count of `other` into this one (this one's single writer calls it, or nobody
    // writes this one).
    void merge(const histogram& other);

    std::uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }
    // The largest value recorded (exact, even above max_trackable_us); 0 when empty.
    std::uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
    double mean() const noexcept;

    // The value at this percentile (0 < p <= 100): the highest value equivalent to the bucket that
    // holds the ceil(p% of count)-th smallest value, never above max(). 0 when empty. Its relative
    // error is below 0.1%.
    std::uint64_t percentile(double p) const noexcept;

private:
    static constexpr std::size_t bucket_count = 2048 + 15 * 1024; // up to 2^26 µs > 60 s
    // The bucket of a value, and the range of values a bucket stands for.
    static std::size_t index_of(std::uint64_t value) noexcept;
    static std::uint64_t lowest_equivalent(std::size_t index) noexcept;
    static std::uint64_t highest_equivalent(std::size_t index) noexcept;

    static constexpr std::size_t chunk_size = 1024;
    static constexpr std::size_t chunk_count = bucket_count / chunk_size;
    using cell = std::atomic<std::uint64_t>;

    // The bucket's cell, allocating its chunk when it has none yet (writer only).
    cell& bucket(std::size_t index);
    // The bucket's count; 0 when its chunk does not exist.
    std::uint64_t count_at(std::size_t index) const noexcept;

    static void add(std::atomic<std::uint64_t>& cell, std::uint64_t n) noexcept
    {
        // One writer per histogram: a relaxed load and store is an increment without a locked
        // instruction, and readers still never see a torn value.
        cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    // A chunk pointer is published with release and read with acquire, so that a reader that
    // sees it also sees its zeroed cells.
    std::array<std::atomic<cell*>, chunk_count> chunks_{};
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::uint64_t> sum_{0};
    std::atomic<std::uint64_t> max_{0};
};

} // namespace reqstore::load
