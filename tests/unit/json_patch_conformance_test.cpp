// The JSON Patch conformance suite (npm json-patch-test-suite 1.1.0, tests/data/json-patch-tests/): every
// entry of tests.json and spec_tests.json through reqstore's body parser and RFC 6902 implementation, with
// the limits the API applies (max_json_depth 64, max_record_bytes 2 MiB). Entries the suite marks
// "disabled" are run too: they are all meaningful for RFC 6902.
//
// Two entries are about the JSON text rather than the patch: an operation object with two "op" members
// (tests.json "duplicate ops", spec_tests.json "A.13 Invalid JSON Patch Document"). Once parsed only one
// "op" is left (Boost.JSON keeps the last), so they are run from their text through the body parser,
// which refuses a member name given twice: both fail, as they must, before anything is applied.
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#ifndef REQSTORE_JSON_PATCH_TESTS_DIR
#error "REQSTORE_JSON_PATCH_TESTS_DIR must name tests/data/json-patch-tests"
#endif

namespace
{

namespace json = boost::json;

// The limits record_service applies to a JSON Patch (config defaults: limits.max_json_depth,
// limits.max_record_bytes).
constexpr unsigned production_max_depth = 64;
constexpr std::size_t production_max_record_bytes = 2 * 1024 * 1024;

struct suite_entry
{
    std::string name; // the gtest parameter name: file and index
    json::object record;
};

std::vector<suite_entry> load(const std::string& file, const std::string& prefix)
{
    std::ifstream in(std::string(REQSTORE_JSON_PATCH_TESTS_DIR) + "/" + file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<suite_entry> entries;
    boost::system::error_code ec;
    const json::value parsed = json::parse(text.str(), ec);
    if (ec || !parsed.is_array())
    {
        // An empty list would make the suite pass vacuously: a bogus entry fails instead.
        entries.push_back({prefix + "unreadable", json::object{{"comment", "cannot read " + file}}});
        return entries;
    }
    const auto& records = parsed.get_array();
    for (std::size_t i = 0; i < records.size(); ++i)
        entries.push_back({prefix + std::to_string(i), records[i].as_object()});
    return entries;
}

std::vector<suite_entry> all_entries()
{
    auto entries = load("tests.json", "tests_");
    auto spec = load("spec_tests.json", "spec_tests_");
    entries.insert(entries.end(), spec.begin(), spec.end());
    return entries;
}

// A JSON value as a client would send it: serialized, then read by the API's body parser.
reqstore::core::result<json::value> as_sent(const json::value& v)
{
    return reqstore::core::parse_json_body(json::serialize(v), production_max_depth);
}

// The patches of the two entries with duplicate member names, as the suite files spell them.
const std::string* duplicate_op_text(const json::object& record)
{
    static const std::string duplicate_ops =
        R"([ { "op": "add", "path": "/baz", "value": "qux", "op": "move", "from":"/foo" } ])";
    static const std::string spec_a13 =
        R"([ { "op": "add", "path": "/baz", "value": "qux", "op": "remove" } ])";
    const auto* comment = record.if_contains("comment");
    if (!comment || !comment->is_string())
        return nullptr;
    if (comment->get_string() == "duplicate ops")
        return &duplicate_ops;
    if (comment->get_string() == "A.13 Invalid JSON Patch Document")
        return &spec_a13;
    return nullptr;
}

// Names the entry in gtest's messages instead of dumping its bytes.
void PrintTo(const suite_entry& entry, std::ostream* out)
{
    *out << entry.name;
}

class JsonPatchConformance : public testing::TestWithParam<suite_entry>
{
};

TEST_P(JsonPatchConformance, EntryHolds)
{
    const json::object& record = GetParam().record;
    const auto* comment = record.if_contains("comment");
    SCOPED_TRACE(comment ? json::serialize(*comment) : std::string("(no comment)"));
    if (!record.contains("doc") && !record.contains("patch"))
    {
        // The suite allows records that are only a comment; anything else is a broken suite file.
        ASSERT_EQ(record.size(), 1u) << json::serialize(record);
        GTEST_SKIP() << "a comment-only record";
    }
    ASSERT_TRUE(record.contains("doc") && record.contains("patch")) << json::serialize(record);

    const auto doc = as_sent(record.at("doc"));
    ASSERT_TRUE(doc.has_value()) << doc.error().detail;
    const std::string* duplicate_text = duplicate_op_text(record);
    const auto patch = duplicate_text ? reqstore::core::parse_json_body(*duplicate_text, production_max_depth)
                                      : as_sent(record.at("patch"));
    if (duplicate_text)
    {
        ASSERT_TRUE(patch.has_error()) << "a patch with two \"op\" members was read as one operation";
        EXPECT_NE(patch.error().detail.find("given twice"), std::string::npos) << patch.error().detail;
        return; // refused as a malformed body: nothing was applied
    }
    ASSERT_TRUE(patch.has_value()) << patch.error().detail;
    const json::value before = *doc;

    const auto result = reqstore::core::apply_json_patch(
        *doc, *patch, reqstore::core::json_patch_limits{production_max_depth, production_max_record_bytes});

    EXPECT_EQ(*doc, before) << "the target document changed";
    if (const auto* error = record.if_contains("error"))
    {
        EXPECT_TRUE(result.has_error())
            << "expected the error " << json::serialize(*error) << ", got " << json::serialize(*result);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().detail;
    if (const auto* expected = record.if_contains("expected"))
    {
        EXPECT_EQ(*result, *expected)
            << "got " << json::serialize(*result) << ", expected " << json::serialize(*expected);
    }
}

INSTANTIATE_TEST_SUITE_P(Suite, JsonPatchConformance, testing::ValuesIn(all_entries()),
                         [](const testing::TestParamInfo<suite_entry>& entry) { return entry.param.name; });

} // namespace
