// Entity-tag parsing and the RFC 9110 precondition evaluation order.
#include <reqstore/core/preconditions.hpp>

namespace reqstore::core
{
namespace
{

bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

std::optional<entity_tag> parse_one_tag(std::string_view s, std::size_t& pos)
{
    entity_tag tag;
    if (s.substr(pos, 2) == "W/")
    {
        tag.weak = true;
        pos += 2;
    }
    if (pos >= s.size() || s[pos] != '"')
        return std::nullopt;
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] != '"')
    {
        if (!is_etagc(static_cast<unsigned char>(s[pos])))
            return std::nullopt;
        ++pos;
    }
    if (pos >= s.size())
        return std::nullopt;
    tag.opaque.assign(s.substr(start, pos - start));
    ++pos; // closing quote
    return tag;
}

bool matches_any(const entity_tag_list& list, std::uint64_t version, bool strong)
{
    if (list.any)
        return true;
    const entity_tag current{std::to_string(version), false};
    for (const auto& tag : list.tags)
        if (strong ? strong_match(tag, current) : weak_match(tag, current))
            return true;
    return false;
}

} // namespace

std::optional<entity_tag_list> parse_entity_tag_list(std::string_view s)
{
    std::size_t pos = 0;
    while (pos < s.size() && is_ows(s[pos]))
        ++pos;
    std::size_t end = s.size();
    while (end > pos && is_ows(s[end - 1]))
        --end;
    s = s.substr(0, end);
    entity_tag_list list;
    if (s.substr(pos) == "*")
    {
        list.any = true;
        return list;
    }
    // #element: elements separated by commas with optional whitespace; empty elements allowed.
    while (pos < s.size())
    {
        if (s[pos] == ',' || is_ows(s[pos]))
        {
            ++pos;
            continue;
        }
        auto tag = parse_one_tag(s, pos);
        if (!tag)
            return std::nullopt;
        list.tags.push_back(std::move(*tag));
        while (pos < s.size() && is_ows(s[pos]))
            ++pos;
        if (pos < s.size() && s[pos] != ',')
            return std::nullopt;
    }
    if (list.tags.empty())
        return std::nullopt;
    return list;
}

std::string etag_for_version(std::uint64_t version)
{
    std::string out;
    out.reserve(22);
    out.push_back('"');
    out += std::to_string(version);
    out.push_back('"');
    return out;
}

bool strong_match(const entity_tag& a, const entity_tag& b) noexcept
{
    return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool weak_match(const entity_tag& a, const entity_tag& b) noexcept
{
    return a.opaque == b.opaque;
}

precondition_outcome evaluate_preconditions(const conditional_headers& h, const current_state& current,
                                            request_kind kind, bool require_if_match)
{
    // Step 1: If-Match, else step 2: If-Unmodified-Since.
    if (h.if_match)
    {
        const auto list = parse_entity_tag_list(*h.if_match);
        if (!list)
            return precondition_outcome::malformed_if_match;
        if (!current.exists() || !matches_any(*list, current.version, true))
            return precondition_outcome::failed;
    }
    else
    {
        if (h.if_unmodified_since && current.exists())
        {
            // An invalid date is ignored (RFC 9110 section 13.1.4).
            if (const auto date = parse_http_date(*h.if_unmodified_since))
                if (current.updated_at / 1000 * 1000 > *date)
                    return precondition_outcome::failed;
        }
    }
    // Step 3: If-None-Match, else step 4 (reads only): If-Modified-Since.
    if (h.if_none_match)
    {
        const auto list = parse_entity_tag_list(*h.if_none_match);
        if (!list)
            return precondition_outcome::malformed_if_none_match;
        if (current.exists() && matches_any(*list, current.version, false))
            return kind == request_kind::read ? precondition_outcome::not_modified
                                              : precondition_outcome::failed;
    }
    else if (kind == request_kind::read && h.if_modified_since && current.exists())
    {
        if (const auto date = parse_http_date(*h.if_modified_since))
            if (current.updated_at / 1000 * 1000 <= *date)
                return precondition_outcome::not_modified;
    }
    // Checked last, so that a precondition the client did send and that fails (If-None-Match: *
    // on an existing record, say) is answered 412 rather than 428.
    if (!h.if_match && kind == request_kind::write && require_if_match && current.exists())
        return precondition_outcome::required;
    return precondition_outcome::proceed;
}

} // namespace reqstore::core
