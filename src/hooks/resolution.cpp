// Resolving a webhook target by the attempt's deadline and checking each address against the
// network policy, so that only checked addresses are connected to (no second lookup, no DNS rebinding).
#include "resolution.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace reqstore::hooks::outbound
{
namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using net::as_tuple;
using net::use_awaitable;
using clock_type = std::chrono::steady_clock;

namespace
{

struct resolved
{
    error_code ec;
    tcp::resolver::results_type results;
    bool timed_out = false;
};

// Resolves host:port, giving up at `deadline`. The system resolver cannot be interrupted, so a late
// lookup runs on and its answer is dropped; the shared state lives until whichever side finishes last.
// Must run on a strand, which serialises the lookup's handler with this coroutine.
net::awaitable<resolved> resolve(const std::string& host, const std::string& port,
                                 clock_type::time_point deadline)
{
    const auto ex = co_await net::this_coro::executor;
    struct state
    {
        explicit state(const net::any_io_executor& e) : resolver(e), done(e) {}
        tcp::resolver resolver;
        net::steady_timer done;
        resolved answer;
        bool finished = false;
    };
    const auto s = std::make_shared<state>(ex);
    s->done.expires_at(deadline);
    s->resolver.async_resolve(host, port, tcp::resolver::numeric_service,
                              net::bind_executor(ex,
                                                 [s](error_code ec, tcp::resolver::results_type results)
                                                 {
                                                     s->answer.ec = ec;
                                                     s->answer.results = std::move(results);
                                                     s->finished = true;
                                                     s->done.cancel();
                                                 }));
    co_await s->done.async_wait(as_tuple(use_awaitable));
    if (!s->finished)
    {
        s->resolver.cancel();
        resolved late;
        late.timed_out = true;
        co_return late;
    }
    co_return s->answer;
}

} // namespace

net::awaitable<resolution> resolve_permitted(const std::string& host, const std::string& port,
                                             clock_type::time_point deadline, const network_policy& policy)
{
    const resolved r = co_await resolve(host, port, deadline);
    resolution out;
    out.timed_out = r.timed_out;
    out.ec = r.ec;
    if (r.timed_out || r.ec)
        co_return out;
    for (const auto& entry : r.results)
    {
        const tcp::endpoint endpoint = entry.endpoint();
        const std::string reason = policy.refusal_reason(endpoint.address());
        if (reason.empty())
            out.permitted.push_back(endpoint);
        else
            out.refused +=
                (out.refused.empty() ? "" : ", ") + endpoint.address().to_string() + " (" + reason + ")";
    }
    co_return out;
}

} // namespace reqstore::hooks::outbound
