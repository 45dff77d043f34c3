// Waiting for a queued commit's outcome from any executor.
#include <reqstore/core/pending_commit.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace reqstore::core
{
namespace net = boost::asio;

void pending_commit::complete(result<commit_receipt> outcome)
{
    std::vector<waiter> woken;
    {
        std::lock_guard lock(mutex_);
        outcome_ = outcome;
        woken.swap(waiters_);
    }
    // execute() runs each resumption on the waiter's own executor (its strand): queued there from
    // a thread outside it (the commit thread), inline when the completing thread already runs it
    // (a flush on an I/O thread).
    for (auto& w : woken)
        w.work.execute([h = std::move(w.handler), r = outcome]() mutable { std::move(h)(std::move(r)); });
}

bool pending_commit::completed()
{
    std::lock_guard lock(mutex_);
    return outcome_.has_value();
}

net::awaitable<result<commit_receipt>> pending_commit::wait()
{
    return net::async_initiate<const net::use_awaitable_t<>&, void(result<commit_receipt>)>(
        [this](auto handler) { add_waiter(handler_type(std::move(handler))); }, net::use_awaitable);
}

void pending_commit::add_waiter(handler_type handler)
{
    auto ex = net::get_associated_executor(handler, net::system_executor());
    waiter w{std::move(handler), net::prefer(ex, net::execution::outstanding_work.tracked)};
    std::optional<result<commit_receipt>> known;
    {
        std::lock_guard lock(mutex_);
        if (!outcome_)
        {
            waiters_.push_back(std::move(w));
            return;
        }
        known = outcome_;
    }
    w.work.execute([h = std::move(w.handler), r = std::move(*known)]() mutable
                   { std::move(h)(std::move(r)); });
}

} // namespace reqstore::core
