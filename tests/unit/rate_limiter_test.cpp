// Unit tests for per-key rate limits (rate_limiter.hpp): the token bucket, the RateLimit, RateLimit-Policy
// and Retry-After values, and `rate_limit` / `subject` in auth.keys (docs/CONFIG.md, "API keys").
#include <reqstore/auth/keys.hpp>
#include <reqstore/auth/rate_limiter.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace
{

using reqstore::auth::api_key;
using reqstore::auth::key_registry;
using reqstore::auth::parse_keys;
using reqstore::auth::rate_decision;
using reqstore::auth::rate_limit_policy;
using reqstore::auth::rate_limiter;
using reqstore::auth::sha256_hex;

api_key key_with(std::string id, std::optional<rate_limit_policy> policy)
{
    api_key key;
    key.id = std::move(id);
    key.scopes = {"requests:read"};
    key.rate_limit = policy;
    return key;
}

// --- the token bucket ------------------------------------------------------------------------------------

TEST(RateLimiter, BurstOfThreeIsAllowedThenRefused)
{
    const key_registry keys({key_with("limited", rate_limit_policy{10, 3})});
    rate_limiter limiter(keys);
    const api_key& key = keys.keys()[0];

    for (const double remaining : {2.0, 1.0, 0.0})
    {
        const rate_decision d = limiter.take(key);
        EXPECT_TRUE(d.allowed) << "remaining " << remaining;
        EXPECT_EQ(d.remaining, remaining);
        if (remaining >= 1)
            EXPECT_EQ(d.seconds_until_token, 0);
        else
            EXPECT_NEAR(d.seconds_until_token, 0.1, 0.01);
    }
    const rate_decision refused = limiter.take(key);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.remaining, 0);
    EXPECT_NEAR(refused.seconds_until_token, 0.1, 0.01);
    EXPECT_NEAR(refused.seconds_until_full, 0.3, 0.01);
}

TEST(RateLimiter, FirstTakeReportsWhenTheBucketIsFullAgain)
{
    const key_registry keys({key_with("limited", rate_limit_policy{10, 3})});
    rate_limiter limiter(keys);
    const rate_decision d = limiter.take(keys.keys()[0]);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.seconds_until_token, 0);
    EXPECT_NEAR(d.seconds_until_full, 0.1, 0.01);
}

TEST(RateLimiter, TokensFlowBackAtTheRate)
{
    const key_registry keys({key_with("limited", rate_limit_policy{10, 3})});
    rate_limiter limiter(keys);
    const api_key& key = keys.keys()[0];
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(limiter.take(key).allowed);
    ASSERT_FALSE(limiter.take(key).allowed);

    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    const rate_decision again = limiter.take(key);
    EXPECT_TRUE(again.allowed);
    EXPECT_EQ(again.remaining, 0);
    EXPECT_FALSE(limiter.take(key).allowed);
}

TEST(RateLimiter, BucketHoldsAtMostBurstTokens)
{
    const key_registry keys({key_with("limited", rate_limit_policy{100, 2})});
    rate_limiter limiter(keys);
    const api_key& key = keys.keys()[0];
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // 10 tokens' worth of time
    EXPECT_TRUE(limiter.take(key).allowed);
    EXPECT_TRUE(limiter.take(key).allowed);
    EXPECT_FALSE(limiter.take(key).allowed);
}

TEST(RateLimiter, KeysWithoutAPolicyAreAlwaysAllowed)
{
    const key_registry keys({key_with("free", std::nullopt), key_with("limited", rate_limit_policy{1, 1})});
    rate_limiter limiter(keys);
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(limiter.take(keys.keys()[0]).allowed) << "take " << i;
    // A key the limiter was not built with is not limited either.
    const api_key stranger = key_with("stranger", rate_limit_policy{1, 1});
    for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(limiter.take(stranger).allowed) << "take " << i;
}

TEST(RateLimiter, EachKeyHasItsOwnBucket)
{
    const key_registry keys(
        {key_with("a", rate_limit_policy{0.001, 1}), key_with("b", rate_limit_policy{0.001, 1})});
    rate_limiter limiter(keys);
    EXPECT_TRUE(limiter.take(keys.keys()[0]).allowed);
    EXPECT_FALSE(limiter.take(keys.keys()[0]).allowed);
    EXPECT_TRUE(limiter.take(keys.keys()[1]).allowed);
}

TEST(RateLimiter, ConcurrentTakesNeverExceedTheBurst)
{
    const key_registry keys({key_with("busy", rate_limit_policy{0.001, 100})});
    rate_limiter limiter(keys);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back(
            [&]
            {
                for (int i = 0; i < 100; ++i)
                    if (limiter.take(keys.keys()[0]).allowed)
                        ++allowed;
            });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(allowed.load(), 100);
}

// --- header values ---------------------------------------------------------------------------------------

TEST(RateLimitHeaders, PolicyNamesQuotaAndWindow)
{
    EXPECT_EQ(rate_limiter::policy_header({10, 3}), "\"key\";q=3;w=1");
    EXPECT_EQ(rate_limiter::policy_header({1, 60}), "\"key\";q=60;w=60");
    EXPECT_EQ(rate_limiter::policy_header({0.5, 2}), "\"key\";q=2;w=4");
    EXPECT_EQ(rate_limiter::policy_header({4, 10}), "\"key\";q=10;w=3"); // 2.5 s rounds up
}

TEST(RateLimitHeaders, StateNamesRemainingAndSecondsUntilFull)
{
    rate_decision d;
    d.remaining = 2;
    d.seconds_until_full = 0.1;
    EXPECT_EQ(rate_limiter::state_header(d), "\"key\";r=2;t=1");
    d.remaining = 0;
    d.seconds_until_full = 2.5;
    EXPECT_EQ(rate_limiter::state_header(d), "\"key\";r=0;t=3");
    d.remaining = 3;
    d.seconds_until_full = 0;
    EXPECT_EQ(rate_limiter::state_header(d), "\"key\";r=3;t=0");
}

TEST(RateLimitHeaders, RetryAfterIsWholeSecondsAndAtLeastOne)
{
    rate_decision d;
    d.allowed = false;
    d.seconds_until_token = 0.1;
    EXPECT_EQ(rate_limiter::retry_after(d), "1");
    d.seconds_until_token = 0;
    EXPECT_EQ(rate_limiter::retry_after(d), "1");
    d.seconds_until_token = 1.0;
    EXPECT_EQ(rate_limiter::retry_after(d), "1");
    d.seconds_until_token = 2.2;
    EXPECT_EQ(rate_limiter::retry_after(d), "3");
}

TEST(RateLimitHeaders, DescribeARealRefusal)
{
    const key_registry keys({key_with("limited", rate_limit_policy{10, 3})});
    rate_limiter limiter(keys);
    for (int i = 0; i < 3; ++i)
        limiter.take(keys.keys()[0]);
    const rate_decision refused = limiter.take(keys.keys()[0]);
    ASSERT_FALSE(refused.allowed);
    EXPECT_EQ(rate_limiter::state_header(refused), "\"key\";r=0;t=1");
    EXPECT_EQ(rate_limiter::retry_after(refused), "1");
}

// --- auth.keys: rate_limit and subject -------------------------------------------------------------------

// One key's JSON with `extra` members appended, e.g. `"subject": "alice"`.
std::string key_json(std::string_view extra)
{
    std::string json =
        R"({"id": "k", "secret_sha256": ")" + sha256_hex("s") + R"(", "scopes": ["requests:read"])";
    if (!extra.empty())
        json += ", " + std::string(extra);
    return "[" + json + "}]";
}

// parse_keys' message for the key, or "accepted".
std::string error_of(std::string_view extra)
{
    std::vector<api_key> keys;
    const auto error = parse_keys(boost::json::parse(key_json(extra)).as_array(), keys);
    return error ? *error : "accepted";
}

api_key parsed(std::string_view extra)
{
    std::vector<api_key> keys;
    const auto error = parse_keys(boost::json::parse(key_json(extra)).as_array(), keys);
    if (error)
        throw std::runtime_error("key does not parse: " + *error);
    return keys.at(0);
}

TEST(ParseKeysRateLimit, ReadsPerSecondAndBurst)
{
    const api_key key = parsed(R"("rate_limit": {"per_second": 10, "burst": 3})");
    ASSERT_TRUE(key.rate_limit.has_value());
    EXPECT_EQ(key.rate_limit->per_second, 10);
    EXPECT_EQ(key.rate_limit->burst, 3);
}

TEST(ParseKeysRateLimit, BurstDefaultsToPerSecond)
{
    const api_key key = parsed(R"("rate_limit": {"per_second": 5})");
    ASSERT_TRUE(key.rate_limit.has_value());
    EXPECT_EQ(key.rate_limit->burst, 5);
}

TEST(ParseKeysRateLimit, AbsentMeansUnlimited)
{
    EXPECT_EQ(parsed("").rate_limit.has_value(), false);
}

TEST(ParseKeysRateLimit, PerSecondMustBeAbove0)
{
    EXPECT_EQ(error_of(R"("rate_limit": {"per_second": 0})"),
              "auth.keys[0].rate_limit.per_second: must be a number above 0");
    EXPECT_EQ(error_of(R"("rate_limit": {"per_second": -1, "burst": 3})"),
              "auth.keys[0].rate_limit.per_second: must be a number above 0");
    EXPECT_EQ(error_of(R"("rate_limit": {"per_second": "10"})"),
              "auth.keys[0].rate_limit.per_second: must be a number above 0");
    EXPECT_EQ(error_of(R"("rate_limit": {"burst": 3})"),
              "auth.keys[0].rate_limit.per_second: must be a number above 0");
}

TEST(ParseKeysRateLimit, BurstMustBeAtLeast1)
{
    EXPECT_EQ(error_of(R"("rate_limit": {"per_second": 10, "burst": 0.5})"),
              "auth.keys[0].rate_limit.burst: must be a number of at least 1");
    EXPECT_EQ(error_of(R"("rate_limit": {"per_second": 10, "burst": "3"})"),
              "auth.keys[0].rate_limit.burst: must be a number of at least 1");
}

TEST(ParseKeysRateLimit, UnknownMemberIsNamed)
{
    EXPECT_EQ(error_of(R"("rate_limit": {"per_second": 10, "window": 60})"),
              "auth.keys[0].rate_limit.window: unknown key");
}

TEST(ParseKeysRateLimit, MustBeAnObject)
{
    EXPECT_EQ(error_of(R"("rate_limit": 10)"),
              R"(auth.keys[0].rate_limit: must be {"per_second": N, "burst": N})");
}

TEST(ParseKeysSubject, ReadsTheSubject)
{
    EXPECT_EQ(parsed(R"("subject": "alice@example.com")").subject,
              std::optional<std::string>("alice@example.com"));
    EXPECT_EQ(parsed("").subject, std::nullopt);
}

TEST(ParseKeysSubject, MustBeANonEmptyString)
{
    EXPECT_EQ(error_of(R"("subject": "")"), "auth.keys[0].subject: must be a non-empty string");
    EXPECT_EQ(error_of(R"("subject": 7)"), "auth.keys[0].subject: must be a non-empty string");
    EXPECT_EQ(error_of(R"("subject": null)"), "auth.keys[0].subject: must be a non-empty string");
}

TEST(ParseKeysSubject, AnotherUnknownKeyIsStillRefused)
{
    EXPECT_EQ(error_of(R"("subjects": "alice")"), "auth.keys[0].subjects: unknown key");
}

} // namespace
