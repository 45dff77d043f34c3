// Idempotency-Key (API.md section 8) on the native API: a repeated write gets the first answer
// replayed; the same key with another request is 422; a repeat while the first is in flight is 409.
// The answer is stored by the core in the same batch as the change it answers.
#pragma once

#include <reqstore/core/record_service.hpp>
#include <reqstore/http/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>

namespace reqstore::api
{

// How long a stored answer is replayed.
inline constexpr core::unix_millis idempotency_lifetime_ms = 24 * 3600 * 1000;

class idempotency_keys
{
public:
    // `service` must outlive this. `executor` runs the hourly sweep of expired answers.
    idempotency_keys(boost::asio::any_io_executor executor, core::record_service& service);

    // Marks the key as in flight until destroyed (the write has finished, answered or failed).
    class claim
    {
    public:
        claim(idempotency_keys& owner, std::string key) : owner_(&owner), key_(std::move(key)) {}
        claim(claim&& other) noexcept
            : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_))
        {
        }
        claim& operator=(claim&&) = delete;
        ~claim();

        const std::string& key() const noexcept { return key_; }

    private:
        idempotency_keys* owner_;
        std::string key_;
    };

    // For a write carrying Idempotency-Key: either an answer to send now (a replay, 409, 422, or
    // 400 for a malformed key), or a claim plus the hook the write must carry so that its answer
    // is stored with it. Without the header: neither (monostate).
    struct go_ahead
    {
        claim held;
        core::idempotency_hook hook;
    };
    using decision = std::variant<std::monostate, http::response, go_ahead>;

    // `answer_form` is the handler's note of how it answers this write, kept with the outcome;
    // `replay` rebuilds the answer of an earlier write from what was kept (its form, not this
    // request's). Awaited at once by the caller (req and key_id need only live until it completes).
    [[nodiscard]] boost::asio::awaitable<decision>
    begin(const http::request& req, std::string_view key_id, std::string answer_form,
          std::function<http::response(const core::kept_answer&)> replay);

    // The answer to a write whose commit the store refused because a duplicate of it, sent to
    // another node with the same key, committed first (errc::idempotency_in_flight from the core,
    // for a write that carried `hook`): the duplicate's answer replayed, or 422 when it was another
    // request. Awaited at once by the caller.
    [[nodiscard]] boost::asio::awaitable<http::response>
    answer_of_duplicate(const core::idempotency_hook& hook, const http::request& req,
                        const std::function<http::response(const core::kept_answer&)>& replay);

    // Starts the hourly sweep of answers older than the lifetime; stop() ends it.
    void start();
    void stop();

private:
    boost::asio::awaitable<void> sweep();
    void release(const std::string& key);

    core::record_service& service_;
    std::mutex mutex_; // guards in_flight_
    std::unordered_set<std::string> in_flight_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer sweep_timer_; // only on strand_
    bool stopping_ = false;                 // only on strand_
};

// The form answers were kept in before the core kept them as a kept_answer: the transport's whole
// answer. A repeat within 24 hours of an upgrade is still answered from it.
std::string encode_answer(const http::response& r);
std::optional<http::response> decode_answer(std::string_view bytes);

} // namespace reqstore::api
