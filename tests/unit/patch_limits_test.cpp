// Unit tests for the growth limits of JSON Patch (patch.hpp): json_depth, and apply_json_patch refusing with
// errc::record_too_large an operation that would nest too deep or copy too many bytes.
#include <reqstore/core/patch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace
{

namespace json = boost::json;
using reqstore::core::apply_json_patch;
using reqstore::core::errc;
using reqstore::core::json_depth;
using reqstore::core::json_patch_limits;

unsigned depth_of(std::string_view text)
{
    return json_depth(json::parse(text));
}

// The outcome of a patch as "ok: <document>" or "<errc number> [operation n]: detail".
std::string outcome(std::string_view target, std::string_view patch, const json_patch_limits& limits)
{
    const auto r = apply_json_patch(json::parse(target), json::parse(patch), limits);
    if (r)
        return "ok: " + json::serialize(*r);
    std::string out = r.error().code == errc::record_too_large
                          ? "record_too_large"
                          : "errc " + std::to_string(int(r.error().code));
    if (const auto* op = r.error().extensions.if_contains("operation"))
        out += " [operation " + json::serialize(*op) + "]";
    return out + ": " + r.error().detail;
}

json_patch_limits depth_limit(unsigned depth)
{
    json_patch_limits l;
    l.max_depth = depth;
    return l;
}

json_patch_limits copy_limit(std::size_t bytes)
{
    json_patch_limits l;
    l.max_copied_bytes = bytes;
    return l;
}

// --- json_depth ------------------------------------------------------------------------------------------

TEST(JsonDepth, ScalarsAreZero)
{
    EXPECT_EQ(depth_of("1"), 0u);
    EXPECT_EQ(depth_of("\"s\""), 0u);
    EXPECT_EQ(depth_of("null"), 0u);
    EXPECT_EQ(depth_of("true"), 0u);
}

TEST(JsonDepth, EmptyContainersAreOne)
{
    EXPECT_EQ(depth_of("[]"), 1u);
    EXPECT_EQ(depth_of("{}"), 1u);
    EXPECT_EQ(depth_of("[1, \"a\", null]"), 1u);
    EXPECT_EQ(depth_of(R"({"a": 1, "b": "c"})"), 1u);
}

TEST(JsonDepth, CountsTheDeepestBranch)
{
    EXPECT_EQ(depth_of("[[]]"), 2u);
    EXPECT_EQ(depth_of(R"({"a": {"b": [1]}})"), 3u);
    EXPECT_EQ(depth_of(R"({"shallow": 1, "deep": [[[[]]]], "middle": {"x": {}}})"), 5u);
    EXPECT_EQ(depth_of(R"([{}, [[{}]], 3])"), 4u);
}

// --- depth -----------------------------------------------------------------------------------------------

TEST(JsonPatchLimits, AddUpToTheDepthIsAccepted)
{
    EXPECT_EQ(outcome("{}", R"([{"op": "add", "path": "/a", "value": {"b": {}}}])", depth_limit(3)),
              R"(ok: {"a":{"b":{}}})");
}

TEST(JsonPatchLimits, AddPastTheDepthIsRecordTooLarge)
{
    EXPECT_EQ(
        outcome("{}", R"([{"op": "add", "path": "/a", "value": {"b": {"c": {}}}}])", depth_limit(3)),
        "record_too_large [operation 0]: operation 0 (add /a): the result would nest deeper than 3 levels");
}

TEST(JsonPatchLimits, DepthCountsThePathTheValueIsAddedAt)
{
    EXPECT_EQ(
        outcome(R"({"a": {"b": {}}})", R"([{"op": "add", "path": "/a/b/c", "value": 1}])", depth_limit(3)),
        R"(ok: {"a":{"b":{"c":1}}})");
    EXPECT_EQ(
        outcome(R"({"a": {"b": {}}})", R"([{"op": "add", "path": "/a/b/c", "value": []}])", depth_limit(3)),
        "record_too_large [operation 0]: operation 0 (add /a/b/c): the result would nest deeper than 3 "
        "levels");
}

TEST(JsonPatchLimits, ReplaceCopyAndMoveAreJudgedToo)
{
    const std::string target = R"({"deep": {"x": {}}, "box": {"inner": {}}})"; // depth 3
    EXPECT_EQ(
        outcome(target, R"([{"op": "replace", "path": "/box/inner", "value": {"y": {}}}])", depth_limit(3)),
        "record_too_large [operation 0]: operation 0 (replace /box/inner): the result would nest deeper than "
        "3 "
        "levels");
    EXPECT_EQ(
        outcome(target, R"([{"op": "copy", "from": "/deep", "path": "/box/inner/d"}])", depth_limit(3)),
        "record_too_large [operation 0]: operation 0 (copy /box/inner/d from /deep): the result would nest "
        "deeper than 3 levels");
    EXPECT_EQ(
        outcome(target, R"([{"op": "move", "from": "/deep", "path": "/box/inner/d"}])", depth_limit(3)),
        "record_too_large [operation 0]: operation 0 (move /box/inner/d from /deep): the result would nest "
        "deeper than 3 levels");
}

TEST(JsonPatchLimits, NamesTheOperationThatGoesTooDeep)
{
    EXPECT_EQ(outcome("{}",
                      R"([{"op": "add", "path": "/a", "value": {}},
                          {"op": "add", "path": "/a/b", "value": {}},
                          {"op": "add", "path": "/a/b/c", "value": {}}])",
                      depth_limit(3)),
              "record_too_large [operation 2]: operation 2 (add /a/b/c): the result would nest deeper than 3 "
              "levels");
}

TEST(JsonPatchLimits, RemoveAndTestAreNeverTooDeep)
{
    EXPECT_EQ(
        outcome(
            R"({"a": {"b": {"c": {}}}})",
            R"([{"op": "test", "path": "/a", "value": {"b": {"c": {}}}}, {"op": "remove", "path": "/a/b"}])",
            depth_limit(2)),
        R"(ok: {"a":{}})");
}

// --- copied bytes ----------------------------------------------------------------------------------------

TEST(JsonPatchLimits, CopiesUpToTheLimitAreAccepted)
{
    // "xxxxxxxx" serializes to 10 bytes: two copies are 20.
    EXPECT_EQ(
        outcome(R"({"s": "xxxxxxxx"})",
                R"([{"op": "copy", "from": "/s", "path": "/a"}, {"op": "copy", "from": "/s", "path": "/b"}])",
                copy_limit(20)),
        R"(ok: {"s":"xxxxxxxx","a":"xxxxxxxx","b":"xxxxxxxx"})");
}

TEST(JsonPatchLimits, CopiesPastTheLimitAreRecordTooLarge)
{
    EXPECT_EQ(
        outcome(R"({"s": "xxxxxxxx"})",
                R"([{"op": "copy", "from": "/s", "path": "/a"},
                          {"op": "copy", "from": "/s", "path": "/b"},
                          {"op": "copy", "from": "/s", "path": "/c"}])",
                copy_limit(25)),
        "record_too_large [operation 2]: operation 2 (copy /c from /s): the copies would make the document "
        "larger than 25 bytes");
}

TEST(JsonPatchLimits, CopyingADocumentIntoItselfIsStopped)
{
    // Each copy doubles /m: without the limit, a few operations would make it enormous.
    std::string patch = "[";
    for (int i = 0; i < 40; ++i)
        patch += std::string(i ? "," : "") + R"({"op": "copy", "from": "/m", "path": "/m/c)" +
                 std::to_string(i) + "\"}";
    patch += "]";
    const auto r = apply_json_patch(json::parse(R"({"m": {"seed": "0123456789"}})"), json::parse(patch),
                                    copy_limit(1 << 16));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::record_too_large);
    const auto index = r.error().extensions.at("operation").to_number<int>();
    EXPECT_GT(index, 5);
    EXPECT_LT(index, 20);
}

TEST(JsonPatchLimits, AddAndMoveDoNotCountAsCopiedBytes)
{
    EXPECT_EQ(
        outcome(R"({"s": "xxxxxxxx"})",
                R"([{"op": "add", "path": "/a", "value": "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"},
                          {"op": "move", "from": "/s", "path": "/b"}])",
                copy_limit(5)),
        R"(ok: {"a":"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy","b":"xxxxxxxx"})");
}

TEST(JsonPatchLimits, RefusedPatchLeavesTheTargetUntouched)
{
    const json::value target = json::parse(R"({"s": "xxxxxxxx"})");
    const json::value before = target;
    const auto r = apply_json_patch(
        target,
        json::parse(
            R"([{"op": "copy", "from": "/s", "path": "/a"}, {"op": "copy", "from": "/s", "path": "/b"}])"),
        copy_limit(15));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::record_too_large);
    EXPECT_EQ(target, before);
}

TEST(JsonPatchLimits, DefaultLimitsAllowDeepAndLargePatches)
{
    std::string nested = "1";
    for (int i = 0; i < 200; ++i)
        nested = "[" + nested + "]";
    json::parse_options deep;
    deep.max_depth = 1000;
    const auto r =
        apply_json_patch(json::parse("{}"),
                         json::parse(R"([{"op": "add", "path": "/a", "value": )" + nested + "}]", {}, deep));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(json_depth(*r), 201u);
}

} // namespace
