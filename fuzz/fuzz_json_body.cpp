// Fuzzes the API's JSON body parser (core/json_body) with the production depth limit (64).
// Oracles: a refusal is malformed_json with a detail naming a byte offset inside the input; an accepted
// document respects the depth limit, holds only finite numbers, and serializes to a text that the same
// parser accepts and reads back as an equal value (what the store relies on: bodies are kept as text).
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

namespace
{

namespace json = boost::json;
using reqstore::fuzz::check;
using reqstore::fuzz::oracle_failed;

// The configuration's default limits.max_json_depth.
constexpr unsigned production_max_depth = 64;

bool all_finite(const json::value& v)
{
    if (v.is_double())
        return std::isfinite(v.get_double());
    if (const auto* array = v.if_array())
    {
        for (const auto& item : *array)
            if (!all_finite(item))
                return false;
    }
    if (const auto* object = v.if_object())
    {
        for (const auto& member : *object)
            if (!all_finite(member.value()))
                return false;
    }
    return true;
}

// "invalid JSON at byte N: ..." must name an offset within the text.
void check_refusal(const reqstore::core::failure& f, std::string_view text)
{
    check(f.code == reqstore::core::errc::malformed_json, "a refused body is malformed_json", f.detail);
    check(!f.detail.empty(), "a refusal says why");
    constexpr std::string_view prefix = "invalid JSON at byte ";
    if (!std::string_view(f.detail).starts_with(prefix))
        return;
    std::size_t offset = 0;
    const char* first = f.detail.data() + prefix.size();
    const auto [end, ec] = std::from_chars(first, f.detail.data() + f.detail.size(), offset);
    check(ec == std::errc() && end != first, "the refusal names a byte offset", f.detail);
    check(offset <= text.size(), "the offset is inside the body", f.detail);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = reqstore::core::parse_json_body(text, production_max_depth);
    if (!parsed)
    {
        check_refusal(parsed.error(), text);
        return 0;
    }
    check(reqstore::core::json_depth(*parsed) <= production_max_depth,
          "accepted documents respect max_depth");
    check(all_finite(*parsed), "accepted documents hold only finite numbers");

    const std::string serialized = json::serialize(*parsed);
    const auto reparsed = reqstore::core::parse_json_body(serialized, production_max_depth);
    if (!reparsed)
        oracle_failed("the serialization of an accepted document is accepted",
                      reparsed.error().detail + " in " + serialized);
    if (*reparsed != *parsed)
        oracle_failed("an accepted document reads back equal after serialization",
                      serialized + " read back as " + json::serialize(*reparsed));
    if (json::serialize(*reparsed) != serialized)
        oracle_failed("serialization is stable", serialized);
    return 0;
}
