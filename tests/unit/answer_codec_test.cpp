// Unit tests for the stored form of an idempotent answer (api/idempotency.hpp): encode_answer and
// decode_answer round trip status, content type, headers in order and the body; anything else decodes to
// nothing.
#include <reqstore/api/idempotency.hpp>
#include <reqstore/http/message.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace
{

using reqstore::api::decode_answer;
using reqstore::api::encode_answer;
using reqstore::http::response;

using header_list = std::vector<std::pair<std::string, std::string>>;

void expect_same(const response& actual, const response& expected)
{
    EXPECT_EQ(actual.status, expected.status);
    EXPECT_EQ(actual.content_type, expected.content_type);
    EXPECT_EQ(actual.headers, expected.headers);
    EXPECT_EQ(actual.body, expected.body);
}

TEST(AnswerCodec, RoundTripsACreatedAnswer)
{
    response r;
    r.status = 201;
    r.content_type = "application/json";
    r.set("Location", "/v1/requests/req_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    r.set("ETag", "\"1\"");
    r.body = R"({"id":"req_01ARZ3NDEKTSV4RRFFQ69G5FAV","status":"pending","version":1})";
    const auto decoded = decode_answer(encode_answer(r));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, r);
}

TEST(AnswerCodec, KeepsRepeatedHeadersInOrder)
{
    response r;
    r.status = 200;
    r.content_type = "application/json";
    r.set("Link", "</a>; rel=\"next\"");
    r.set("Vary", "Accept");
    r.set("Link", "</b>; rel=\"prev\"");
    const auto decoded = decode_answer(encode_answer(r));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(
        decoded->headers,
        (header_list{{"Link", "</a>; rel=\"next\""}, {"Vary", "Accept"}, {"Link", "</b>; rel=\"prev\""}}));
}

TEST(AnswerCodec, BodyWithQuotesBackslashesAndNewlinesSurvives)
{
    response r;
    r.status = 422;
    r.content_type = "application/problem+json";
    r.body = "{\n  \"detail\": \"the \\\"title\\\" is\\nmissing\",\n  \"path\": \"C:\\\\x\"\n}\r\n\t\xc3\xa9";
    const auto decoded = decode_answer(encode_answer(r));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, r);
}

TEST(AnswerCodec, RoundTripsAnEmptyAnswer)
{
    response r;
    r.status = 204;
    const auto decoded = decode_answer(encode_answer(r));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, r);
    EXPECT_TRUE(decoded->headers.empty());
    EXPECT_EQ(decoded->content_type, "");
}

TEST(AnswerCodec, GarbageDecodesToNothing)
{
    for (const std::string_view bytes : {
             std::string_view(""),
             std::string_view("not json"),
             std::string_view("[]"),
             std::string_view("{}"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": []})"),
             std::string_view(R"({"status": "200", "content_type": "", "headers": [], "body": ""})"),
             std::string_view(R"({"status": 200, "content_type": 1, "headers": [], "body": ""})"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": {}, "body": ""})"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": [["a"]], "body": ""})"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": [["a", 1]], "body": ""})"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": ["a: b"], "body": ""})"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": [], "body": null})"),
             std::string_view(R"({"status": 200, "content_type": "", "headers": [], "body": ""} trailing)"),
         })
        EXPECT_EQ(decode_answer(bytes), std::nullopt) << bytes;
}

TEST(AnswerCodec, StatusThatIsNotAWholeNumberDecodesToNothing)
{
    // Stored answers could be corrupt; decoding must say so rather than throw.
    for (const std::string_view status : {"-1", "2.5", "1e20"})
    {
        const std::string bytes =
            R"({"status": )" + std::string(status) + R"(, "content_type": "", "headers": [], "body": ""})";
        std::optional<response> decoded;
        EXPECT_NO_THROW(decoded = decode_answer(bytes)) << bytes;
        EXPECT_EQ(decoded.has_value(), false) << bytes;
    }
}

} // namespace
