// Fuzzes the conditional request headers of core/preconditions. The input is text, one field a line, so
// that seeds read like requests:
//   If-Match: <value>            If-None-Match: <value>
//   If-Unmodified-Since: <value> If-Modified-Since: <value>
//   version: <n>   (0: the record does not exist)    updated: <unix millis>
//   write          (a write; a read otherwise)       require   (require_if_match is on)
// Oracles:
//   - entity-tag lists: a parsed list has tags (or is `*`), and written back as a list it parses to the
//     same tags; the ETag of any version parses to that one strong tag;
//   - HTTP dates: a parsed date formats to a text that parses to the same time;
//   - the evaluation follows RFC 9110 section 13.2.2: a malformed If-Match is malformed_if_match; an
//     If-Match that does not hold is 412; one that holds leaves the decision to the later steps, so it
//     is the decision without If-Match (and without If-Unmodified-Since, which it overrides); an If-Match
//     listing the current ETag never yields 412 unless If-None-Match does; If-Unmodified-Since (without
//     If-Match) is 412 when the record changed after it (in whole seconds), and otherwise leaves the
//     decision to the later steps; a matching If-None-Match
//     after a passing step 1 is 304 for reads and 412 for writes; reads never get 428, writes never 304.
#include <reqstore/core/preconditions.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

namespace
{

using namespace reqstore::core;
using reqstore::fuzz::check;
using reqstore::fuzz::oracle_failed;

struct scenario
{
    conditional_headers headers;
    current_state current;
    request_kind kind = request_kind::read;
    bool require_if_match = false;
};

std::uint64_t number(std::string_view text)
{
    std::uint64_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
}

scenario read_scenario(std::string_view input)
{
    scenario s;
    while (!input.empty())
    {
        const auto end = input.find('\n');
        std::string_view line = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
        const auto field = [&line](std::string_view name, std::optional<std::string>& into)
        {
            if (!line.starts_with(name))
                return false;
            std::string_view value = line.substr(name.size());
            if (value.starts_with(' '))
                value.remove_prefix(1);
            into = std::string(value);
            return true;
        };
        if (field("If-Match:", s.headers.if_match) || field("If-None-Match:", s.headers.if_none_match) ||
            field("If-Unmodified-Since:", s.headers.if_unmodified_since) ||
            field("If-Modified-Since:", s.headers.if_modified_since))
            continue;
        if (line.starts_with("version: "))
            s.current.version = number(line.substr(9));
        else if (line.starts_with("updated: "))
            s.current.updated_at = static_cast<unix_millis>(number(line.substr(9)) % (1ull << 50));
        else if (line == "write")
            s.kind = request_kind::write;
        else if (line == "require")
            s.require_if_match = true;
    }
    return s;
}

std::string written(const entity_tag_list& list)
{
    if (list.any)
        return "*";
    std::string out;
    for (const auto& tag : list.tags)
    {
        if (!out.empty())
            out += ", ";
        out.append(tag.weak ? "W/\"" : "\"").append(tag.opaque).append("\"");
    }
    return out;
}

void check_tag_list(const std::string& value)
{
    const auto list = parse_entity_tag_list(value);
    if (!list)
        return;
    check(list->any || !list->tags.empty(), "a parsed entity-tag list is * or has tags", value);
    const auto again = parse_entity_tag_list(written(*list));
    check(again.has_value() && again->any == list->any && again->tags.size() == list->tags.size(),
          "an entity-tag list written back parses to the same list", value);
    for (std::size_t i = 0; i < list->tags.size(); ++i)
        check(again->tags[i].opaque == list->tags[i].opaque && again->tags[i].weak == list->tags[i].weak,
              "an entity-tag list written back parses to the same tags", value);
}

void check_date(const std::string& value)
{
    const auto date = parse_http_date(value);
    if (!date)
        return;
    const auto again = parse_http_date(format_http_date(*date));
    check(again == date, "an HTTP date formats to a text that parses to the same time",
          value + " -> " + format_http_date(*date));
}

// Whether If-Match, as sent, holds for the current state (step 1 of RFC 9110 section 13.2.2).
bool if_match_holds(const entity_tag_list& list, const current_state& current)
{
    if (!current.exists())
        return false;
    if (list.any)
        return true;
    const entity_tag etag{std::to_string(current.version), false};
    for (const auto& tag : list.tags)
        if (!tag.weak && tag.opaque == etag.opaque)
            return true;
    return false;
}

bool if_none_match_matches(const entity_tag_list& list, const current_state& current)
{
    if (!current.exists())
        return false;
    if (list.any)
        return true;
    for (const auto& tag : list.tags)
        if (tag.opaque == std::to_string(current.version))
            return true;
    return false;
}

void check_evaluation(const scenario& s)
{
    const auto outcome = evaluate_preconditions(s.headers, s.current, s.kind, s.require_if_match);
    check(outcome >= precondition_outcome::proceed &&
              outcome <= precondition_outcome::malformed_if_none_match,
          "the outcome is one of the enumeration");
    if (s.kind == request_kind::read)
        check(outcome != precondition_outcome::required, "a read never needs If-Match");
    else
        check(outcome != precondition_outcome::not_modified, "a write is never answered 304");

    bool step_one_passed = true;
    if (s.headers.if_match)
    {
        const auto list = parse_entity_tag_list(*s.headers.if_match);
        if (!list)
        {
            check(outcome == precondition_outcome::malformed_if_match,
                  "a malformed If-Match is refused as such");
            return;
        }
        if (!if_match_holds(*list, s.current))
        {
            check(outcome == precondition_outcome::failed, "an If-Match that does not hold is 412");
            return;
        }
        // It holds: what follows is decided without it, and without the If-Unmodified-Since it overrides.
        scenario rest = s;
        rest.headers.if_match.reset();
        rest.headers.if_unmodified_since.reset();
        rest.require_if_match = false;
        const auto without = evaluate_preconditions(rest.headers, rest.current, rest.kind, false);
        check(outcome == without, "a holding If-Match leaves the decision to the later steps");
        if (!s.headers.if_none_match)
            check(outcome != precondition_outcome::failed,
                  "an If-Match listing the current ETag never yields 412 by itself");
    }
    else if (s.headers.if_unmodified_since && s.current.exists())
    {
        // Step 2: the record changed after the date (compared in whole seconds); an invalid date is ignored.
        const auto date = parse_http_date(*s.headers.if_unmodified_since);
        step_one_passed = !date || s.current.updated_at / 1000 * 1000 <= *date;
        if (!step_one_passed)
        {
            check(outcome == precondition_outcome::failed,
                  "a record changed since If-Unmodified-Since is 412");
            return;
        }
        // It holds: what follows is decided without it.
        scenario rest = s;
        rest.headers.if_unmodified_since.reset();
        check(outcome == evaluate_preconditions(rest.headers, rest.current, rest.kind, rest.require_if_match),
              "a holding If-Unmodified-Since leaves the decision to the later steps");
    }

    if (step_one_passed && s.headers.if_none_match)
    {
        const auto list = parse_entity_tag_list(*s.headers.if_none_match);
        if (!list)
            check(outcome == precondition_outcome::malformed_if_none_match,
                  "a malformed If-None-Match is refused as such");
        else if (if_none_match_matches(*list, s.current))
            check(outcome == (s.kind == request_kind::read ? precondition_outcome::not_modified
                                                           : precondition_outcome::failed),
                  "a matching If-None-Match is 304 for reads and 412 for writes");
    }

    if (!s.headers.if_match && !s.headers.if_none_match && !s.headers.if_unmodified_since &&
        !s.headers.if_modified_since)
    {
        const bool required = s.kind == request_kind::write && s.require_if_match && s.current.exists();
        check(outcome == (required ? precondition_outcome::required : precondition_outcome::proceed),
              "without conditional headers a request proceeds, or needs If-Match when required");
    }
}

// The brief's own example, made unconditional: add the current ETag to any If-Match that parses.
void check_listing_current_etag(const scenario& s)
{
    if (!s.current.exists() || !s.headers.if_match)
        return;
    const auto list = parse_entity_tag_list(*s.headers.if_match);
    if (!list || list->any) // `*` stands alone: it cannot be part of a list
        return;
    scenario listed = s;
    listed.headers.if_none_match.reset();
    listed.headers.if_match = *s.headers.if_match + ", " + etag_for_version(s.current.version);
    const auto outcome =
        evaluate_preconditions(listed.headers, listed.current, listed.kind, listed.require_if_match);
    if (outcome == precondition_outcome::failed || outcome == precondition_outcome::malformed_if_match)
        oracle_failed("an If-Match listing the current ETag never yields 412", *listed.headers.if_match);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const scenario s = read_scenario(std::string_view(reinterpret_cast<const char*>(data), size));

    const auto etag = parse_entity_tag_list(etag_for_version(s.current.version));
    check(etag && !etag->any && etag->tags.size() == 1 && !etag->tags[0].weak &&
              etag->tags[0].opaque == std::to_string(s.current.version),
          "the ETag of a version parses to that one strong tag");

    for (const auto* value : {&s.headers.if_match, &s.headers.if_none_match})
        if (*value)
            check_tag_list(**value);
    for (const auto* value : {&s.headers.if_unmodified_since, &s.headers.if_modified_since})
        if (*value)
            check_date(**value);
    check_evaluation(s);
    check_listing_current_etag(s);
    return 0;
}
