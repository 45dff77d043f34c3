// The phases of a run, each one a set of coroutines (one per connection) run to completion on the
// io_context's threads: probe, setup, the measured run with its progress display, verification.
#include "runner.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

#include "driver.hpp"
#include "report.hpp"

namespace reqstore::load
{
namespace
{

// The share of each operation in the mixed scenario: 80% reads, 15% cas-updates, 5% creates.
constexpr double mixed_read = 0.80;
constexpr double mixed_update = 0.15;

// Failures found by several coroutines at once; only the first few are kept.
class failure_list
{
public:
    void add(std::string detail)
    {
        std::lock_guard lock(mutex_);
        ++count_;
        if (kept_.size() < 3)
            kept_.push_back(std::move(detail));
    }
    std::size_t count() const
    {
        std::lock_guard lock(mutex_);
        return count_;
    }
    std::string text() const
    {
        std::lock_guard lock(mutex_);
        std::string out;
        for (const auto& k : kept_)
            out += (out.empty() ? "" : "; ") + k;
        if (count_ > kept_.size())
            out += "; and " + std::to_string(count_ - kept_.size()) + " more";
        return out;
    }

private:
    mutable std::mutex mutex_; // guards everything below
    std::size_t count_ = 0;
    std::vector<std::string> kept_;
};

// Everything the coroutines of a run share. It lives in run() and outlives every coroutine:
// run_all() returns only after all of them have ended.
struct run_context
{
    const options& opts;
    std::unique_ptr<driver> drive;
    std::vector<std::unique_ptr<connection>> connections;
    std::vector<std::unique_ptr<run_stats>> stats;
    key_table keys;
    key_chooser chooser;
    run_clock clock;
    std::atomic<unsigned> running{0}; // connections still in the measured run
    failure_list failures;
};

// One io_context per thread, each run by its thread alone, with its share of the connections (connection
// i on context i % threads), as wrk gives each thread an event loop of its own: a connection's handlers
// all run on one thread, so it needs no strand, and its executor is the context's own. A strand behind
// the type-erased executor cost a shared_ptr copy and a lock per operation, about a fifth of the tool's
// time per request.
struct event_loops
{
    explicit event_loops(unsigned threads)
    {
        for (unsigned t = 0; t < threads; ++t)
            contexts.push_back(std::make_unique<net::io_context>(1));
    }
    net::io_context& of_connection(std::size_t index) { return *contexts[index % contexts.size()]; }

    std::vector<std::unique_ptr<net::io_context>> contexts;
};

// Spawns make(i) for i in [0, count) on connection i's executor and runs every loop on its own
// thread until every coroutine has ended. Rethrows the first exception one of them threw.
template <typename Make>
void run_all(event_loops& loops, run_context& ctx, std::size_t count, Make make)
{
    std::mutex mutex;
    std::exception_ptr first;
    for (std::size_t i = 0; i < count; ++i)
        net::co_spawn(ctx.connections[i]->get_executor(), make(i),
                      [&mutex, &first](std::exception_ptr e)
                      {
                          std::lock_guard lock(mutex);
                          if (e && !first)
                              first = e;
                      });
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < loops.contexts.size(); ++t)
        pool.emplace_back([io = loops.contexts[t].get()] { io->run(); });
    loops.contexts[0]->run();
    for (auto& t : pool)
        t.join();
    for (auto& io : loops.contexts)
        io->restart();
    if (first)
        std::rethrow_exception(first);
}

net::awaitable<void> probe(run_context* ctx)
{
    connection& c = *ctx->connections[0];
    if (const auto ec = co_await c.ensure_connected())
        ctx->failures.add("cannot reach " + ctx->opts.target.text + ": " + ec.message());
}

net::awaitable<void> before_setup(run_context* ctx)
{
    const std::string failed = co_await ctx->drive->before_setup(*ctx->connections[0]);
    if (!failed.empty())
        ctx->failures.add(failed);
}

// Connection `index` sets up keys index, index + C, index + 2C, ...; the first failure anywhere
// stops every connection.
net::awaitable<void> set_up_keys(run_context* ctx, std::size_t index)
{
    const std::size_t stride = ctx->connections.size();
    for (std::size_t i = index; i < ctx->keys.size() && ctx->failures.count() == 0; i += stride)
    {
        const std::string failed = co_await ctx->drive->set_up(*ctx->connections[index], ctx->keys, i);
        if (!failed.empty())
            ctx->failures.add("setting up key " + std::to_string(i) + ": " + failed);
    }
}

// Counts a connection out of the run however its coroutine ends, so that the progress display stops.
struct running_guard
{
    std::atomic<unsigned>& running;
    ~running_guard() { running.fetch_sub(1, std::memory_order_acq_rel); }
};

net::awaitable<void> run_connection(run_context* ctx, std::size_t index)
{
    running_guard guard{ctx->running};
    const options& o = ctx->opts;
    worker w(*ctx->connections[index], *ctx->stats[index], ctx->clock, o.rate, static_cast<unsigned>(index),
             o.connections, o.seed * 1'000'003 + index);
    driver& d = *ctx->drive;
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    while (!w.over())
    {
        switch (o.what)
        {
        case scenario::read:
            co_await d.read(w, ctx->keys, ctx->chooser.next(w.rng()));
            break;
        case scenario::create:
            co_await d.create(w);
            break;
        case scenario::cas_update:
        case scenario::update:
        case scenario::webhook_fanout:
            co_await d.update(w, ctx->keys, ctx->chooser.next(w.rng()));
            break;
        case scenario::mixed:
        {
            const double draw = unit(w.rng());
            if (draw < mixed_read)
                co_await d.read(w, ctx->keys, ctx->chooser.next(w.rng()));
            else if (draw < mixed_read + mixed_update)
                co_await d.update(w, ctx->keys, ctx->chooser.next(w.rng()));
            else
                co_await d.create(w);
            break;
        }
        }
    }
}

// One line a second on stderr while the run lasts: elapsed, requests, rps, errors, p99 so far.
net::awaitable<void> show_progress(run_context* ctx)
{
    net::steady_timer timer(co_await net::this_coro::executor);
    auto next_line = ctx->clock.start + std::chrono::seconds(1);
    std::uint64_t last_requests = 0;
    while (ctx->running.load(std::memory_order_acquire) > 0)
    {
        timer.expires_after(std::chrono::milliseconds(100));
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        const auto now = steady::now();
        if (now < next_line)
            continue;
        next_line += std::chrono::seconds(1);
        histogram merged;
        std::uint64_t requests = 0;
        std::uint64_t errors = 0;
        for (const auto& s : ctx->stats)
        {
            merged.merge(s->latency);
            requests += s->answered.load(std::memory_order_relaxed);
            errors += s->errors.load(std::memory_order_relaxed);
        }
        const double elapsed = std::chrono::duration<double>(now - ctx->clock.start).count();
        const bool warming = now < ctx->clock.measure_from;
        std::fprintf(stderr, "[%6.1fs]%s requests %llu  rps %llu  errors %llu  p99 %.3f ms\n", elapsed,
                     warming ? " warmup" : "", static_cast<unsigned long long>(requests),
                     static_cast<unsigned long long>(requests - last_requests),
                     static_cast<unsigned long long>(errors),
                     static_cast<double>(merged.percentile(99)) / 1000.0);
        last_requests = requests;
    }
}

net::awaitable<void> verify_keys(run_context* ctx, std::size_t index)
{
    const std::size_t stride = ctx->connections.size();
    for (std::size_t i = index; i < ctx->keys.size(); i += stride)
    {
        const std::string failed = co_await ctx->drive->verify(*ctx->connections[index], ctx->keys, i);
        if (!failed.empty())
            ctx->failures.add(failed);
    }
}

net::awaitable<void> after_verify(run_context* ctx, boost::json::object* extra)
{
    const std::string failed = co_await ctx->drive->after_verify(*ctx->connections[0], ctx->keys, *extra);
    if (!failed.empty())
        ctx->failures.add(failed);
}

std::unique_ptr<driver> make_driver(const options& o)
{
    switch (o.proto)
    {
    case protocol::reqstore:
        return make_reqstore_driver(o);
    case protocol::rest:
        return make_rest_driver(o);
    case protocol::etcd:
        return make_etcd_driver(o);
    }
    return nullptr;
}

steady::duration seconds(double s)
{
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}

bool uses_keys(scenario s)
{
    return s != scenario::create;
}

bool checks_updates(scenario s)
{
    return s == scenario::cas_update || s == scenario::mixed || s == scenario::webhook_fanout;
}

// Whether an answer with this status is part of the scenario working as it should: any 2xx, and
// 412 where compare-and-swap conflicts are expected.
bool expected_status(const options& o, unsigned status)
{
    return status / 100 == 2 || (status == 412 && o.proto == protocol::reqstore && checks_updates(o.what));
}

void collect(run_context& ctx, summary& s)
{
    for (const auto& st : ctx.stats)
    {
        s.latency.merge(st->latency);
        for (unsigned code = 0; code < run_stats::max_status; ++code)
            if (const auto n = st->by_status[code].load(std::memory_order_relaxed))
                s.status[code] += n;
        s.requests += st->answered.load(std::memory_order_relaxed);
        s.errors += st->errors.load(std::memory_order_relaxed);
        s.conflicts += st->conflicts.load(std::memory_order_relaxed);
    }
    for (const auto& c : ctx.connections)
        s.connects += c->connects();
    s.acknowledged = ctx.keys.total_acknowledged();
    s.uncertain = ctx.keys.total_uncertain();
    s.keys = ctx.keys.size();
}

int fail(const std::string& message)
{
    std::cerr << "reqstore-load: " << message << "\n";
    return 1;
}

// Setup failures name what failed; a refused key is the usual cause, and the fix is an option.
int fail_setup(const run_context& ctx)
{
    std::string message = ctx.failures.text();
    if (message.find(" answered 401") != std::string::npos ||
        message.find(" answered 403") != std::string::npos)
        message += ctx.opts.auth.empty() ? " (give an API key with --auth ID.SECRET)"
                                         : " (the --auth key is refused or lacks a scope)";
    return fail(message);
}

} // namespace

int run(const options& o)
{
    event_loops loops(o.threads);

    net::ip::tcp::resolver resolver(*loops.contexts[0]);
    boost::system::error_code resolve_ec;
    const auto endpoints = resolver.resolve(o.target.host, o.target.port, resolve_ec);
    if (resolve_ec)
        return fail("cannot resolve " + o.target.text + ": " + resolve_ec.message());
    const endpoint_info where{endpoints, o.target.authority, o.auth.empty() ? "" : "Bearer " + o.auth,
                              seconds(o.timeout_s)};

    std::vector<std::string> reused;
    if (!o.reuse_keys_file.empty())
    {
        auto file = read_key_file(o.reuse_keys_file);
        if (!file || file->empty())
            return fail("--reuse-keys: " + o.reuse_keys_file + (file ? " holds no key" : " cannot be read"));
        reused = std::move(*file);
    }
    const std::size_t key_count = !uses_keys(o.what) ? 0 : reused.empty() ? o.keys : reused.size();

    run_context ctx{o, make_driver(o), {}, {}, key_table(key_count), key_chooser(key_count, o.zipf), {}, {},
                    {}};
    for (unsigned i = 0; i < o.connections; ++i)
    {
        ctx.connections.push_back(std::make_unique<connection>(loops.of_connection(i).get_executor(), where));
        ctx.stats.push_back(std::make_unique<run_stats>());
    }
    for (std::size_t i = 0; i < reused.size(); ++i)
        ctx.keys[i].name = std::move(reused[i]);

    run_all(loops, ctx, 1, [&ctx](std::size_t) { return probe(&ctx); });
    if (ctx.failures.count() > 0)
        return fail(ctx.failures.text());
    run_all(loops, ctx, 1, [&ctx](std::size_t) { return before_setup(&ctx); });
    if (ctx.failures.count() > 0)
        return fail_setup(ctx);
    run_all(loops, ctx, std::min<std::size_t>(o.connections, key_count),
            [&ctx](std::size_t i) { return set_up_keys(&ctx, i); });
    if (ctx.failures.count() > 0)
        return fail_setup(ctx);
    if (!o.save_keys_file.empty() && !write_key_file(o.save_keys_file, ctx.keys))
        return fail("--save-keys: cannot write " + o.save_keys_file);

    ctx.clock.start = steady::now();
    ctx.clock.measure_from = ctx.clock.start + seconds(o.warmup_s);
    ctx.clock.until = ctx.clock.measure_from + seconds(o.duration_s);
    ctx.running = o.connections;
    if (!o.quiet && ::isatty(STDERR_FILENO))
        net::co_spawn(loops.contexts[0]->get_executor(), show_progress(&ctx),
                      [](std::exception_ptr e)
                      {
                          if (e)
                              std::rethrow_exception(e);
                      });
    run_all(loops, ctx, o.connections, [&ctx](std::size_t i) { return run_connection(&ctx, i); });

    boost::json::object extra;
    correctness verdict;
    if (checks_updates(o.what) && ctx.drive->checks_updates())
    {
        verdict.checked = true;
        run_all(loops, ctx, std::min<std::size_t>(o.connections, key_count),
                [&ctx](std::size_t i) { return verify_keys(&ctx, i); });
        run_all(loops, ctx, 1, [&ctx, &extra](std::size_t) { return after_verify(&ctx, &extra); });
    }
    summary s;
    collect(ctx, s);
    s.extra = std::move(extra);

    std::uint64_t unexpected = 0;
    std::string unexpected_text;
    for (const auto& [code, n] : s.status)
        if (!expected_status(o, code))
        {
            unexpected += n;
            unexpected_text +=
                (unexpected_text.empty() ? "" : ", ") + std::to_string(code) + " x" + std::to_string(n);
        }
    if (ctx.failures.count() > 0)
    {
        verdict.ok = false;
        const auto n = ctx.failures.count();
        verdict.detail = std::to_string(n) + (n == 1 ? " problem: " : " problems: ") + ctx.failures.text();
    }
    else if (verdict.checked)
        verdict.detail = std::to_string(key_count) + " keys: " + ctx.drive->check_summary();
    if (unexpected > 0)
    {
        verdict.ok = false;
        verdict.detail +=
            std::string(verdict.detail.empty() ? "" : "; ") + "unexpected statuses: " + unexpected_text;
    }
    else if (!verdict.checked)
        verdict.detail = "every answer had an expected status (the scenario has no further check)";
    if (s.requests == 0)
    {
        verdict.ok = false;
        verdict.detail = "no request was answered (" + std::to_string(s.errors) + " transport errors)" +
                         (verdict.detail.empty() ? "" : "; " + verdict.detail);
    }
    s.verdict = verdict;

    std::cout << to_text(o, s) << std::flush;
    if (!o.json_file.empty() && !write_report(o.json_file, to_json(o, s)))
        return fail("--json: cannot write " + o.json_file);
    return s.verdict.ok ? 0 : 1;
}

} // namespace reqstore::load
