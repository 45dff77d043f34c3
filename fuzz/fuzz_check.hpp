// The oracles' way to report: a broken property prints what was expected and aborts, which libFuzzer
// records as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace reqstore::fuzz
{

[[noreturn]] inline void oracle_failed(std::string_view property, std::string_view detail = {})
{
    std::fprintf(stderr, "==oracle== %.*s\n", static_cast<int>(property.size()), property.data());
    if (!detail.empty())
        std::fprintf(stderr, "==oracle== %.*s\n", static_cast<int>(detail.size()), detail.data());
    std::fflush(stderr);
    std::abort();
}

inline void check(bool holds, std::string_view property, std::string_view detail = {})
{
    if (!holds)
        oracle_failed(property, detail);
}

} // namespace reqstore::fuzz
