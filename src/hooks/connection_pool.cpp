// The pool of idle keep-alive connections to webhook targets, and the check that an idle one is
// still usable.
#include "connection_pool.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

namespace reqstore::hooks::outbound
{
namespace net = boost::asio;
using boost::system::error_code;

namespace
{

// An idle connection is usable if the server has neither closed it nor sent anything unasked: a
// non-blocking peek must find nothing to read.
bool still_open(connection& c)
{
    auto& socket = c.tcp().socket();
    if (!socket.is_open() || c.buffer.size() != 0)
        return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace

idle_pool::idle_pool(net::any_io_executor executor, std::size_t max_per_target,
                     std::chrono::milliseconds idle_timeout)
    : max_per_target_(max_per_target), idle_timeout_(idle_timeout), sweeper_(std::move(executor))
{
}

std::unique_ptr<connection> idle_pool::take(const std::string& key)
{
    std::vector<std::unique_ptr<connection>> dropped; // closed after the lock is released
    std::unique_ptr<connection> found;
    {
        std::lock_guard lock(mutex_);
        const auto it = idle_.find(key);
        if (it == idle_.end())
            return nullptr;
        const auto now = clock_type::now();
        auto& list = it->second;
        while (!list.empty() && !found)
        {
            entry e = std::move(list.back());
            list.pop_back();
            if (e.expires > now && still_open(*e.conn))
                found = std::move(e.conn);
            else
                dropped.push_back(std::move(e.conn));
        }
        if (list.empty())
            idle_.erase(it);
    }
    return found;
}

void idle_pool::put(const std::string& key, std::unique_ptr<connection> c)
{
    std::vector<std::unique_ptr<connection>> dropped;
    {
        std::lock_guard lock(mutex_);
        if (closed_ || max_per_target_ == 0)
        {
            dropped.push_back(std::move(c));
            return;
        }
        auto& list = idle_[key];
        if (list.size() >= max_per_target_)
        {
            dropped.push_back(std::move(list.front().conn));
            list.erase(list.begin());
        }
        const auto expires = clock_type::now() + idle_timeout_;
        list.push_back({std::move(c), expires});
        schedule_sweep_locked(expires);
    }
}

void idle_pool::close_all(bool for_good)
{
    decltype(idle_) dropped;
    {
        std::lock_guard lock(mutex_);
        closed_ = closed_ || for_good;
        dropped.swap(idle_);
        // A pending sweep would keep the io_context busy until idle_timeout for nothing.
        sweeper_.cancel();
    }
}

void idle_pool::schedule_sweep_locked(clock_type::time_point when)
{
    if (sweep_scheduled_)
        return;
    sweep_scheduled_ = true;
    sweeper_.expires_at(when);
    sweeper_.async_wait(
        [weak = weak_from_this()](error_code)
        {
            if (const auto self = weak.lock())
                self->sweep();
        });
}

void idle_pool::sweep()
{
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard lock(mutex_);
    sweep_scheduled_ = false;
    if (closed_)
        return;
    const auto now = clock_type::now();
    std::optional<clock_type::time_point> next;
    for (auto it = idle_.begin(); it != idle_.end();)
    {
        auto& list = it->second;
        for (auto e = list.begin(); e != list.end();)
            if (e->expires <= now || !still_open(*e->conn))
            {
                dropped.push_back(std::move(e->conn));
                e = list.erase(e);
            }
            else
            {
                next = next ? std::min(*next, e->expires) : e->expires;
                ++e;
            }
        it = list.empty() ? idle_.erase(it) : std::next(it);
    }
    if (next)
        schedule_sweep_locked(*next);
}

} // namespace reqstore::hooks::outbound
