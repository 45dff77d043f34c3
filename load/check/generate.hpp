// A synthetic history generator: a simulated, correct (linearizable and durable) reqstore under a
// compare-and-swap load with crashes, for measuring reqstore-check and for the checkers' tests.
#pragma once

#include <cstdint>
#include <iosfwd>

namespace reqstore::check
{

struct generate_options
{
    std::size_t ops = 100'000;   // operations to record (a few more: those in flight finish)
    std::uint64_t seed = 1;      // the same seed writes the same history
    unsigned processes = 64;     // concurrent clients
    unsigned hot_keys = 16;      // records every client reads and compare-and-swaps
    unsigned crashes = 10;       // spread evenly over the run; every other one is a power loss
    double unknown_rate = 0.005; // operations that time out (taking effect or not)
};

// Writes a history in reqstore-check's format to `out`: ops (creates, reads of hot, created and
// absent keys, compare-and-swaps from each client's last known version, some failing with 412 or
// 409), crashes whose in-flight operations end with outcome unknown (each took effect or not),
// restarts, and a final line for every key.
void generate_history(std::ostream& out, const generate_options& options);

} // namespace reqstore::check
