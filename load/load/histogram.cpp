// The log-linear bucket layout: values below 2048 µs have a bucket each; above, every power of
// two is cut into 1024 equal buckets, so a bucket is never wider than 1/1024 of its values.
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace reqstore::load
{
namespace
{
constexpr std::uint64_t linear_limit = 2048; // values below have a bucket each
constexpr std::uint64_t half = 1024;         // buckets per power of two above
} // namespace

histogram::~histogram()
{
    for (auto& chunk : chunks_)
        delete[] chunk.load(std::memory_order_relaxed);
}

histogram::cell& histogram::bucket(std::size_t index)
{
    std::atomic<cell*>& chunk = chunks_[index / chunk_size];
    cell* cells = chunk.load(std::memory_order_relaxed);
    if (cells == nullptr)
    {
        cells = new cell[chunk_size];
        for (std::size_t i = 0; i < chunk_size; ++i)
            cells[i].store(0, std::memory_order_relaxed);
        chunk.store(cells, std::memory_order_release);
    }
    return cells[index % chunk_size];
}

std::uint64_t histogram::count_at(std::size_t index) const noexcept
{
    const cell* cells = chunks_[index / chunk_size].load(std::memory_order_acquire);
    return cells == nullptr ? 0 : cells[index % chunk_size].load(std::memory_order_relaxed);
}

std::size_t histogram::index_of(std::uint64_t value) noexcept
{
    value = std::min(value, max_trackable_us);
    if (value < linear_limit)
        return static_cast<std::size_t>(value);
    // shift >= 1 puts value >> shift into [1024, 2048).
    const auto shift = static_cast<std::uint64_t>(std::bit_width(value)) - 11;
    return static_cast<std::size_t>(linear_limit + (shift - 1) * half + ((value >> shift) - half));
}

std::uint64_t histogram::lowest_equivalent(std::size_t index) noexcept
{
    if (index < linear_limit)
        return index;
    const std::uint64_t above = index - linear_limit;
    return (above % half + half) << (above / half + 1);
}

std::uint64_t histogram::highest_equivalent(std::size_t index) noexcept
{
    if (index < linear_limit)
        return index;
    const std::uint64_t above = index - linear_limit;
    const std::uint64_t shift = above / half + 1;
    const std::uint64_t sub = above % half + half;
    return ((sub + 1) << shift) - 1;
}

void histogram::record(std::uint64_t microseconds)
{
    add(bucket(index_of(microseconds)), 1);
    add(total_, 1);
    add(sum_, microseconds);
    if (microseconds > max_.load(std::memory_order_relaxed))
        max_.store(microseconds, std::memory_order_relaxed);
}

void histogram::merge(const histogram& other)
{
    for (std::size_t i = 0; i < bucket_count; ++i)
        if (const auto n = other.count_at(i))
            add(bucket(i), n);
    add(total_, other.total_.load(std::memory_order_relaxed));
    add(sum_, other.sum_.load(std::memory_order_relaxed));
    max_.store(std::max(max(), other.max()), std::memory_order_relaxed);
}

double histogram::mean() const noexcept
{
    const auto n = count();
    return n == 0 ? 0.0 : static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(n);
}

std::uint64_t histogram::percentile(double p) const noexcept
{
    // Counts are read one by one while a writer may add to them: the total is taken from the
    // buckets themselves so that the walk always finds its rank, and max() (written after the
    // bucket) may lag: the answer stays within the bucket either way.
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < bucket_count; ++i)
        total += count_at(i);
    if (total == 0)
        return 0;
    const double wanted = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(total));
    const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
    if (rank >= total && max() > 0)
        return max(); // exact, even above max_trackable_us
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i)
    {
        seen += count_at(i);
        if (seen >= rank)
            return std::min(highest_equivalent(i), std::max(max(), lowest_equivalent(i)));
    }
    return max();
}

} // namespace reqstore::load
