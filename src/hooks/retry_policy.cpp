// The retry schedule of webhook deliveries and the rule that disables a failing subscription.
#include <reqstore/hooks/retry_policy.hpp>

#include <algorithm>
#include <random>
#include <utility>

namespace reqstore::hooks
{

namespace
{

double uniform(double high)
{
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, high)(engine);
}

} // namespace

retry_policy::retry_policy(std::vector<double> schedule_seconds, std::chrono::milliseconds disable_after)
    : schedule_seconds_(std::move(schedule_seconds)), disable_after_(disable_after)
{
}

std::optional<core::unix_millis> retry_policy::next_attempt_at(std::size_t failed_attempts,
                                                               core::unix_millis failed_at) const
{
    const std::size_t n = std::max<std::size_t>(failed_attempts, 1);
    if (n > schedule_seconds_.size())
        return std::nullopt;
    return failed_at + static_cast<core::unix_millis>(uniform(schedule_seconds_[n - 1]) * 1000.0);
}

std::optional<std::string> retry_policy::disable_reason(bool answered_gone, core::unix_millis failing_since,
                                                        core::unix_millis now) const
{
    if (answered_gone)
        return "the target answered 410 Gone";
    if (now - failing_since >= disable_after_.count())
        return "every delivery has failed since " + core::format_rfc3339(failing_since);
    return std::nullopt;
}

} // namespace reqstore::hooks
