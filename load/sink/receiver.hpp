// reqstore-sink's routes: POST on any path outside /v1 is a webhook delivery (verified, attempted on
// its lane, then failed, recorded or delayed as the options ask); GET /stats and GET /deliveries
// read the ledger.
#pragma once

#include <reqstore/http/router.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "body_log.hpp"
#include "ledger.hpp"

namespace reqstore::sink
{

// How the receiver answers verified deliveries.
struct behaviour
{
    std::vector<std::vector<unsigned char>> keys; // a delivery verifies when any key signed it
    double fail_rate = 0;                         // this fraction answered 500 and not recorded
    double hang_rate = 0;                         // this fraction recorded, then answered after hang_for
    std::uint64_t seed = 0;                       // the fail and hang draws, in order of verification
    std::optional<unsigned> status;               // every verified delivery answered so (non-2xx: not
                                                  // recorded)
    std::chrono::seconds max_age{300};            // webhook-timestamp tolerance, past and future
    std::chrono::milliseconds hang_for{60'000};
    std::chrono::milliseconds answer_delay{0}; // every accepted delivery answered this long after
                                               // it is recorded (a hung one: at least hang_for)
    body_log* bodies = nullptr;                // every accepted delivery appended here, when set
};

class receiver
{
public:
    // `book` must outlive the receiver.
    receiver(ledger& book, behaviour how);

    // Adds the routes: "/", "/stats", "/deliveries" and every path of up to max_depth segments
    // (with or without a trailing slash). All are public. Paths under /v1 reach no handler: the
    // server asks credentials there first. The receiver must outlive `routes`.
    void add_routes(http::router& routes);

    // Ends every delayed answer at once (within 100 ms) and makes later ones answer without delay.
    // Thread-safe.
    void stop() noexcept { stopping_.store(true, std::memory_order_release); }

    static constexpr std::size_t max_depth = 16;

private:
    struct draw
    {
        bool fail = false;
        bool hang = false;
    };

    boost::asio::awaitable<http::response> deliver(http::handler_context& ctx);
    boost::asio::awaitable<http::response> stats(http::handler_context& ctx);
    boost::asio::awaitable<http::response> deliveries(http::handler_context& ctx);
    boost::asio::awaitable<void> hold(std::chrono::milliseconds how_long);
    bool verified(const http::request& req, bool& stale) const;
    draw next_draw();

    // Constant after construction.
    ledger& book_;
    const behaviour how_;

    std::mutex rng_mutex_; // guards rng_
    std::mt19937_64 rng_;

    std::atomic<bool> stopping_{false};
};

} // namespace reqstore::sink
