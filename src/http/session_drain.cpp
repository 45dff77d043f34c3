// The graceful end of the sessions: each connection is told on its own strand, and the drain polls
// the count of open ones, since the sessions end on strands of their own.
#include "session_drain.hpp"

#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace reqstore::http
{
namespace net = boost::asio;
namespace beast = boost::beast;

// Shared by the session and the actions the drain posts to its strand, which may run after the
// session ended: they find `alive` false then. Every member is touched only on the strand.
struct session_drain::connection
{
    net::any_io_executor strand;
    beast::tcp_stream* stream = nullptr; // valid while `alive`
    bool alive = true;
    bool idle = false; // waiting for the first byte of a request
};

session_drain::registration::registration(session_drain& owner, beast::tcp_stream& stream)
    : owner_(owner), connection_(std::make_shared<connection>())
{
    connection_->strand = stream.get_executor();
    connection_->stream = &stream;
    {
        std::lock_guard lock(owner_.mutex_);
        id_ = owner_.next_id_++;
        owner_.connections_.emplace(id_, connection_);
    }
    owner_.stats_.connection_opened();
}

session_drain::registration::~registration()
{
    connection_->alive = false;
    connection_->stream = nullptr;
    owner_.stats_.connection_closed();
    std::lock_guard lock(owner_.mutex_);
    owner_.connections_.erase(id_);
}

void session_drain::registration::set_idle(bool idle) noexcept
{
    connection_->idle = idle;
}

template <class Action>
void session_drain::for_each_connection(Action action)
{
    std::lock_guard lock(mutex_);
    for (auto& [id, conn] : connections_)
        net::post(conn->strand, [conn = conn, action] { action(*conn); });
}

std::size_t session_drain::open_connections()
{
    std::lock_guard lock(mutex_);
    return connections_.size();
}

net::awaitable<void> session_drain::wait_for_sessions(std::chrono::steady_clock::time_point until)
{
    net::steady_timer wait(co_await net::this_coro::executor);
    while (open_connections() > 0 && std::chrono::steady_clock::now() < until)
    {
        wait.expires_after(std::chrono::milliseconds(10));
        co_await wait.async_wait(net::as_tuple(net::use_awaitable));
    }
}

net::awaitable<void> session_drain::close_connections(std::chrono::milliseconds deadline)
{
    // Idle connections close now; busy ones close after their answer.
    for_each_connection(
        [](connection& c)
        {
            if (c.alive && c.idle)
                c.stream->cancel();
        });
    co_await wait_for_sessions(std::chrono::steady_clock::now() + deadline);
    if (open_connections() == 0)
        co_return;
    ops::log().warn("drain deadline passed; closing the remaining connections",
                    {{"connections", open_connections()}});
    for_each_connection(
        [](connection& c)
        {
            boost::system::error_code ec;
            if (c.alive)
                c.stream->socket().close(ec);
        });
    co_await wait_for_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(1));
}

} // namespace reqstore::http
