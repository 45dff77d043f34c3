// When a failed webhook delivery is tried again (a backoff schedule with full jitter), when it
// dies, and when a subscription whose deliveries keep failing is disabled. Pure rules: no I/O.
#pragma once

#include <reqstore/core/time.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace reqstore::hooks
{

class retry_policy
{
public:
    // `schedule_seconds[n - 1]` caps the wait after the n-th failed attempt; a delivery whose
    // attempts outnumber the schedule is dead. A subscription failing for `disable_after` is disabled.
    retry_policy(std::vector<double> schedule_seconds, std::chrono::milliseconds disable_after);

    // When a delivery whose `failed_attempts`-th attempt (counting from 1) failed at `failed_at`
    // is tried again: failed_at plus a delay drawn uniformly from [0, schedule_seconds[n - 1]]
    // seconds (full jitter, so that receivers coming back are not hit by every sender at once).
    // nullopt when the delivery is dead: `failed_attempts` is more than the schedule holds (with an
    // empty schedule, after the first failure). 0 counts as 1. Thread-safe.
    [[nodiscard]] std::optional<core::unix_millis> next_attempt_at(std::size_t failed_attempts,
                                                                   core::unix_millis failed_at) const;

    // Why a subscription whose delivery just failed at `now` is disabled now, or nullopt while it
    // may go on failing: a target that answered 410 Gone (`answered_gone`) wants nothing more; one
    // failing since `failing_since` for disable_after or longer has failed too long.
    [[nodiscard]] std::optional<std::string>
    disable_reason(bool answered_gone, core::unix_millis failing_since, core::unix_millis now) const;

private:
    // Constant after construction.
    const std::vector<double> schedule_seconds_;
    const std::chrono::milliseconds disable_after_;
};

} // namespace reqstore::hooks
