// Unit tests for JSON Merge Patch, JSON Patch and JSON Pointer: every RFC example plus the failure cases.
#include <reqstore/core/patch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace
{

using reqstore::core::apply_json_patch;
using reqstore::core::apply_merge_patch;
using reqstore::core::errc;
using reqstore::core::escape_pointer_token;
using reqstore::core::find_pointer;

boost::json::value json(std::string_view text)
{
    return boost::json::parse(text);
}

// Applies a JSON Patch that must succeed and returns the result.
boost::json::value patched(std::string_view doc, std::string_view patch)
{
    auto result = apply_json_patch(json(doc), json(patch));
    EXPECT_TRUE(result.has_value()) << (result.has_error() ? result.error().detail : std::string());
    return result.has_value() ? *result : boost::json::value();
}

// Applies a JSON Patch that must fail with `code` at operation `index`.
void expect_failure(std::string_view doc, std::string_view patch, errc code, std::int64_t index)
{
    const auto target = json(doc);
    const auto before = target;
    auto result = apply_json_patch(target, json(patch));
    ASSERT_TRUE(result.has_error()) << "unexpectedly applied: " << *result;
    EXPECT_EQ(result.error().code, code) << result.error().detail;
    const auto* operation = result.error().extensions.if_contains("operation");
    ASSERT_NE(operation, nullptr) << result.error().detail;
    EXPECT_EQ(*operation, index) << result.error().detail;
    EXPECT_EQ(target, before);
}

// --- RFC 7396 JSON Merge Patch ---------------------------------------------------------------------------

TEST(MergePatch, AppendixATableHolds)
{
    struct row
    {
        std::string_view original, patch, result;
    };
    const std::vector<row> rows = {
        {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
        {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
        {R"({"a":"b"})", R"({"a":null})", R"({})"},
        {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
        {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
        {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
        {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
        {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
        {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
        {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
        {R"({"a":"foo"})", R"(null)", R"(null)"},
        {R"({"a":"foo"})", R"("bar")", R"("bar")"},
        {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
        {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
        {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
    };
    for (const auto& r : rows)
    {
        SCOPED_TRACE(std::string(r.original) + " + " + std::string(r.patch));
        EXPECT_EQ(apply_merge_patch(json(r.original), json(r.patch)), json(r.result));
    }
}

TEST(MergePatch, Section3ExampleHolds)
{
    const auto original = json(R"({
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged"
    })");
    const auto patch = json(R"({
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": null},
        "tags": ["example"]
    })");
    const auto expected = json(R"({
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890"
    })");
    EXPECT_EQ(apply_merge_patch(original, patch), expected);
}

TEST(MergePatch, Section1ExampleHolds)
{
    EXPECT_EQ(
        apply_merge_patch(json(R"({"a":"b","c":{"d":"e","f":"g"}})"), json(R"({"a":"z","c":{"f":null}})")),
        json(R"({"a":"z","c":{"d":"e"}})"));
}

TEST(MergePatch, TargetIsLeftUntouched)
{
    const auto target = json(R"({"a":{"b":1},"c":2})");
    const auto before = target;
    (void)apply_merge_patch(target, json(R"({"a":{"b":null},"c":null})"));
    EXPECT_EQ(target, before);
}

// --- RFC 6902 Appendix A ---------------------------------------------------------------------------------

TEST(JsonPatch, A1AddingAnObjectMemberHolds)
{
    EXPECT_EQ(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])"),
              json(R"({"baz":"qux","foo":"bar"})"));
}

TEST(JsonPatch, A2AddingAnArrayElementHolds)
{
    EXPECT_EQ(patched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])"),
              json(R"({"foo":["bar","qux","baz"]})"));
}

TEST(JsonPatch, A3RemovingAnObjectMemberHolds)
{
    EXPECT_EQ(patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])"),
              json(R"({"foo":"bar"})"));
}

TEST(JsonPatch, A4RemovingAnArrayElementHolds)
{
    EXPECT_EQ(patched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])"),
              json(R"({"foo":["bar","baz"]})"));
}

TEST(JsonPatch, A5ReplacingAValueHolds)
{
    EXPECT_EQ(patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])"),
              json(R"({"baz":"boo","foo":"bar"})"));
}

TEST(JsonPatch, A6MovingAValueHolds)
{
    EXPECT_EQ(patched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                      R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])"),
              json(R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"));
}

TEST(JsonPatch, A7MovingAnArrayElementHolds)
{
    EXPECT_EQ(patched(R"({"foo":["all","grass","cows","eat"]})",
                      R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])"),
              json(R"({"foo":["all","cows","eat","grass"]})"));
}

TEST(JsonPatch, A8TestingAValueSucceeds)
{
    const auto doc = R"({"baz":"qux","foo":["a",2,"c"]})";
    EXPECT_EQ(
        patched(doc,
                R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])"),
        json(doc));
}

TEST(JsonPatch, A9TestingAValueFails)
{
    expect_failure(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])",
                   errc::patch_test_failed, 0);
}

TEST(JsonPatch, A10AddingANestedMemberObjectHolds)
{
    EXPECT_EQ(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])"),
              json(R"({"foo":"bar","child":{"grandchild":{}}})"));
}

TEST(JsonPatch, A11UnrecognizedElementsAreIgnored)
{
    EXPECT_EQ(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])"),
              json(R"({"foo":"bar","baz":"qux"})"));
}

TEST(JsonPatch, A12AddingToANonexistentTargetFails)
{
    expect_failure(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])",
                   errc::invalid_patch_path, 0);
}

// A.13 says an operation with a later duplicate "op" cannot be treated as "add". Duplicate names are gone
// once the text is parsed (Boost.JSON keeps the last), so it is read as "remove" - never as the "add".
TEST(JsonPatch, A13DuplicateOpIsNotTreatedAsAdd)
{
    const auto patch = R"([{"op":"add","path":"/baz","value":"qux","op":"remove"}])";
    expect_failure(R"({"foo":"bar"})", patch, errc::invalid_patch_path, 0);
    EXPECT_EQ(patched(R"({"foo":"bar","baz":1})", patch), json(R"({"foo":"bar"})"));
}

TEST(JsonPatch, A14TildeEscapesAreDecodedInOrder)
{
    const auto doc = R"({"/":9,"~1":10})";
    EXPECT_EQ(patched(doc, R"([{"op":"test","path":"/~01","value":10}])"), json(doc));
}

TEST(JsonPatch, A15StringDoesNotEqualNumber)
{
    expect_failure(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])",
                   errc::patch_test_failed, 0);
}

TEST(JsonPatch, A16AddingAnArrayValueAppendsIt)
{
    EXPECT_EQ(patched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])"),
              json(R"({"foo":["bar",["abc","def"]]})"));
}

// RFC 6902 section 5: the replace is not kept when the test after it fails.
TEST(JsonPatch, Section5FailedTestUndoesEarlierOperations)
{
    expect_failure(
        R"({"a":{"b":{"c":"C"}}})",
        R"([{"op":"replace","path":"/a/b/c","value":42},{"op":"test","path":"/a/b/c","value":"C"}])",
        errc::patch_test_failed, 1);
}

// --- Atomicity and failure reports ----------------------------------------------------------------------

TEST(JsonPatch, FailureAtThirdOperationLeavesInputUnchanged)
{
    const auto target = json(R"({"a":{"b":1},"list":[1,2,3]})");
    const auto before = target;
    auto result = apply_json_patch(target, json(R"([
        {"op":"add","path":"/a/c","value":2},
        {"op":"remove","path":"/list/0"},
        {"op":"replace","path":"/a/missing","value":3},
        {"op":"add","path":"/d","value":4}
    ])"));
    ASSERT_TRUE(result.has_error());
    EXPECT_EQ(result.error().code, errc::invalid_patch_path);
    EXPECT_EQ(result.error().detail, "operation 2 (replace /a/missing): path does not exist");
    EXPECT_EQ(result.error().extensions, json(R"({"operation":2})").get_object());
    EXPECT_EQ(target, before);
}

TEST(JsonPatch, DetailNamesMoveSourceAndRoot)
{
    auto result = apply_json_patch(json(R"({"a":1})"), json(R"([{"op":"move","from":"/x","path":""}])"));
    ASSERT_TRUE(result.has_error());
    EXPECT_EQ(result.error().detail, R"(operation 0 (move "" from /x): "from" does not exist)");
}

TEST(JsonPatch, MoveIntoOwnChildIsRefusedBeforeAnythingMoves)
{
    auto result =
        apply_json_patch(json(R"({"a":{"b":{}}})"), json(R"([{"op":"move","from":"/a","path":"/a/b/c"}])"));
    ASSERT_TRUE(result.has_error());
    EXPECT_EQ(result.error().code, errc::invalid_patch_path);
    EXPECT_EQ(result.error().detail,
              "operation 0 (move /a/b/c from /a): a value cannot be moved into one of its own children");
}

TEST(JsonPatch, EmptyPatchReturnsTheTarget)
{
    EXPECT_EQ(patched(R"({"a":[1,{"b":null}]})", "[]"), json(R"({"a":[1,{"b":null}]})"));
}

// --- Malformed patch documents --------------------------------------------------------------------------

TEST(JsonPatch, PatchThatIsNotAnArrayIsMalformed)
{
    for (const auto* patch : {R"({"op":"add","path":"/a","value":1})", "null", "\"add\"", "1"})
    {
        SCOPED_TRACE(patch);
        auto result = apply_json_patch(json("{}"), json(patch));
        ASSERT_TRUE(result.has_error());
        EXPECT_EQ(result.error().code, errc::malformed_patch);
        EXPECT_TRUE(result.error().extensions.empty());
    }
}

TEST(JsonPatch, EachMalformedOperationIsReportedWithItsIndex)
{
    const std::vector<std::string_view> operations = {
        R"(["add"])",                                  // element not an object
        R"([[]])",                                     // element not an object
        R"([{"path":"/a","value":1}])",                // missing op
        R"([{"op":1,"path":"/a","value":1}])",         // op not a string
        R"([{"op":"merge","path":"/a","value":1}])",   // unknown op
        R"([{"op":"ADD","path":"/a","value":1}])",     // op names are case-sensitive
        R"([{"op":"add","value":1}])",                 // missing path
        R"([{"op":"remove","path":null}])",            // path not a string
        R"([{"op":"add","path":["a"],"value":1}])",    // path not a string
        R"([{"op":"add","path":"a","value":1}])",      // pointer not starting with '/'
        R"([{"op":"remove","path":"/a~2b"}])",         // bad ~ escape
        R"([{"op":"remove","path":"/a~"}])",           // ~ at the end
        R"([{"op":"move","path":"/b"}])",              // move without from
        R"([{"op":"copy","from":7,"path":"/b"}])",     // from not a string
        R"([{"op":"copy","from":"a","path":"/b"}])",   // from not a pointer
        R"([{"op":"move","from":"/~x","path":"/b"}])", // from with a bad escape
        R"([{"op":"add","path":"/a"}])",               // add without value
        R"([{"op":"replace","path":"/a"}])",           // replace without value
        R"([{"op":"test","path":"/a"}])",              // test without value
    };
    for (const auto operation : operations)
    {
        SCOPED_TRACE(operation);
        // Prefix a valid operation so the failing one is at index 1.
        auto patch = json(operation).as_array();
        patch.insert(patch.begin(), json(R"({"op":"test","path":"/a","value":1})"));
        expect_failure(R"({"a":1})", boost::json::serialize(patch), errc::malformed_patch, 1);
    }
}

TEST(JsonPatch, MalformedOperationIsReportedBeforeAnyIsApplied)
{
    expect_failure(R"({"a":1})", R"([{"op":"remove","path":"/missing"},{"op":"frobnicate","path":"/a"}])",
                   errc::malformed_patch, 1);
}

// --- Paths that do not fit the document -----------------------------------------------------------------

TEST(JsonPatch, PathsThatDoNotFitTheDocumentAreInvalid)
{
    struct row
    {
        std::string_view doc, patch;
    };
    const std::vector<row> rows = {
        {R"({"a":1})", R"([{"op":"remove","path":"/b"}])"},
        {R"({"a":1})", R"([{"op":"replace","path":"/b","value":2}])"},
        {R"({"a":1})", R"([{"op":"test","path":"/b","value":1}])"},
        {R"({"a":1})", R"([{"op":"remove","path":""}])"},                 // removing the root
        {R"({"a":[1,2]})", R"([{"op":"add","path":"/a/3","value":0}])"},  // index > size
        {R"({"a":[1,2]})", R"([{"op":"add","path":"/a/01","value":0}])"}, // leading zero
        {R"({"a":[1,2]})", R"([{"op":"add","path":"/a/-1","value":0}])"}, // negative
        {R"({"a":[1,2]})", R"([{"op":"add","path":"/a/x","value":0}])"},  // not a number
        {R"({"a":[1,2]})", R"([{"op":"add","path":"/a/99999999999999999999999","value":0}])"}, // overflow
        {R"({"a":[1,2]})", R"([{"op":"remove","path":"/a/2"}])"}, // index == size
        {R"({"a":[1,2]})", R"([{"op":"remove","path":"/a/-"}])"}, // "-" names nothing
        {R"({"a":[1,2]})", R"([{"op":"replace","path":"/a/-","value":0}])"},
        {R"({"a":[1,2]})", R"([{"op":"test","path":"/a/-","value":0}])"},
        {R"({"a":[1,2]})", R"([{"op":"remove","path":"/a/01"}])"},
        {R"({"a":1})", R"([{"op":"add","path":"/a/b","value":0}])"},             // parent is a number
        {R"({"a":"s"})", R"([{"op":"add","path":"/a/0","value":0}])"},           // parent is a string
        {R"({"a":{"b":{}}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])"}, // into its own child
        {R"({"a":{"b":{}}})", R"([{"op":"move","from":"","path":"/a"}])"},       // the root into a child
        {R"({"a":1})", R"([{"op":"move","from":"/x","path":"/b"}])"},            // from does not exist
        {R"({"a":1})", R"([{"op":"copy","from":"/x","path":"/b"}])"},            // from does not exist
        {R"({"a":1})", R"([{"op":"copy","from":"/a","path":"/x/y"}])"},          // no parent to copy into
    };
    for (const auto& r : rows)
    {
        SCOPED_TRACE(std::string(r.doc) + " with " + std::string(r.patch));
        expect_failure(r.doc, r.patch, errc::invalid_patch_path, 0);
    }
}

// --- Operations beyond the appendix ---------------------------------------------------------------------

TEST(JsonPatch, ReplaceAtRootReplacesTheWholeDocument)
{
    EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"replace","path":"","value":[1,2]}])"), json("[1,2]"));
}

TEST(JsonPatch, AddAtRootReplacesTheWholeDocument)
{
    EXPECT_EQ(patched(R"([1])", R"([{"op":"add","path":"","value":{"b":2}}])"), json(R"({"b":2})"));
}

TEST(JsonPatch, AddReplacesAnExistingMember)
{
    EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"add","path":"/a","value":null}])"), json(R"({"a":null})"));
}

TEST(JsonPatch, AddAtArraySizeAppends)
{
    EXPECT_EQ(
        patched(R"([1,2])", R"([{"op":"add","path":"/2","value":3},{"op":"add","path":"/-","value":4}])"),
        json("[1,2,3,4]"));
}

TEST(JsonPatch, EmptyMemberNameIsAddressable)
{
    EXPECT_EQ(patched(R"({"":{"":1}})", R"([{"op":"replace","path":"//","value":2}])"),
              json(R"({"":{"":2}})"));
}

TEST(JsonPatch, MoveOntoItselfIsANoOp)
{
    const auto doc = R"({"a":{"b":[1,2]},"c":3})";
    EXPECT_EQ(patched(doc, R"([{"op":"move","from":"/a","path":"/a"},{"op":"move","from":"","path":""}])"),
              json(doc));
}

TEST(JsonPatch, MoveToASiblingWithACommonTextPrefixHolds)
{
    // "/a" is a textual prefix of "/ab" but not a parent of it.
    EXPECT_EQ(patched(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/ab"}])"), json(R"({"ab":1})"));
}

TEST(JsonPatch, MoveReplacesTheTargetMember)
{
    EXPECT_EQ(patched(R"({"a":1,"b":2})", R"([{"op":"move","from":"/a","path":"/b"}])"), json(R"({"b":1})"));
}

TEST(JsonPatch, MoveUpOutOfAChildHolds)
{
    EXPECT_EQ(patched(R"({"a":{"b":{"c":1}}})", R"([{"op":"move","from":"/a/b","path":"/a"}])"),
              json(R"({"a":{"c":1}})"));
}

TEST(JsonPatch, CopyDuplicatesTheValue)
{
    EXPECT_EQ(patched(R"({"a":{"x":[1]},"l":[0]})",
                      R"([{"op":"copy","from":"/a","path":"/b"},{"op":"copy","from":"/l/0","path":"/l/-"},
                          {"op":"add","path":"/b/x/-","value":2}])"),
              json(R"({"a":{"x":[1]},"b":{"x":[1,2]},"l":[0,0]})"));
}

TEST(JsonPatch, CopyIntoItsOwnArrayHolds)
{
    EXPECT_EQ(patched(R"([[1],[2]])", R"([{"op":"copy","from":"/1","path":"/0"}])"), json("[[2],[1],[2]]"));
}

TEST(JsonPatch, TestComparesNumbersByValue)
{
    const auto doc = R"({"i":1,"d":1.0,"neg":-3,"big":10000000000000000000,"half":0.5,"zero":0})";
    const auto patch = R"([
        {"op":"test","path":"/i","value":1.0},
        {"op":"test","path":"/d","value":1},
        {"op":"test","path":"/neg","value":-3.0},
        {"op":"test","path":"/big","value":1e19},
        {"op":"test","path":"/half","value":5e-1},
        {"op":"test","path":"/zero","value":-0.0},
        {"op":"test","path":"",
         "value":{"zero":0,"half":0.5,"big":10000000000000000000,"neg":-3,"d":1,"i":1e0}}
    ])";
    EXPECT_EQ(patched(doc, patch), json(doc));
}

TEST(JsonPatch, TestTellsCloseNumbersApart)
{
    // 2^53 + 1 is not a double; the nearest double is 2^53.
    expect_failure(R"({"n":9007199254740993})", R"([{"op":"test","path":"/n","value":9007199254740992.0}])",
                   errc::patch_test_failed, 0);
    expect_failure(R"({"n":1})", R"([{"op":"test","path":"/n","value":1.5}])", errc::patch_test_failed, 0);
    expect_failure(R"({"n":-1})", R"([{"op":"test","path":"/n","value":18446744073709551615}])",
                   errc::patch_test_failed, 0);
    expect_failure(R"({"n":1e300})", R"([{"op":"test","path":"/n","value":9223372036854775807}])",
                   errc::patch_test_failed, 0);
}

TEST(JsonPatch, TestIgnoresMemberOrderButNotArrayOrder)
{
    const auto doc = R"({"o":{"a":1,"b":[1,2]}})";
    EXPECT_EQ(patched(doc, R"([{"op":"test","path":"/o","value":{"b":[1,2],"a":1}}])"), json(doc));
    expect_failure(doc, R"([{"op":"test","path":"/o/b","value":[2,1]}])", errc::patch_test_failed, 0);
    expect_failure(doc, R"([{"op":"test","path":"/o","value":{"a":1}}])", errc::patch_test_failed, 0);
    expect_failure(doc, R"([{"op":"test","path":"/o","value":{"a":1,"b":[1,2],"c":null}}])",
                   errc::patch_test_failed, 0);
}

TEST(JsonPatch, TestTellsLiteralsApart)
{
    expect_failure(R"({"n":null})", R"([{"op":"test","path":"/n","value":false}])", errc::patch_test_failed,
                   0);
    expect_failure(R"({"n":true})", R"([{"op":"test","path":"/n","value":1}])", errc::patch_test_failed, 0);
    expect_failure(R"({"n":0})", R"([{"op":"test","path":"/n","value":false}])", errc::patch_test_failed, 0);
    expect_failure(R"({"n":""})", R"([{"op":"test","path":"/n","value":null}])", errc::patch_test_failed, 0);
}

// --- RFC 6901 JSON Pointer ------------------------------------------------------------------------------

TEST(JsonPointer, Section5ExamplesResolve)
{
    const auto doc = json(R"({
        "foo": ["bar", "baz"],
        "": 0,
        "a/b": 1,
        "c%d": 2,
        "e^f": 3,
        "g|h": 4,
        "i\\j": 5,
        "k\"l": 6,
        " ": 7,
        "m~n": 8
    })");
    ASSERT_EQ(find_pointer(doc, ""), &doc);
    struct row
    {
        std::string_view pointer, expected;
    };
    const std::vector<row> rows = {
        {"/foo", R"(["bar", "baz"])"},
        {"/foo/0", R"("bar")"},
        {"/", "0"},
        {"/a~1b", "1"},
        {"/c%d", "2"},
        {"/e^f", "3"},
        {"/g|h", "4"},
        {"/i\\j", "5"},
        {"/k\"l", "6"},
        {"/ ", "7"},
        {"/m~0n", "8"},
    };
    for (const auto& r : rows)
    {
        SCOPED_TRACE(r.pointer);
        const auto* found = find_pointer(doc, r.pointer);
        ASSERT_NE(found, nullptr);
        EXPECT_EQ(*found, json(r.expected));
    }
}

TEST(JsonPointer, MissingOrInvalidPointersFindNothing)
{
    const auto doc = json(R"({"foo":["bar","baz"],"n":1})");
    for (const auto* pointer : {"/missing", "/foo/2", "/foo/-", "/foo/01", "/foo/-0", "/foo/+1", "/n/0",
                                "/foo/0/x", "foo", "/foo~", "/foo~2", "#/foo"})
    {
        SCOPED_TRACE(pointer);
        EXPECT_EQ(find_pointer(doc, pointer), nullptr);
    }
}

TEST(JsonPointer, EscapedTokensRoundTrip)
{
    EXPECT_EQ(escape_pointer_token("a/b"), "a~1b");
    EXPECT_EQ(escape_pointer_token("m~n"), "m~0n");
    EXPECT_EQ(escape_pointer_token("~1/"), "~01~1");
    EXPECT_EQ(escape_pointer_token(""), "");
    const auto doc = json(R"({"~1/":{"a/b":true}})");
    const auto* found =
        find_pointer(doc, "/" + escape_pointer_token("~1/") + "/" + escape_pointer_token("a/b"));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, true);
}

} // namespace
