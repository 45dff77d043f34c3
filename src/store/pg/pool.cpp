// The reconnecting connection pool of pool.hpp. Every caller may run on another thread of the I/O
// context: the pool's state is guarded by one mutex, never held across a suspension, and a waiting
// caller is woken through a channel that is safe to send on from any thread.
#include <reqstore/ops/log.hpp>
#include <reqstore/store/pg/pool.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

namespace reqstore::store::pg
{
namespace net = boost::asio;

namespace
{

query_failure unavailable(std::string message)
{
    return query_failure{failure_kind::not_connected, {}, std::move(message)};
}

std::string describe(const query_failure& f)
{
    return f.sqlstate.empty() ? f.message : f.sqlstate + " " + f.message;
}

// A caller waiting for a connection to come back. The pool answers it at most once, under its
// mutex: with a connection, with a free slot to connect in, or with "closed".
struct waiter
{
    explicit waiter(net::any_io_executor executor) : wake(std::move(executor), 1) {}

    net::experimental::concurrent_channel<void(boost::system::error_code)> wake;
    // Guarded by the pool's mutex.
    bool answered = false;
    std::unique_ptr<connection> handed;
    bool slot = false;
    bool closed = false;
};

} // namespace

struct pool::state
{
    state(net::any_io_executor ex, pool_options o) : executor(std::move(ex)), options(std::move(o)) {}

    // Constant after construction.
    net::any_io_executor executor;
    pool_options options;

    std::mutex mutex;
    // Guarded by `mutex`.
    std::deque<std::unique_ptr<connection>> idle;
    std::deque<std::shared_ptr<waiter>> waiters; // oldest first
    std::size_t slots_taken = 0;                 // connections idle, lent, or being made
    bool closed = false;
    clock::time_point next_attempt{};     // no connection attempt before this
    std::chrono::milliseconds backoff{0}; // the wait after the last failure; 0 after a success
    clock::time_point last_failure{};     // when the last attempt failed
    std::uint64_t connections_made = 0;

    // Read without the mutex, for metrics; written under it.
    std::atomic<std::size_t> in_use{0};
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<bool> connected{false};

    // A slot given up (a connection dropped, or an attempt abandoned) goes to the oldest waiter,
    // which connects in it; else it is free.
    void free_slot_locked()
    {
        if (!waiters.empty() && !closed)
        {
            const auto w = std::move(waiters.front());
            waiters.pop_front();
            w->answered = true;
            w->slot = true;
            w->wake.try_send(boost::system::error_code{});
            return;
        }
        --slots_taken;
    }

    // Attempts that ran side by side and failed together double the backoff once, not once each.
    void record_failure_locked(clock::time_point attempt_started)
    {
        const auto now = clock::now();
        if (backoff.count() == 0)
            backoff = options.min_backoff;
        else if (attempt_started >= last_failure)
            backoff = std::min(backoff * 2, options.max_backoff);
        last_failure = now;
        next_attempt = std::max(next_attempt, now + backoff);
        connected = false;
    }

    // A connection made in a slot the caller holds, after waiting out the backoff; on failure the
    // slot is given up.
    static net::awaitable<query_result<std::unique_ptr<connection>>>
    connect_in_slot(std::shared_ptr<state> s, clock::time_point deadline);

    // A lent connection back: to the oldest waiter, else idle; dropped when no longer usable.
    void give_back(std::unique_ptr<connection> c);
};

pool::pool(net::any_io_executor executor, pool_options options)
    : state_(std::make_shared<state>(std::move(executor), std::move(options)))
{
}

pool::~pool()
{
    close();
}

pool::lease::lease(std::shared_ptr<state> owner, std::unique_ptr<connection> c)
    : owner_(std::move(owner)), connection_(std::move(c))
{
}

pool::lease::lease(lease&& other) noexcept
    : owner_(std::move(other.owner_)), connection_(std::move(other.connection_))
{
}

pool::lease& pool::lease::operator=(lease&& other) noexcept
{
    if (this != &other)
    {
        if (owner_ != nullptr && connection_)
            owner_->give_back(std::move(connection_));
        owner_ = std::move(other.owner_);
        connection_ = std::move(other.connection_);
    }
    return *this;
}

pool::lease::~lease()
{
    if (owner_ != nullptr && connection_)
        owner_->give_back(std::move(connection_));
}

net::awaitable<query_result<pool::lease>> pool::acquire(clock::time_point deadline)
{
    const auto s = state_;
    const auto executor = co_await net::this_coro::executor;
    std::vector<std::unique_ptr<connection>> dead; // destroyed after the mutex is released
    std::unique_ptr<connection> found;
    std::shared_ptr<waiter> w;
    {
        std::lock_guard lock(s->mutex);
        if (s->closed)
            co_return unavailable("the pool " + s->options.name + " is closed");
        while (!s->idle.empty() && !found)
        {
            auto c = std::move(s->idle.front());
            s->idle.pop_front();
            if (c->still_connected())
                found = std::move(c);
            else
            {
                dead.push_back(std::move(c));
                --s->slots_taken;
            }
        }
        if (found)
            ++s->in_use;
        else if (s->slots_taken < s->options.size)
            ++s->slots_taken;
        else
        {
            w = std::make_shared<waiter>(executor);
            s->waiters.push_back(w);
        }
    }
    dead.clear();
    if (found)
        co_return lease(s, std::move(found));

    if (w)
    {
        // If this frame is destroyed while it waits (its context torn down), what the pool handed
        // it must not be lost, nor must the pool answer a waiter that is gone.
        struct leave_on_destroy
        {
            std::shared_ptr<state> s;
            std::shared_ptr<waiter> w;
            bool done = false;
            ~leave_on_destroy()
            {
                if (done)
                    return;
                std::unique_ptr<connection> handed;
                {
                    std::lock_guard lock(s->mutex);
                    if (!w->answered)
                    {
                        std::erase(s->waiters, w);
                        return;
                    }
                    if (w->slot)
                        s->free_slot_locked();
                    handed = std::move(w->handed);
                }
                if (handed)
                {
                    ++s->in_use; // give_back counts it down
                    s->give_back(std::move(handed));
                }
            }
        } guard{s, w};

        net::steady_timer timer(executor, deadline);
        co_await net::experimental::make_parallel_group(w->wake.async_receive(net::deferred),
                                                        timer.async_wait(net::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
        guard.done = true;
        {
            // Whatever woke this caller, the answer (if any) is read under the mutex: one given at
            // the same moment the deadline passed is not lost.
            std::lock_guard lock(s->mutex);
            if (!w->answered)
            {
                std::erase(s->waiters, w);
                co_return unavailable("no connection of the pool " + s->options.name +
                                      " was free by the deadline");
            }
            if (w->closed)
                co_return unavailable("the pool " + s->options.name + " is closed");
            if (w->handed)
                ++s->in_use;
        }
        if (w->handed)
            co_return lease(s, std::move(w->handed));
        // Else a slot was handed over: connect in it, below.
    }

    auto made = co_await state::connect_in_slot(s, deadline);
    if (!made)
        co_return made.error();
    co_return lease(s, std::move(*made));
}

net::awaitable<query_result<std::unique_ptr<connection>>>
pool::state::connect_in_slot(std::shared_ptr<state> s, clock::time_point deadline)
{
    // The backoff after a failed attempt: wait it out if the deadline allows, else fail now, so
    // that a request is answered "unavailable" at once instead of at its deadline.
    for (;;)
    {
        clock::time_point wait_until;
        {
            std::lock_guard lock(s->mutex);
            if (s->closed)
            {
                s->free_slot_locked();
                co_return unavailable("the pool " + s->options.name + " is closed");
            }
            const auto now = clock::now();
            // A slot handed over as the deadline passed: an attempt now could only time out, and
            // would count as the database's failure.
            if (now >= deadline)
            {
                s->free_slot_locked();
                co_return unavailable("no connection of the pool " + s->options.name +
                                      " was free by the deadline");
            }
            if (s->next_attempt <= now)
                break;
            if (s->next_attempt >= deadline)
            {
                s->free_slot_locked();
                const auto wait =
                    std::chrono::duration_cast<std::chrono::milliseconds>(s->next_attempt - now);
                co_return unavailable("the database of the pool " + s->options.name +
                                      " was unreachable at the last attempt; the next attempt is in " +
                                      std::to_string(wait.count()) + " ms");
            }
            wait_until = s->next_attempt;
        }
        net::steady_timer timer(co_await net::this_coro::executor, wait_until);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }

    const auto started = clock::now();
    query_result<std::unique_ptr<connection>> made = unavailable("not attempted");
    try
    {
        made = co_await connection::connect(s->executor, s->options.conninfo, deadline);
        if (made && s->options.on_connect)
        {
            auto set_up = co_await s->options.on_connect(**made);
            if (!set_up)
            {
                // The caller can only answer "unavailable", whatever the setup's failure was.
                made = unavailable("setting up a new connection failed: " + describe(set_up.error()));
            }
        }
    }
    catch (...)
    {
        // The slot must not be lost with the exception (from on_connect, or an allocation).
        std::lock_guard lock(s->mutex);
        s->free_slot_locked();
        throw;
    }

    std::unique_ptr<connection> unwanted; // destroyed after the mutex is released
    bool recovered = false;
    {
        std::lock_guard lock(s->mutex);
        if (!made)
        {
            s->record_failure_locked(started);
            s->free_slot_locked();
        }
        else
        {
            recovered = s->backoff.count() != 0;
            s->backoff = std::chrono::milliseconds(0);
            s->next_attempt = {};
            s->connected = true;
            if (++s->connections_made > s->options.size)
                ++s->reconnects;
            if (s->closed)
            {
                unwanted = std::move(*made);
                s->free_slot_locked();
                made = unavailable("the pool " + s->options.name + " is closed");
            }
            else
                ++s->in_use;
        }
    }
    if (!made && !unwanted)
        ops::log().warn("postgres connection failed",
                        {{"pool", s->options.name}, {"reason", made.error().message}});
    else if (recovered)
        ops::log().info("postgres connection made again",
                        {{"pool", s->options.name}, {"server", (*made)->server()}});
    co_return made;
}

void pool::state::give_back(std::unique_ptr<connection> c)
{
    std::unique_ptr<connection> dropped; // destroyed after the mutex is released
    std::lock_guard lock(mutex);
    --in_use;
    if (closed || !c->usable())
    {
        dropped = std::move(c);
        free_slot_locked();
        return;
    }
    if (!waiters.empty())
    {
        const auto w = std::move(waiters.front());
        waiters.pop_front();
        w->answered = true;
        w->handed = std::move(c);
        w->wake.try_send(boost::system::error_code{});
        return;
    }
    idle.push_back(std::move(c));
}

void pool::close()
{
    std::deque<std::unique_ptr<connection>> idle;
    {
        std::lock_guard lock(state_->mutex);
        state_->closed = true;
        idle.swap(state_->idle);
        state_->slots_taken -= idle.size();
        for (const auto& w : state_->waiters)
        {
            w->answered = true;
            w->closed = true;
            w->wake.try_send(boost::system::error_code{});
        }
        state_->waiters.clear();
    }
}

std::size_t pool::in_use() const noexcept
{
    return state_->in_use.load();
}

std::uint64_t pool::reconnects() const noexcept
{
    return state_->reconnects.load();
}

bool pool::connected() const noexcept
{
    return state_->connected.load();
}

} // namespace reqstore::store::pg
