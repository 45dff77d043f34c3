// The load of a torture cycle: `connections` clients, each in a closed loop of compare-and-swap
// PUTs on a few hot keys, creates of new keys and reads, every write carrying a unique write id
// ("wid" in the record), every operation recorded with its invoke and complete times.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "../load/connection.hpp"
#include "ledger.hpp"

namespace reqstore::torture
{

struct workload_options
{
    unsigned connections = 64;
    unsigned hot_keys = 16;
    double create_share = 0.15; // of operations: creates of new keys
    double read_share = 0.20;   // of operations: reads of hot keys; the rest are compare-and-swaps
    std::chrono::milliseconds timeout{5000};
    // Compare-and-swaps as merge patches (PATCH) that set the writer's mark, "by_<client>": its
    // write id, beside "wid": every version then holds the marks of all the versions before it,
    // which lets the audit see a write applied to a version it was not judged against (an update
    // lost in the record's content, invisible in version numbers and write ids). Otherwise PUTs
    // that replace the whole record.
    bool merge_patch = false;
};

// The member a client's writes set in merge-patch mode ("by_7").
std::string mark_of(unsigned client);

// The id of hot key `i` and of a created key: "req_" and 20 digits (the type's id format).
std::string hot_key(unsigned i);

// The version in an ETag header ("7" → 7), or nullopt.
std::optional<std::uint64_t> etag_version(std::string_view etag);

class workload
{
public:
    // `book` must outlive the workload. `seed` fixes every choice.
    workload(ledger& book, workload_options options, std::uint64_t seed);

    // Runs every client until stop() is called, then returns once each client's operation in flight
    // has ended (answered, failed, or cut by a crash). Client i talks to nodes[i % nodes.size()], so
    // that the contention on the hot keys crosses nodes; `nodes` must not be empty and must outlive
    // the run (a node restarted meanwhile keeps its port).
    boost::asio::awaitable<void> run(const std::vector<load::endpoint_info>& nodes);
    void stop() noexcept { stopping_ = true; }

    // The clock of every recorded time.
    static std::int64_t now_ns();

private:
    struct client_state
    {
        unsigned index = 0;
        std::uint64_t writes = 0;
        std::uint64_t creates = 0;
        std::vector<std::uint64_t> view; // the version of each hot key as this client last saw it
        std::mt19937_64 rng;
    };

    boost::asio::awaitable<void> client(client_state& state, const load::endpoint_info& where);
    boost::asio::awaitable<void> one_operation(client_state& state, load::connection& conn);

    ledger& book_;
    const workload_options options_;
    std::vector<std::unique_ptr<client_state>> clients_;
    bool stopping_ = false;
    unsigned running_ = 0;
};

} // namespace reqstore::torture
