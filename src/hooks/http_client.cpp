// The webhook client: one POST per call, first over an idle pooled connection to its target, then
// (if that one turns out dead) over a new one that was resolved, checked, connected and verified
// within the attempt's deadline. Its parts are in target_url, resolution, client_tls, exchange and
// connection_pool.
#include <reqstore/hooks/http_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <mutex>
#include <optional>
#include <stdexcept>

#include "attempt_plan.hpp"
#include "client_tls.hpp"
#include "connection_pool.hpp"
#include "exchange.hpp"
#include "resolution.hpp"
#include "target_url.hpp"

namespace reqstore::hooks
{
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using net::as_tuple;
using net::use_awaitable;
using outbound::attempt_plan;
using outbound::clock_type;
using outbound::connection;
using outbound::expired;
using outbound::failure;
using outbound::idle_pool;
using outbound::target_url;
using outbound::timed_out;

struct http_client::impl
{
    struct attempt
    {
        post_result result;
        std::unique_ptr<connection> reusable; // set when the connection may go back to the pool
        bool dead_before_answer = false;
    };

    impl(net::any_io_executor executor, const network_policy& policy, client_options options)
        : executor_(std::move(executor)), policy_(policy), options_(std::move(options)),
          pool_(std::make_shared<idle_pool>(executor_, options_.max_idle_per_target, options_.idle_timeout))
    {
        // A CA file the configuration names is read now, so that a wrong one stops the start.
        std::string error;
        if (!options_.ca_file.empty() && tls(error) == nullptr)
            throw std::runtime_error(error);
    }

    ~impl() { pool_->close_all(true); }

    net::awaitable<post_result> post(post_request request);
    net::awaitable<attempt> connect_and_exchange(const attempt_plan& plan);
    net::awaitable<attempt> exchange(std::unique_ptr<connection> conn, const attempt_plan& plan, bool reused);

    // The TLS context, made at the first HTTPS connection: the system's CA bundle takes tens of
    // milliseconds to parse (more under the sanitizers), which every server start paid whether or not a
    // target was HTTPS. nullptr, with `error` saying why, when the certificates cannot be loaded (the
    // next connection tries again).
    ssl::context* tls(std::string& error)
    {
        std::lock_guard lock(tls_mutex_);
        if (!tls_)
            try
            {
                tls_.emplace(outbound::make_tls_context(options_.ca_file));
            }
            catch (const std::runtime_error& e)
            {
                error = e.what();
                return nullptr;
            }
        return &*tls_;
    }

    // Constant after construction.
    net::any_io_executor executor_;
    const network_policy& policy_;
    const client_options options_;
    // Set once by tls(), under the mutex. An ssl::context may be shared by threads once set up
    // (OpenSSL only reads it to create each connection's SSL object).
    std::mutex tls_mutex_;
    std::optional<ssl::context> tls_;
    // The pointer is constant; the pool guards itself.
    std::shared_ptr<idle_pool> pool_;
};

net::awaitable<post_result> http_client::impl::post(post_request request)
{
    const auto start = clock_type::now();
    std::string error;
    auto target = outbound::parse_target(request.url, error);
    if (!target)
        co_return failure(error);

    attempt_plan plan;
    plan.deadline = start + request.timeout;
    plan.timeout = request.timeout;
    plan.max_body = options_.max_response_bytes;
    plan.message.method(bhttp::verb::post);
    plan.message.target(target->target);
    plan.message.version(11);
    plan.message.set(bhttp::field::host, target->host_header);
    plan.message.set(bhttp::field::content_type, "application/json");
    plan.message.set(bhttp::field::user_agent, "reqstore-webhooks");
    for (const auto& [name, value] : request.headers)
    {
        if (!outbound::safe_header(name, value))
            co_return failure("invalid request header " + name);
        plan.message.set(name, value);
    }
    plan.message.body() = std::move(request.body);
    plan.message.prepare_payload();
    plan.target = std::move(*target);

    // Both coroutines below are awaited, so `plan` outlives them. Each runs on its connection's strand.
    attempt a;
    bool settled = false;
    if (auto idle = pool_->take(plan.target.pool_key))
    {
        const auto strand = idle->executor;
        a = co_await net::co_spawn(strand, exchange(std::move(idle), plan, true), use_awaitable);
        // A server may close an idle connection at any moment; that race is not the target's failure.
        settled = !a.dead_before_answer;
    }
    if (!settled)
        a = co_await net::co_spawn(net::make_strand(executor_), connect_and_exchange(plan), use_awaitable);

    a.result.latency = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start);
    if (a.reusable)
        pool_->put(plan.target.pool_key, std::move(a.reusable));
    co_return std::move(a.result);
}

net::awaitable<http_client::impl::attempt> http_client::impl::connect_and_exchange(const attempt_plan& plan)
{
    const auto strand = co_await net::this_coro::executor;
    const target_url& target = plan.target;
    attempt a;

    const outbound::resolution r =
        co_await outbound::resolve_permitted(target.host, target.port, plan.deadline, policy_);
    if (r.timed_out)
    {
        a.result = timed_out(plan, "resolving " + target.host);
        co_return a;
    }
    if (r.ec)
    {
        a.result = failure("cannot resolve " + target.host + ": " + r.ec.message());
        co_return a;
    }
    if (r.permitted.empty())
    {
        a.result.what = post_result::outcome::refused;
        a.result.error = target.host_is_name
                             ? "the network policy refuses every address of " + target.host + ": " + r.refused
                             : "the network policy refuses " + r.refused;
        co_return a;
    }

    auto conn = std::make_unique<connection>(strand);
    if (target.tls)
    {
        std::string error;
        ssl::context* context = tls(error);
        if (context == nullptr)
        {
            a.result = failure(error);
            co_return a;
        }
        conn->tls.emplace(strand, *context);
    }
    else
        conn->plain.emplace(strand);
    beast::tcp_stream& lowest = conn->tcp();

    lowest.expires_at(plan.deadline);
    const auto [connect_ec, endpoint] = co_await lowest.async_connect(r.permitted, as_tuple(use_awaitable));
    if (connect_ec)
    {
        a.result = expired(connect_ec, plan)
                       ? timed_out(plan, "connecting to " + target.host)
                       : failure("cannot connect to " + target.host + ": " + connect_ec.message());
        co_return a;
    }

    if (target.tls)
        if (auto refused = co_await outbound::start_tls(*conn->tls, plan))
        {
            a.result = std::move(*refused);
            co_return a;
        }
    co_return co_await exchange(std::move(conn), plan, false);
}

net::awaitable<http_client::impl::attempt> http_client::impl::exchange(std::unique_ptr<connection> conn,
                                                                       const attempt_plan& plan, bool reused)
{
    outbound::exchange_result r;
    if (conn->tls)
        r = co_await outbound::exchange_on(*conn->tls, conn->buffer, plan, reused);
    else
        r = co_await outbound::exchange_on(*conn->plain, conn->buffer, plan, reused);
    attempt a;
    a.result = std::move(r.result);
    a.dead_before_answer = r.dead_before_answer;
    if (r.keep)
        a.reusable = std::move(conn);
    // Otherwise the connection closes here, on its strand.
    co_return a;
}

// ---- the public face ----------------------------------------------------------------------------

http_client::http_client(net::any_io_executor executor, const network_policy& policy, client_options options)
    : impl_(std::make_unique<impl>(std::move(executor), policy, std::move(options)))
{
}

http_client::~http_client() = default;

net::awaitable<post_result> http_client::post(post_request request)
{
    co_return co_await impl_->post(std::move(request));
}

void http_client::close_idle()
{
    impl_->pool_->close_all(false);
}

} // namespace reqstore::hooks
