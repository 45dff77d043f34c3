// Connection caps: the count of admitted connections, and the open-file limit that bounds the total.
#include "connection_caps.hpp"

#include <reqstore/http/server.hpp>
#include <reqstore/ops/log.hpp>

#include <algorithm>
#include <limits>
#include <sys/resource.h>
#include <utility>

namespace reqstore::http
{

namespace
{

// The open-file limit in force now (the largest value when it cannot be read or has none).
std::uint64_t open_files_limit() noexcept
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return std::numeric_limits<std::uint64_t>::max();
    return limit.rlim_cur;
}

} // namespace

std::uint64_t raise_open_files_limit() noexcept
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < limit.rlim_max)
    {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : limit.rlim_cur;
}

void connection_caps::start()
{
    // Every connection takes a descriptor; keep some for the store's files, the webhook client and
    // the log, which must not fail because clients took them all.
    const std::uint64_t open_files = open_files_limit();
    const std::uint64_t reserve = std::min<std::uint64_t>(1024, open_files / 2);
    const std::uint64_t descriptor_cap = open_files - reserve;
    std::uint64_t cap =
        max_connections_ == 0 ? descriptor_cap : std::min<std::uint64_t>(max_connections_, descriptor_cap);
    if (max_connections_ > descriptor_cap)
        ops::log().warn("limits.max_connections is more than the open-file limit allows",
                        {{"max_connections", max_connections_},
                         {"open_files_limit", open_files},
                         {"connections_served", cap}});
    cap_.store(static_cast<std::size_t>(cap), std::memory_order_relaxed);
}

connection_caps::verdict connection_caps::admit(const boost::asio::ip::address& remote)
{
    std::lock_guard lock(mutex_);
    if (max_per_address_ != 0)
    {
        const auto it = admitted_by_address_.find(remote);
        if (it != admitted_by_address_.end() && it->second >= max_per_address_)
            return verdict::over_address_cap;
    }
    if (admitted_ >= cap_.load(std::memory_order_relaxed))
        return verdict::over_total_cap;
    ++admitted_;
    if (max_per_address_ != 0)
        ++admitted_by_address_[remote];
    return verdict::admitted;
}

void connection_caps::release(const boost::asio::ip::address& remote)
{
    std::lock_guard lock(mutex_);
    --admitted_;
    if (max_per_address_ == 0)
        return;
    const auto it = admitted_by_address_.find(remote);
    if (it != admitted_by_address_.end() && --it->second == 0)
        admitted_by_address_.erase(it);
}

connection_caps::slot::slot(slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), remote_(other.remote_)
{
}

connection_caps::slot::~slot()
{
    if (owner_)
        owner_->release(remote_);
}

} // namespace reqstore::http
