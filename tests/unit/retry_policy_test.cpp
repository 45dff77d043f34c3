// Unit tests for the webhook retry policy (retry_policy.hpp): the full-jitter delay of each attempt,
// the attempt after the last that is dead, and the boundary at which a failing subscription is disabled.
#include <reqstore/hooks/retry_policy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace
{

using reqstore::core::unix_millis;
using reqstore::hooks::retry_policy;
using namespace std::chrono_literals;

constexpr unix_millis failed_at = 1'700'000'000'000;
constexpr int draws = 2000;

// --- the backoff schedule --------------------------------------------------------------------------------

TEST(RetryPolicy, EachAttemptWaitsBetweenZeroAndItsScheduledCap)
{
    const std::vector<double> schedule{5, 30, 120};
    const retry_policy policy(schedule, 24h);
    for (std::size_t n = 1; n <= schedule.size(); ++n)
    {
        const auto cap = static_cast<unix_millis>(schedule[n - 1] * 1000);
        for (int i = 0; i < draws; ++i)
        {
            const auto next = policy.next_attempt_at(n, failed_at);
            ASSERT_TRUE(next.has_value()) << "attempt " << n;
            EXPECT_GE(*next, failed_at) << "attempt " << n;
            EXPECT_LE(*next, failed_at + cap) << "attempt " << n;
        }
    }
}

TEST(RetryPolicy, DelaysSpreadOverTheWholeRangeNotJustTheCap)
{
    // Full jitter, not "cap plus a little": over many draws both halves of [0, cap] are met.
    const retry_policy policy({100}, 24h);
    unix_millis lowest = 100'000;
    unix_millis highest = 0;
    for (int i = 0; i < draws; ++i)
    {
        const unix_millis delay = *policy.next_attempt_at(1, failed_at) - failed_at;
        lowest = std::min(lowest, delay);
        highest = std::max(highest, delay);
    }
    EXPECT_LT(lowest, 25'000);
    EXPECT_GT(highest, 75'000);
}

TEST(RetryPolicy, LaterAttemptsUseTheirOwnCap)
{
    // The second attempt's cap is 1 s: a draw from the first attempt's 1000 s would exceed it.
    const retry_policy policy({1000, 1}, 24h);
    for (int i = 0; i < draws; ++i)
        ASSERT_LE(*policy.next_attempt_at(2, failed_at), failed_at + 1000);
}

TEST(RetryPolicy, AZeroCapRetriesAtOnce)
{
    const retry_policy policy({0, 0}, 24h);
    EXPECT_EQ(policy.next_attempt_at(1, failed_at), failed_at);
    EXPECT_EQ(policy.next_attempt_at(2, failed_at), failed_at);
}

TEST(RetryPolicy, TheAttemptAfterTheLastScheduledOneIsDead)
{
    const retry_policy policy({5, 30, 120}, 24h);
    EXPECT_TRUE(policy.next_attempt_at(3, failed_at).has_value());
    EXPECT_EQ(policy.next_attempt_at(4, failed_at), std::nullopt);
    EXPECT_EQ(policy.next_attempt_at(50, failed_at), std::nullopt);
}

TEST(RetryPolicy, AnEmptyScheduleGivesUpAfterTheFirstFailure)
{
    const retry_policy policy({}, 24h);
    EXPECT_EQ(policy.next_attempt_at(1, failed_at), std::nullopt);
}

TEST(RetryPolicy, TheDefaultScheduleAllowsElevenAttempts)
{
    // dispatcher_options' default: ten waits, so the eleventh failed attempt is the last.
    const retry_policy policy({5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400}, 24h);
    EXPECT_LE(*policy.next_attempt_at(10, failed_at), failed_at + 86'400'000);
    EXPECT_EQ(policy.next_attempt_at(11, failed_at), std::nullopt);
}

// --- disabling a failing subscription --------------------------------------------------------------------

TEST(RetryPolicy, ASubscriptionFailingJustUnderDisableAfterStaysEnabled)
{
    const retry_policy policy({5}, 1h);
    const unix_millis since = failed_at;
    EXPECT_EQ(policy.disable_reason(false, since, since), std::nullopt);
    EXPECT_EQ(policy.disable_reason(false, since, since + 3'600'000 - 1), std::nullopt);
}

TEST(RetryPolicy, ASubscriptionFailingForExactlyDisableAfterIsDisabled)
{
    const retry_policy policy({5}, 1h);
    const unix_millis since = 1'700'000'000'000; // 2023-11-14T22:13:20Z
    EXPECT_EQ(policy.disable_reason(false, since, since + 3'600'000),
              "every delivery has failed since 2023-11-14T22:13:20.000Z");
    EXPECT_TRUE(policy.disable_reason(false, since, since + 7'200'000).has_value());
}

TEST(RetryPolicy, A410GoneDisablesAtTheFirstFailure)
{
    const retry_policy policy({5}, 1h);
    EXPECT_EQ(policy.disable_reason(true, failed_at, failed_at), "the target answered 410 Gone");
}

} // namespace
