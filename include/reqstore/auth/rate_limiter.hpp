// Per-key rate limits (`auth.keys[].rate_limit`): a token bucket for each key that has one, and
// the RateLimit / RateLimit-Policy header values of draft-ietf-httpapi-ratelimit-headers.
#pragma once

#include <reqstore/auth/keys.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace reqstore::auth
{

struct rate_decision
{
    bool allowed = true;
    double remaining = 0;           // whole tokens left after this request
    double seconds_until_token = 0; // when the next token arrives (0 if one is there)
    double seconds_until_full = 0;  // when the bucket is full again
};

class rate_limiter
{
public:
    // One bucket per key with a policy; keys without one are never limited. Thread-safe.
    explicit rate_limiter(const key_registry& keys);

    // Takes a token for `key` if one is there. Keys without a policy are always allowed.
    rate_decision take(const api_key& key);

    // `"key";q=<burst>;w=<seconds to refill>` for RateLimit-Policy.
    static std::string policy_header(const rate_limit_policy& policy);
    // `"key";r=<remaining>;t=<seconds until full>` for RateLimit.
    static std::string state_header(const rate_decision& decision);
    // Retry-After in whole seconds, at least 1.
    static std::string retry_after(const rate_decision& decision);

private:
    struct bucket
    {
        rate_limit_policy policy;
        std::mutex mutex; // guards tokens and refilled_at
        double tokens;
        std::chrono::steady_clock::time_point refilled_at;
    };

    std::unordered_map<std::string, std::unique_ptr<bucket>>
        buckets_; // the map is constant after construction
};

} // namespace reqstore::auth
