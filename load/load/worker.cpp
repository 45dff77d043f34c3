// Pacing and counting of one connection's requests.
#include "worker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace reqstore::load
{
namespace
{
constexpr std::chrono::milliseconds error_pause{10};

steady::duration seconds_to_duration(double s)
{
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}
} // namespace

worker::worker(connection& conn, run_stats& stats, const run_clock& clock, std::optional<double> rate,
               unsigned index, unsigned count, std::uint64_t seed)
    : conn_(conn), stats_(stats), clock_(clock), open_loop_(rate.has_value()),
      interval_(rate ? seconds_to_duration(count / *rate) : steady::duration::zero()),
      next_slot_(clock.start + (rate ? seconds_to_duration(index / *rate) : steady::duration::zero())),
      timer_(conn.get_executor()), rng_(seed)
{
}

bool worker::over() const noexcept
{
    return (open_loop_ ? next_slot_ : steady::now()) >= clock_.until;
}

net::awaitable<outcome> worker::send()
{
    steady::time_point slot = steady::now();
    if (open_loop_)
    {
        slot = next_slot_;
        if (slot >= clock_.until)
            co_return outcome::over;
        next_slot_ += interval_;
        if (slot > steady::now())
        {
            timer_.expires_at(slot);
            co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        }
    }
    else if (slot >= clock_.until)
        co_return outcome::over;

    const auto ec = co_await conn_.exchange();
    const auto end = steady::now();
    const bool counted = slot >= clock_.measure_from;
    last_counted_ = counted;
    if (ec)
    {
        if (counted)
            run_stats::bump(stats_.errors);
        timer_.expires_after(error_pause);
        co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        co_return outcome::failed;
    }
    if (counted)
    {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - slot).count();
        stats_.latency.record(static_cast<std::uint64_t>(us < 0 ? 0 : us));
        const unsigned status = conn_.status();
        run_stats::bump(stats_.by_status[status < run_stats::max_status ? status : 0]);
        run_stats::bump(stats_.answered);
    }
    co_return outcome::answered;
}

} // namespace reqstore::load
