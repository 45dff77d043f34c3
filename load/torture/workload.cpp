// The torture load: hot-key compare-and-swaps, creates and reads, recorded for the audit and
// the linearizability checkers.
#include "workload.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <charconv>
#include <cstdio>

namespace reqstore::torture
{
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace
{

std::string twenty_digits(unsigned lead, std::uint64_t n)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "req_%u%019llu", lead, static_cast<unsigned long long>(n));
    return buffer;
}

// The "wid" member of a JSON object body, or "" when there is none.
std::string write_id_in(const std::string& body)
{
    boost::system::error_code ec;
    const auto value = json::parse(body, ec);
    if (ec || !value.is_object())
        return {};
    const auto* wid = value.as_object().if_contains("wid");
    return wid && wid->is_string() ? std::string(wid->as_string()) : std::string();
}

} // namespace

std::string mark_of(unsigned client)
{
    return "by_" + std::to_string(client);
}

std::string hot_key(unsigned i)
{
    return twenty_digits(0, i);
}

std::optional<std::uint64_t> etag_version(std::string_view etag)
{
    if (etag.size() < 3 || etag.front() != '"' || etag.back() != '"')
        return std::nullopt;
    std::uint64_t v = 0;
    const auto digits = etag.substr(1, etag.size() - 2);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return v;
}

std::int64_t workload::now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

workload::workload(ledger& book, workload_options options, std::uint64_t seed)
    : book_(book), options_(options)
{
    std::mt19937_64 seeds(seed);
    for (unsigned i = 0; i < options_.connections; ++i)
    {
        auto state = std::make_unique<client_state>();
        state->index = i;
        state->view.assign(options_.hot_keys, 0);
        state->rng.seed(seeds());
        clients_.push_back(std::move(state));
    }
    for (unsigned k = 0; k < options_.hot_keys; ++k)
        (void)book_.key(hot_key(k));
}

net::awaitable<void> workload::run(const std::vector<load::endpoint_info>& nodes)
{
    stopping_ = false;
    auto executor = co_await net::this_coro::executor;
    for (auto& state : clients_)
    {
        ++running_;
        net::co_spawn(executor, client(*state, nodes[state->index % nodes.size()]), net::detached);
    }
    net::steady_timer poll(executor);
    while (running_ > 0)
    {
        poll.expires_after(std::chrono::milliseconds(5));
        co_await poll.async_wait(net::as_tuple(net::use_awaitable));
    }
}

net::awaitable<void> workload::client(client_state& state, const load::endpoint_info& where)
{
    load::connection conn(co_await net::this_coro::executor, where);
    while (!stopping_)
        co_await one_operation(state, conn);
    --running_;
}

net::awaitable<void> workload::one_operation(client_state& state, load::connection& conn)
{
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::uniform_int_distribution<unsigned> pick(0, options_.hot_keys - 1);
    const double draw = unit(state.rng);
    const unsigned hot = pick(state.rng);

    op_record op;
    op.process = state.index;
    if (draw < options_.create_share)
    {
        op.kind = op_kind::create;
        op.key = twenty_digits(1, std::uint64_t(state.index) * 1'000'000'000ull + ++state.creates);
    }
    else if (draw < options_.create_share + options_.read_share)
    {
        op.kind = op_kind::read;
        op.key = hot_key(hot);
    }
    else
    {
        op.key = hot_key(hot);
        op.expected = state.view[hot];
        op.kind = op.expected == 0 ? op_kind::create : op_kind::cas;
    }
    if (op.kind != op_kind::read)
        op.write_id = "w" + std::to_string(state.index) + "-" + std::to_string(++state.writes);

    const std::string target = "/v1/requests/" + op.key;
    if (op.kind == op_kind::read)
        conn.prepare(http::verb::get, target);
    else
    {
        std::string body = "{\"wid\":\"" + op.write_id + "\"";
        if (options_.merge_patch)
            body += ",\"" + mark_of(state.index) + "\":\"" + op.write_id + "\"";
        if (op.kind == op_kind::create)
            body += ",\"type\":\"request\"";
        body += '}';
        // A merge patch sent as application/json (which PATCH reads as one).
        const bool patch = options_.merge_patch && op.kind == op_kind::cas;
        conn.prepare(patch ? http::verb::patch : http::verb::put, target, body);
        conn.request().erase(http::field::if_none_match); // prepare() clears only If-Match
        if (op.kind == op_kind::create)
            conn.request().set(http::field::if_none_match, "*");
        else
            conn.request().set(http::field::if_match, "\"" + std::to_string(op.expected) + "\"");
    }
    (void)book_.key(op.key);

    op.invoke = now_ns();
    const auto ec = co_await conn.exchange();
    if (ec)
    {
        op.outcome = op_outcome::unknown;
        if (op.kind != op_kind::read) // a read that got no answer tells nothing
            book_.record(std::move(op));
        if (!stopping_)
        {
            net::steady_timer pause(co_await net::this_coro::executor, std::chrono::milliseconds(10));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        }
        co_return;
    }
    op.complete = now_ns();
    const unsigned status = conn.status();
    op.status = status;
    const auto etag = etag_version(std::string_view(conn.etag()));
    if (status == 200 || status == 201)
    {
        op.outcome = op_outcome::ok;
        op.version = etag.value_or(0);
        if (op.kind == op_kind::read)
            op.read_write_id = write_id_in(conn.body());
    }
    else if (op.kind == op_kind::read && status == 404)
    {
        op.outcome = op_outcome::ok;
        op.version = 0;
    }
    else if (status >= 400 && status < 500)
    {
        op.outcome = op_outcome::fail;
        if (status == 412)
            op.observed = etag;
    }
    else
        op.outcome = op_outcome::unknown;

    if (op.key.starts_with("req_0"))
    {
        const std::uint64_t seen = op.outcome == op_outcome::ok ? op.version : op.observed.value_or(0);
        if (seen > state.view[hot] || (op.outcome == op_outcome::fail && op.observed))
            state.view[hot] = seen;
    }
    if (op.kind == op_kind::read && op.outcome != op_outcome::ok)
        co_return;
    book_.record(std::move(op));
}

} // namespace reqstore::torture
