// reqstore-sink's command line (API.md section 11).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace reqstore::sink
{

struct options
{
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;                       // 0: a free port
    std::vector<std::vector<unsigned char>> keys; // decoded --secret values, at least one
    double fail_rate = 0;                         // 0..1
    double hang_rate = 0;                         // 0..1
    std::optional<std::uint64_t> seed;            // nullopt: seeded from std::random_device
    std::optional<unsigned> status;               // --status: every delivery answered so
    std::string json_file;                        // "" for none
    std::string bodies_file;                      // --bodies: "" for none
    std::int64_t max_age_seconds = 300;           // webhook-timestamp tolerance, both ways
    unsigned answer_delay_ms = 0;                 // every accepted delivery answered this late
    unsigned threads = 2;
};

// The longest --answer-delay-ms: no longer than a hung answer (--hang-rate) waits.
constexpr unsigned max_answer_delay_ms = 60'000;

struct show_help
{
};

struct usage_error
{
    std::string message;
};

// Parses argv. Every malformed, missing or out-of-range value is a usage_error naming the option.
std::variant<options, show_help, usage_error> parse_options(int argc, char** argv);

std::string usage_text();

} // namespace reqstore::sink
