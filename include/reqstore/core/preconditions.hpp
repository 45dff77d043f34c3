// Conditional requests (RFC 9110 section 13): entity-tag lists, their comparison, and the
// order in which a server evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since.
#pragma once

#include <reqstore/core/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

struct entity_tag
{
    std::string opaque; // the characters between the quotes
    bool weak = false;
};

// An If-Match or If-None-Match field value: `*` or a list of entity-tags.
struct entity_tag_list
{
    bool any = false; // the value was `*`
    std::vector<entity_tag> tags;
};

// Parses `*` or `#entity-tag` (RFC 9110 section 8.8.3), empty list elements allowed.
// Returns nullopt for anything else, such as a bare `3` or an unterminated quote.
std::optional<entity_tag_list> parse_entity_tag_list(std::string_view field_value);

// The ETag of a record version: `"<version>"`, quotes included.
std::string etag_for_version(std::uint64_t version);

// Strong comparison: both strong and the same opaque string.
bool strong_match(const entity_tag& a, const entity_tag& b) noexcept;
// Weak comparison: the same opaque string, weakness ignored.
bool weak_match(const entity_tag& a, const entity_tag& b) noexcept;

// The conditional header fields of one request, as sent (absent = nullopt).
struct conditional_headers
{
    std::optional<std::string> if_match;
    std::optional<std::string> if_none_match;
    std::optional<std::string> if_unmodified_since;
    std::optional<std::string> if_modified_since;
};

// What the target resource looks like now: nothing, or a version with its last change time.
struct current_state
{
    std::uint64_t version = 0; // 0 = the record does not exist
    unix_millis updated_at = 0;
    bool exists() const noexcept { return version != 0; }
};

enum class precondition_outcome
{
    proceed,
    not_modified,           // 304: only for reads
    failed,                 // 412
    required,               // 428: require_if_match is on and no If-Match was sent
    malformed_if_match,     // 400: If-Match is not a valid entity-tag list
    malformed_if_none_match // 400: If-None-Match is not a valid entity-tag list
};

enum class request_kind
{
    read,  // GET, HEAD
    write, // PUT, PATCH, DELETE, POST on an existing resource
};

// Evaluates the preconditions in the order of RFC 9110 section 13.2.2:
// If-Match, else If-Unmodified-Since; then If-None-Match, else (reads only) If-Modified-Since.
// require_if_match applies to writes of an existing resource without If-Match, once every
// precondition that was sent has held.
precondition_outcome evaluate_preconditions(const conditional_headers& headers, const current_state& current,
                                            request_kind kind, bool require_if_match);

} // namespace reqstore::core
