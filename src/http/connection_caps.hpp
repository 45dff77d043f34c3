// Internal to the http module: how many connections may be open at once, over all clients and from
// one remote address, and the count of those admitted under the caps.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace reqstore::http
{

class connection_caps
{
public:
    // 0 means no cap of its own (server_limits::max_connections, max_connections_per_address).
    connection_caps(std::size_t max_connections, std::size_t max_per_address)
        : max_connections_(max_connections), max_per_address_(max_per_address)
    {
    }
    connection_caps(const connection_caps&) = delete;
    connection_caps& operator=(const connection_caps&) = delete;

    // Sets the total cap: max_connections lowered to what the open-file limit allows, keeping a
    // reserve of descriptors for the store, the webhook client and the log (a warning is logged
    // when it lowers a configured cap). Call once, before the first admit().
    void start();

    // The total cap as enforced (0 before start()); the per-address cap as configured. Thread-safe.
    std::size_t cap() const noexcept { return cap_.load(std::memory_order_relaxed); }
    std::size_t per_address_cap() const noexcept { return max_per_address_; }

    enum class verdict
    {
        admitted,
        over_total_cap,
        over_address_cap,
    };

    // Counts a new connection from `remote` against the caps and returns admitted, or says which
    // cap refuses it (then nothing is counted). An admitted connection must be given a slot at
    // once, which gives its place back. Thread-safe.
    verdict admit(const boost::asio::ip::address& remote);

    // An admitted connection's place under the caps, given back when the slot is destroyed. The
    // caps must outlive it. Movable, so that a session's coroutine frame can own it.
    class slot
    {
    public:
        slot(connection_caps& owner, boost::asio::ip::address remote) : owner_(&owner), remote_(remote) {}
        slot(slot&& other) noexcept;
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        slot& operator=(slot&&) = delete;
        ~slot();

    private:
        connection_caps* owner_; // null once moved from
        boost::asio::ip::address remote_;
    };

private:
    // Gives back what admit() counted for `remote`.
    void release(const boost::asio::ip::address& remote);

    // Constant after construction.
    const std::size_t max_connections_;
    const std::size_t max_per_address_;

    std::atomic<std::size_t> cap_{0}; // set by start(), then constant

    std::mutex mutex_; // guards admitted_ and admitted_by_address_
    std::size_t admitted_ = 0;
    std::unordered_map<boost::asio::ip::address, std::size_t> admitted_by_address_;
};

} // namespace reqstore::http
