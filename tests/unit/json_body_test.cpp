// Unit tests for the API's JSON body parser (core/json_body): numbers read exactly, and every refusal
// with its byte offset.
#include <reqstore/core/json_body.hpp>

#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace
{

using reqstore::core::errc;
using reqstore::core::parse_json_body;

double parsed_double(std::string_view text)
{
    const auto parsed = parse_json_body(text, 64);
    EXPECT_TRUE(parsed.has_value()) << text;
    EXPECT_TRUE(parsed.has_value() && parsed->is_double()) << text;
    return parsed.has_value() && parsed->is_double() ? parsed->get_double() : 0.0;
}

// Found by fuzz_json_body: Boost.JSON 1.81 read "6e69" as 6.0000000000000004e69, so the body stored
// held a number the client never sent, and its text read back as yet another double.
TEST(JsonBody, NumbersAreTheNearestDouble)
{
    EXPECT_EQ(parsed_double("6e69"), 6e69);
    EXPECT_EQ(parsed_double("9.999999999999899E23"), 9.999999999999899E23);
    EXPECT_EQ(parsed_double("0.1"), 0.1);
    EXPECT_EQ(parsed_double("-2.2250738585072014e-308"), -2.2250738585072014e-308);
    EXPECT_EQ(parsed_double("1.7976931348623157e308"), 1.7976931348623157e308);
    EXPECT_EQ(parsed_double("18446744073709551616"), 18446744073709551616.0);
    const auto in_array = parse_json_body(R"({"a":[1.5e300,-0.0,4.35]})", 64);
    ASSERT_TRUE(in_array.has_value());
    EXPECT_EQ(in_array->at("a").at(2).get_double(), 4.35);
}

TEST(JsonBody, SerializedNumbersReadBackEqual)
{
    for (const char* text :
         {"6e69", "9.999999999999899E23", "0.30000000000000004", "5e-324", "123456789.123456789"})
    {
        const auto first = parse_json_body(text, 64);
        ASSERT_TRUE(first.has_value()) << text;
        const auto again = parse_json_body(boost::json::serialize(*first), 64);
        ASSERT_TRUE(again.has_value()) << text;
        EXPECT_EQ(*again, *first) << text << " -> " << boost::json::serialize(*first);
    }
}

TEST(JsonBody, IntegersStayIntegers)
{
    const auto parsed = parse_json_body(R"([0,-1,9223372036854775807,18446744073709551615])", 64);
    ASSERT_TRUE(parsed.has_value());
    const auto& a = parsed->as_array();
    EXPECT_TRUE(a[0].is_int64());
    EXPECT_EQ(a[1].as_int64(), -1);
    EXPECT_EQ(a[2].as_int64(), 9223372036854775807);
    EXPECT_EQ(a[3].as_uint64(), 18446744073709551615u);
}

void expect_refused(std::string_view text, std::string_view detail, unsigned depth = 64)
{
    const auto parsed = parse_json_body(text, depth);
    ASSERT_TRUE(parsed.has_error()) << text;
    EXPECT_EQ(parsed.error().code, errc::malformed_json);
    EXPECT_EQ(parsed.error().detail, detail);
}

TEST(JsonBody, RefusalsNameTheByteAndTheReason)
{
    expect_refused("", "the body is empty; a JSON value was expected");
    expect_refused("1e999", "a number in the body is out of range (beyond a double's range)");
    expect_refused("[1e999]", "a number in the body is out of range (beyond a double's range)");
    expect_refused("[1] 2", "invalid JSON at byte 4: extra data");
    expect_refused("[1,", "invalid JSON at byte 3: incomplete JSON");
    expect_refused("[\"\xff\"]", "invalid JSON at byte 2: invalid UTF-8");
    expect_refused("[[[1]]]", "invalid JSON at byte 2: too deep", 2);
}

TEST(JsonBody, AcceptsAnyValueWithinTheDepth)
{
    const auto parsed = parse_json_body(R"( {"a":{"b":[true,null,"x"]}} )", 3);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(boost::json::serialize(*parsed), R"({"a":{"b":[true,null,"x"]}})");
}

TEST(JsonBody, AMemberNameGivenTwiceIsRefusedNamingIt)
{
    for (const std::string text : {R"({"a":1,"a":2})", R"({"x":{"b":1,"c":2,"b":3}})",
                                   R"([{"k":1},{"k":2,"k":2}])", R"({"":1,"":2})", R"({"a\u0062":1,"ab":2})"})
    {
        const auto parsed = parse_json_body(text, 64);
        ASSERT_FALSE(parsed.has_value()) << text;
        EXPECT_EQ(parsed.error().code, errc::malformed_json);
        EXPECT_NE(parsed.error().detail.find("is given twice"), std::string::npos) << parsed.error().detail;
    }
}

TEST(JsonBody, TheSameNameInDifferentObjectsIsFine)
{
    const auto parsed = parse_json_body(R"({"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"a":{"a":3}}})", 64);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().detail;
}

TEST(JsonBody, ALargeObjectWithDistinctNamesIsAccepted)
{
    std::string text = "{";
    for (int i = 0; i < 5000; ++i)
        text += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":" + std::to_string(i);
    text += ",\"m17\":0}";
    EXPECT_FALSE(parse_json_body(text, 64).has_value()) << "the repeated m17 was not seen past the 16th name";
    text.resize(text.size() - std::string(",\"m17\":0}").size());
    text += "}";
    EXPECT_TRUE(parse_json_body(text, 64).has_value());
}

} // namespace
