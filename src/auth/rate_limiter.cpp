// Token buckets, refilled lazily on each request.
#include <reqstore/auth/rate_limiter.hpp>

#include <algorithm>
#include <cmath>

namespace reqstore::auth
{

rate_limiter::rate_limiter(const key_registry& keys)
{
    const auto now = std::chrono::steady_clock::now();
    for (const auto& key : keys.keys())
        if (key.rate_limit)
        {
            auto b = std::make_unique<bucket>();
            b->policy = *key.rate_limit;
            b->tokens = key.rate_limit->burst;
            b->refilled_at = now;
            buckets_.emplace(key.id, std::move(b));
        }
}

rate_decision rate_limiter::take(const api_key& key)
{
    const auto it = buckets_.find(key.id);
    if (it == buckets_.end())
        return {};
    bucket& b = *it->second;
    std::lock_guard lock(b.mutex);
    // Read under the lock: a time taken before it could be older than refilled_at.
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
    b.tokens = std::min(b.policy.burst, b.tokens + elapsed * b.policy.per_second);
    b.refilled_at = now;
    rate_decision d;
    d.allowed = b.tokens >= 1.0;
    if (d.allowed)
        b.tokens -= 1.0;
    d.remaining = std::floor(b.tokens);
    d.seconds_until_token = b.tokens >= 1.0 ? 0 : (1.0 - b.tokens) / b.policy.per_second;
    d.seconds_until_full = (b.policy.burst - b.tokens) / b.policy.per_second;
    return d;
}

std::string rate_limiter::policy_header(const rate_limit_policy& policy)
{
    const auto window = static_cast<long long>(std::ceil(policy.burst / policy.per_second));
    return "\"key\";q=" + std::to_string(static_cast<long long>(policy.burst)) +
           ";w=" + std::to_string(window);
}

std::string rate_limiter::state_header(const rate_decision& d)
{
    return "\"key\";r=" + std::to_string(static_cast<long long>(d.remaining)) +
           ";t=" + std::to_string(static_cast<long long>(std::ceil(d.seconds_until_full)));
}

std::string rate_limiter::retry_after(const rate_decision& d)
{
    return std::to_string(std::max(1LL, static_cast<long long>(std::ceil(d.seconds_until_token))));
}

} // namespace reqstore::auth
