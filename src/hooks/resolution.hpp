// Internal to hooks: resolving a webhook target within the attempt's deadline, and keeping only the
// addresses the network policy permits: the only ones the client ever connects to.
#pragma once

#include <reqstore/hooks/network_policy.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace reqstore::hooks::outbound
{

struct resolution
{
    bool timed_out = false;                                // the deadline passed first
    boost::system::error_code ec;                          // the lookup failed
    std::vector<boost::asio::ip::tcp::endpoint> permitted; // in the resolver's order
    std::string refused; // "addr (reason), ..." for each address the policy refused
};

// Resolves host:port (a numeric port), giving up at `deadline`, and sorts the addresses by
// `policy`. The system resolver cannot be interrupted, so a late lookup runs on and its answer is
// dropped. Must run on a strand, which serialises the lookup's handler with this coroutine.
boost::asio::awaitable<resolution> resolve_permitted(const std::string& host, const std::string& port,
                                                     std::chrono::steady_clock::time_point deadline,
                                                     const network_policy& policy);

} // namespace reqstore::hooks::outbound
