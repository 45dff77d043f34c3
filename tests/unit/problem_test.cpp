// Problem documents quote request paths, which may hold any bytes: what they send must still be
// valid UTF-8, so that the body is JSON.
#include <reqstore/http/problem.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace reqstore::http
{
namespace
{

const std::string replacement = "\xEF\xBF\xBD";

TEST(ValidUtf8, WellFormedTextIsKeptAsItIs)
{
    for (const std::string text : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80",
                                   "\xED\x9F\xBF", "\xF4\x8F\xBF\xBF"})
        EXPECT_EQ(valid_utf8(text), text);
}

TEST(ValidUtf8, EveryIllFormedSequenceBecomesTheReplacementCharacter)
{
    EXPECT_EQ(valid_utf8("req_\xB0"), "req_" + replacement);      // a lone continuation byte
    EXPECT_EQ(valid_utf8("\xC3"), replacement);                   // cut short
    EXPECT_EQ(valid_utf8("\xC0\xAF"), replacement + replacement); // overlong "/"
    EXPECT_EQ(valid_utf8("\xE0\x80\xAF"), replacement + replacement + replacement); // overlong
    EXPECT_EQ(valid_utf8("\xED\xA0\x80"), replacement + replacement + replacement); // a surrogate
    EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"),
              replacement + replacement + replacement + replacement); // > U+10FFFF
    EXPECT_EQ(valid_utf8("\xFF/x"), replacement + "/x");
}

TEST(ProblemResponse, AnIllFormedPathGivesAJsonBody)
{
    const auto r =
        problem_response(core::errc::not_found, "no request with id req_\xB0", "/v1/requests/req_\xB0");
    boost::system::error_code ec;
    const auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(body.at("instance").as_string(), "/v1/requests/req_" + replacement);
}

} // namespace
} // namespace reqstore::http
