// Idempotency keys: claims on keys in flight, lookups of stored answers, and their expiry.
#include <reqstore/api/idempotency.hpp>
#include <reqstore/auth/keys.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::api
{
namespace net = boost::asio;
namespace json = boost::json;

namespace
{

// Idempotency-Key is an sf-string in the draft ("abc"); the bare token form is also accepted.
// 1 to 255 printable ASCII characters.
std::optional<std::string> normalize_key(std::string_view value)
{
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
    if (value.empty() || value.size() > 255)
        return std::nullopt;
    for (char c : value)
        if (c < 0x20 || c > 0x7e || c == '"')
            return std::nullopt;
    return std::string(value);
}

// The stored answer replayed to a repeat with `fingerprint`, or 422 when the repeat differs.
http::response replayed(const core::idempotency_entry& stored, const std::string& fingerprint,
                        const std::function<http::response(const core::kept_answer&)>& replay,
                        const http::request& req)
{
    if (stored.fingerprint != fingerprint)
        return http::problem_response(core::errc::idempotency_conflict,
                                      "this Idempotency-Key was used for another request (method, path or "
                                      "body differ)",
                                      req.path());
    std::optional<http::response> answer;
    if (const auto kept = core::decode_kept_answer(stored.answer))
        answer = replay(*kept);
    else
        answer = decode_answer(stored.answer); // kept in the transport's form, before kept_answer
    if (!answer)
        return http::problem_response(core::errc::internal, "a stored answer is unreadable", req.path());
    answer->set("Idempotent-Replayed", "true");
    return std::move(*answer);
}

} // namespace

idempotency_keys::claim::~claim()
{
    if (owner_)
        owner_->release(key_);
}

idempotency_keys::idempotency_keys(net::any_io_executor executor, core::record_service& service)
    : service_(service), strand_(net::make_strand(executor)), sweep_timer_(strand_)
{
}

void idempotency_keys::release(const std::string& key)
{
    std::lock_guard lock(mutex_);
    in_flight_.erase(key);
}

net::awaitable<idempotency_keys::decision>
idempotency_keys::begin(const http::request& req, std::string_view key_id, std::string answer_form,
                        std::function<http::response(const core::kept_answer&)> replay)
{
    const auto header = req.header("idempotency-key");
    if (!header)
        co_return std::monostate{};
    const auto value = normalize_key(*header);
    if (!value)
        co_return http::problem_response(
            core::errc::bad_request,
            "Idempotency-Key must be 1 to 255 printable ASCII characters, quoted or bare", req.path());
    // Keys are per API key: two clients may choose the same value independently.
    std::string key(key_id);
    key.push_back('\n');
    key += *value;
    const std::string fingerprint = auth::sha256_hex(std::string(req.method_text()) + "\n" +
                                                     std::string(req.target()) + "\n" + req.body());
    {
        std::lock_guard lock(mutex_);
        if (!in_flight_.insert(key).second)
            co_return http::problem_response(
                core::errc::idempotency_in_flight,
                "a request with this Idempotency-Key is still being processed; retry "
                "after it has been answered",
                req.path());
    }
    claim held(*this, key);

    auto stored = co_await service_.find_idempotent(key);
    if (!stored)
        co_return http::problem_response(stored.error(), req.path());
    const auto live_since = core::now_millis() - idempotency_lifetime_ms;
    if (*stored && (*stored)->created_at >= live_since)
        co_return replayed(**stored, fingerprint, replay, req);
    // Another node may be handling the same key right now: the store refuses this write's commit if
    // an answer for the key is stored meanwhile (answer_of_duplicate then replays it).
    core::idempotency_hook hook{key, fingerprint, std::move(answer_form), live_since};
    co_return go_ahead{std::move(held), std::move(hook)};
}

net::awaitable<http::response>
idempotency_keys::answer_of_duplicate(const core::idempotency_hook& hook, const http::request& req,
                                      const std::function<http::response(const core::kept_answer&)>& replay)
{
    auto stored = co_await service_.find_idempotent(hook.key);
    if (!stored)
        co_return http::problem_response(stored.error(), req.path());
    if (!*stored)
        co_return http::problem_response(
            core::errc::internal,
            "the store refused a write for an answered Idempotency-Key it does not hold", req.path());
    co_return replayed(**stored, hook.fingerprint, replay, req);
}

void idempotency_keys::start()
{
    net::co_spawn(strand_, sweep(), net::detached);
}

void idempotency_keys::stop()
{
    net::post(strand_,
              [this]
              {
                  stopping_ = true;
                  sweep_timer_.cancel();
              });
}

net::awaitable<void> idempotency_keys::sweep()
{
    while (!stopping_)
    {
        sweep_timer_.expires_after(std::chrono::hours(1));
        co_await sweep_timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (stopping_)
            break;
        auto removed =
            co_await service_.forget_idempotent_before(core::now_millis() - idempotency_lifetime_ms);
        if (!removed)
            ops::log().error("sweeping expired idempotency keys failed", {{"error", removed.error().detail}});
        else if (*removed > 0)
            ops::log().info("expired idempotency keys removed", {{"count", *removed}});
    }
}

std::string encode_answer(const http::response& r)
{
    json::array headers;
    for (const auto& [name, value] : r.headers)
        headers.push_back(json::array{name, value});
    return json::serialize(json::object{{"status", r.status},
                                        {"content_type", r.content_type},
                                        {"headers", std::move(headers)},
                                        {"body", r.body}});
}

std::optional<http::response> decode_answer(std::string_view bytes)
{
    boost::system::error_code ec;
    const json::value v = json::parse(bytes, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    const auto& o = v.get_object();
    const auto* status = o.if_contains("status");
    const auto* type = o.if_contains("content_type");
    const auto* headers = o.if_contains("headers");
    const auto* body = o.if_contains("body");
    const bool status_ok =
        status && ((status->is_int64() && status->get_int64() >= 100 && status->get_int64() <= 599) ||
                   (status->is_uint64() && status->get_uint64() >= 100 && status->get_uint64() <= 599));
    if (!status_ok || !type || !type->is_string() || !headers || !headers->is_array() || !body ||
        !body->is_string())
        return std::nullopt;
    http::response r;
    r.status = static_cast<unsigned>(status->is_int64() ? status->get_int64()
                                                        : static_cast<std::int64_t>(status->get_uint64()));
    r.content_type = std::string(type->get_string());
    for (const auto& h : headers->get_array())
    {
        if (!h.is_array() || h.get_array().size() != 2 || !h.get_array()[0].is_string() ||
            !h.get_array()[1].is_string())
            return std::nullopt;
        r.set(std::string(h.get_array()[0].get_string()), std::string(h.get_array()[1].get_string()));
    }
    r.body = std::string(body->get_string());
    return r;
}

} // namespace reqstore::api
