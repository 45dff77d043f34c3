// The result of a run: merged from every connection, printed for people on stdout and, with --json,
// written in the shape of API.md section 11.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>

#include "histogram.hpp"
#include "options.hpp"

namespace reqstore::load
{

struct correctness
{
    bool ok = true;
    bool checked = false; // false: the scenario has nothing to check beyond the statuses
    std::string detail;
};

struct summary
{
    histogram latency;                        // every counted answer, µs
    std::map<unsigned, std::uint64_t> status; // counted answers by status
    std::uint64_t requests = 0;               // counted answers
    std::uint64_t errors = 0;                 // counted transport failures
    std::uint64_t conflicts = 0;              // counted failed compare-and-swaps
    std::uint64_t acknowledged = 0;           // updates acknowledged over the whole run (warmup too)
    std::uint64_t uncertain = 0;              // updates whose answer never came
    std::uint64_t connects = 0;               // TCP connections opened, setup and checks included
    std::size_t keys = 0;
    correctness verdict;
    boost::json::object extra; // members a scenario adds (e.g. "webhooks")
};

// The JSON report: section 11's members (scenario, connections, duration_s, requests, rps,
// latency_ms {p50, p90, p99, p999, max}, status, errors, correctness {ok, detail}) and more
// (protocol, target, threads, warmup_s, rate, keys, skew, latency_ms.mean, conflicts, updates,
// and whatever `extra` holds).
boost::json::object to_json(const options& o, const summary& s);

// The human summary, several lines.
std::string to_text(const options& o, const summary& s);

// Writes `report` to `file` through a temporary file and a rename; false when that fails.
bool write_report(const std::string& file, const boost::json::object& report);

} // namespace reqstore::load
