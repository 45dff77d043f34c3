// Fuzzes JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902) of core/patch on a fuzzed document and a
// fuzzed patch: the input is the document's JSON text, a NUL byte, then the patch's JSON text (a NUL can
// appear in neither, so the split is unambiguous). Both are read by the API's body parser with the
// production limits (depth 64), and JSON Patch runs with the limits record_service passes (depth 64,
// copies up to max_record_bytes, 2 MiB).
//
// Oracles, for both kinds of patch:
//   - the target document is never changed (it is const; a failing patch must leave no trace);
//   - a result serializes to a text the API's parser accepts at depth 64 and reads back equal.
// JSON Patch:
//   - a failure has one of the four documented codes, names an operation index inside the patch, and
//     is reproducible: the operations before it apply cleanly, the same failure comes back when the
//     patch is cut right after it (malformed_patch is reported before anything is applied, so there
//     only the malformation is checked);
//   - a result nests at most 64 levels and is no larger than document + patch + the copy allowance; the
//     same holds with small limits (depth 8, 256 bytes of copies), which small inputs can reach, and
//     what those allow the production limits give too.
// Merge patch: applying the same patch twice gives the same result as once (RFC 7396 is idempotent).
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

namespace
{

namespace json = boost::json;
using reqstore::core::errc;
using reqstore::fuzz::check;
using reqstore::fuzz::oracle_failed;

constexpr unsigned production_max_depth = 64;
constexpr std::size_t production_max_record_bytes = 2 * 1024 * 1024;
constexpr reqstore::core::json_patch_limits production_limits{production_max_depth,
                                                              production_max_record_bytes};

// The result must be storable: its text must come back through the API's parser unchanged.
void check_round_trip(const json::value& result, std::string_view what)
{
    const std::string text = json::serialize(result);
    const auto reparsed = reqstore::core::parse_json_body(text, production_max_depth);
    if (!reparsed)
        oracle_failed(std::string(what) + ": the result is accepted by the body parser",
                      reparsed.error().detail);
    if (*reparsed != result)
        oracle_failed(std::string(what) + ": the result reads back equal", text);
}

json::array first_operations(const json::array& operations, std::size_t count)
{
    return json::array(operations.begin(), operations.begin() + static_cast<std::ptrdiff_t>(count));
}

// Small limits that small inputs can reach: what they allow nests no deeper than the limit (or the
// document already did) and grows by no more than the patch and the copy allowance; and limits only
// refuse, so what they allow is what the production limits give too.
void check_tight_limits(const json::value& document, const json::value& patch,
                        const reqstore::core::result<json::value>& with_production_limits)
{
    constexpr reqstore::core::json_patch_limits tight{8, 256};
    const auto result = reqstore::core::apply_json_patch(document, patch, tight);
    if (!result)
        return;
    check(reqstore::core::json_depth(*result) <=
              std::max(tight.max_depth, reqstore::core::json_depth(document)),
          "a patched document nests no deeper than max_depth, or the document did");
    check(json::serialize(*result).size() <=
              json::serialize(document).size() + json::serialize(patch).size() + tight.max_copied_bytes,
          "a patched document grows by at most the patch and the copy allowance");
    check(with_production_limits.has_value() && *with_production_limits == *result,
          "limits only refuse: what small limits allow, larger ones give the same");
}

void check_json_patch(const json::value& document, const json::value& patch)
{
    const json::value before = document;
    const auto result = reqstore::core::apply_json_patch(document, patch, production_limits);
    check(document == before, "JSON Patch never changes its target");
    check_tight_limits(document, patch, result);

    if (result)
    {
        check(reqstore::core::json_depth(*result) <= production_max_depth,
              "a patched document nests at most max_depth levels");
        const std::size_t bound = json::serialize(document).size() + json::serialize(patch).size() +
                                  production_limits.max_copied_bytes;
        check(json::serialize(*result).size() <= bound,
              "a patched document grows by at most the patch and the copy allowance");
        check_round_trip(*result, "JSON Patch");
        return;
    }

    const auto& f = result.error();
    check(f.code == errc::malformed_patch || f.code == errc::invalid_patch_path ||
              f.code == errc::patch_test_failed || f.code == errc::record_too_large,
          "a JSON Patch failure has a documented code", f.detail);
    check(!f.detail.empty(), "a JSON Patch failure says why");
    const auto* operations = patch.if_array();
    const auto* index_value = f.extensions.if_contains("operation");
    if (!operations)
    {
        check(f.code == errc::malformed_patch && !index_value, "a patch that is not an array is malformed",
              f.detail);
        return;
    }
    check(index_value && index_value->is_int64(), "a failure names its operation", f.detail);
    const auto index = index_value->get_int64();
    check(index >= 0 && static_cast<std::size_t>(index) < operations->size(),
          "the failing operation is in the patch", f.detail);
    const auto failing = static_cast<std::size_t>(index);

    // Cut right after the failing operation, the patch fails the same way.
    const auto cut = reqstore::core::apply_json_patch(document, first_operations(*operations, failing + 1),
                                                      production_limits);
    if (cut.has_value() || cut.error().code != f.code || cut.error().detail != f.detail ||
        cut.error().extensions != f.extensions)
        oracle_failed("a JSON Patch failure does not depend on the operations after it", f.detail);

    // The operations before it apply (a malformation is found before anything is applied, so the
    // operations before a malformed one only have to be well-formed).
    const auto prefix =
        reqstore::core::apply_json_patch(document, first_operations(*operations, failing), production_limits);
    if (f.code == errc::malformed_patch)
    {
        if (!prefix && prefix.error().code == errc::malformed_patch)
            oracle_failed("malformed_patch names the first malformed operation", prefix.error().detail);
    }
    else if (!prefix)
        oracle_failed("the operations before the failing one apply", prefix.error().detail);
}

void check_merge_patch(const json::value& document, const json::value& patch)
{
    const json::value before = document;
    const json::value merged = reqstore::core::apply_merge_patch(document, patch);
    check(document == before, "merge patch never changes its target");
    if (!patch.is_object())
        check(merged == patch, "a merge patch that is not an object replaces the document");
    check(reqstore::core::apply_merge_patch(merged, patch) == merged, "merge patch is idempotent");
    // A merge result nests no deeper than the deeper of its target and patch: the API's parser, which
    // read both, must take it back.
    check_round_trip(merged, "merge patch");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto split = input.find('\0');
    if (split == std::string_view::npos)
        return 0;
    const auto document = reqstore::core::parse_json_body(input.substr(0, split), production_max_depth);
    const auto patch = reqstore::core::parse_json_body(input.substr(split + 1), production_max_depth);
    if (!document || !patch)
        return 0;
    check_json_patch(*document, *patch);
    check_merge_patch(*document, *patch);
    return 0;
}
