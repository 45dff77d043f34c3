// Record ids: the three formats a type may choose (API.md section 0), generated and checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace reqstore::core
{

enum class id_format
{
    prefixed, // prefix + Crockford base32: 10 chars of creation millis, 10 random
    uuid,     // RFC 9562 version 7, lower-case
    numeric,  // decimal, 1 to 19 digits, no leading zero
};

// Generates a new id. Unique with overwhelming probability, never reused by construction:
// creation still commits only if the id is absent (the store's compare-and-swap).
// Thread-safe.
std::string generate_id(id_format format, std::string_view prefix);

// A random, non-zero tag for a new version (stored_version::tag in record_store.hpp): with the
// version number it names one exact commit. Thread-safe.
std::uint64_t new_version_tag();

// Whether `id` fits the format (and prefix, for `prefixed`). See docs/API.md for the
// accepted lengths: wider than what generate_id makes, so that seed-document ids fit.
bool id_fits(id_format format, std::string_view prefix, std::string_view id) noexcept;

// Whether `text` is 8-4-4-4-12 hexadecimal digits; with `lower_case_only`, no A-F.
bool is_uuid_text(std::string_view text, bool lower_case_only) noexcept;

} // namespace reqstore::core
