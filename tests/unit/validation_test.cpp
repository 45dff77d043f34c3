// Unit tests for judging values and records against a request type (validation.hpp): check_value for every
// value kind with its exact message, and validate_record's errors keyed by JSON Pointer (docs/CONFIG.md,
// "Request types").
#include <reqstore/core/request_type.hpp>
#include <reqstore/core/validation.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace
{

namespace json = boost::json;
using reqstore::core::attribute_spec;
using reqstore::core::check_value;
using reqstore::core::is_absolute_http_url;
using reqstore::core::member_pointer;
using reqstore::core::parse_types;
using reqstore::core::request_type;
using reqstore::core::validate_record;
using reqstore::core::value_kind;

attribute_spec spec_of(value_kind kind)
{
    attribute_spec spec;
    spec.name = "a";
    spec.kind = kind;
    return spec;
}

// check_value's verdict on the JSON text `value`: "ok" or the message.
std::string verdict(const attribute_spec& spec, std::string_view value)
{
    const auto problem = check_value(spec, json::parse(value));
    return problem ? *problem : "ok";
}

std::string verdict(value_kind kind, std::string_view value)
{
    return verdict(spec_of(kind), value);
}

// --- integer ---------------------------------------------------------------------------------------------

TEST(CheckInteger, AcceptsWholeNumbers)
{
    EXPECT_EQ(verdict(value_kind::integer, "1"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "-3"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "0"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "9223372036854775807"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "-9223372036854775808"), "ok");
}

TEST(CheckInteger, AcceptsADoubleWithAnIntegralValue)
{
    EXPECT_EQ(verdict(value_kind::integer, "1.0"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "-3.0"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "1e3"), "ok");
}

TEST(CheckInteger, AcceptsIntegralDoublesUpToTwoToTheSixtyThree)
{
    // Every double below 2^63 in magnitude with an integral value is a 64-bit integer.
    EXPECT_EQ(verdict(value_kind::integer, "9.21e18"), "ok");
    EXPECT_EQ(verdict(value_kind::integer, "-9.223372036854775808e18"), "ok");                // -2^63 exactly
    EXPECT_EQ(verdict(value_kind::integer, "9.223372036854775808e18"), "must be an integer"); // 2^63
}

TEST(CheckInteger, RefusesFractions)
{
    EXPECT_EQ(verdict(value_kind::integer, "1.5"), "must be an integer");
    EXPECT_EQ(verdict(value_kind::integer, "-0.25"), "must be an integer");
}

TEST(CheckInteger, RefusesTwoToTheSixtyThreeAndBeyond)
{
    EXPECT_EQ(verdict(value_kind::integer, "9223372036854775808"), "must be an integer from -2^63 to 2^63-1");
    EXPECT_EQ(verdict(value_kind::integer, "18446744073709551615"),
              "must be an integer from -2^63 to 2^63-1");
    EXPECT_EQ(verdict(value_kind::integer, "9.3e18"), "must be an integer");
    EXPECT_EQ(verdict(value_kind::integer, "1e300"), "must be an integer");
}

TEST(CheckInteger, RefusesOtherJsonTypes)
{
    EXPECT_EQ(verdict(value_kind::integer, R"("1")"), "must be an integer");
    EXPECT_EQ(verdict(value_kind::integer, "true"), "must be an integer");
    EXPECT_EQ(verdict(value_kind::integer, "[1]"), "must be an integer");
    EXPECT_EQ(verdict(value_kind::integer, R"({"n": 1})"), "must be an integer");
}

TEST(CheckInteger, HonoursInclusiveBounds)
{
    attribute_spec spec = spec_of(value_kind::integer);
    spec.min = 1;
    spec.max = 10;
    EXPECT_EQ(verdict(spec, "1"), "ok");
    EXPECT_EQ(verdict(spec, "10"), "ok");
    EXPECT_EQ(verdict(spec, "10.0"), "ok");
    EXPECT_EQ(verdict(spec, "0"), "must be at least 1");
    EXPECT_EQ(verdict(spec, "-3"), "must be at least 1");
    EXPECT_EQ(verdict(spec, "11"), "must be at most 10");
    EXPECT_EQ(verdict(spec, "11.0"), "must be at most 10");
}

// --- number ----------------------------------------------------------------------------------------------

TEST(CheckNumber, AcceptsIntegersAndDoubles)
{
    EXPECT_EQ(verdict(value_kind::number, "1"), "ok");
    EXPECT_EQ(verdict(value_kind::number, "-2.5"), "ok");
    EXPECT_EQ(verdict(value_kind::number, "18446744073709551615"), "ok");
    EXPECT_EQ(verdict(value_kind::number, "1e300"), "ok");
}

TEST(CheckNumber, RefusesOtherJsonTypes)
{
    EXPECT_EQ(verdict(value_kind::number, R"("1.5")"), "must be a number");
    EXPECT_EQ(verdict(value_kind::number, "false"), "must be a number");
    EXPECT_EQ(verdict(value_kind::number, "[]"), "must be a number");
}

TEST(CheckNumber, HonoursFractionalBounds)
{
    attribute_spec spec = spec_of(value_kind::number);
    spec.min = 0.5;
    spec.max = 2.5;
    EXPECT_EQ(verdict(spec, "0.5"), "ok");
    EXPECT_EQ(verdict(spec, "2.5"), "ok");
    EXPECT_EQ(verdict(spec, "1"), "ok");
    EXPECT_EQ(verdict(spec, "0.25"), "must be at least 0.5");
    EXPECT_EQ(verdict(spec, "3"), "must be at most 2.5");
}

TEST(CheckNumber, OnlyOneBoundMayBeSet)
{
    attribute_spec spec = spec_of(value_kind::number);
    spec.min = -1;
    EXPECT_EQ(verdict(spec, "1e300"), "ok");
    EXPECT_EQ(verdict(spec, "-1.5"), "must be at least -1");
}

// --- boolean, object, array ------------------------------------------------------------------------------

TEST(CheckBoolean, AcceptsTrueAndFalseOnly)
{
    EXPECT_EQ(verdict(value_kind::boolean, "true"), "ok");
    EXPECT_EQ(verdict(value_kind::boolean, "false"), "ok");
    EXPECT_EQ(verdict(value_kind::boolean, R"("true")"), "must be true or false");
    EXPECT_EQ(verdict(value_kind::boolean, "0"), "must be true or false");
    EXPECT_EQ(verdict(value_kind::boolean, "1"), "must be true or false");
}

TEST(CheckObject, AcceptsObjectsOnly)
{
    EXPECT_EQ(verdict(value_kind::object, "{}"), "ok");
    EXPECT_EQ(verdict(value_kind::object, R"({"a": [1, {"b": null}]})"), "ok");
    EXPECT_EQ(verdict(value_kind::object, "[]"), "must be an object");
    EXPECT_EQ(verdict(value_kind::object, R"("{}")"), "must be an object");
}

TEST(CheckArray, AcceptsListsOnly)
{
    EXPECT_EQ(verdict(value_kind::array, "[]"), "ok");
    EXPECT_EQ(verdict(value_kind::array, R"([1, "two", {}])"), "ok");
    EXPECT_EQ(verdict(value_kind::array, "{}"), "must be a list");
    EXPECT_EQ(verdict(value_kind::array, R"("[]")"), "must be a list");
}

// --- datetime --------------------------------------------------------------------------------------------

constexpr std::string_view datetime_message =
    "must be an RFC 3339 date-time such as 2026-11-22T04:46:31.991Z";

TEST(CheckDatetime, AcceptsRfc3339DateTimes)
{
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22T04:46:31.991Z")"), "ok");
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22T04:46:31Z")"), "ok");
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22T06:46:31+02:00")"), "ok");
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22T04:46:31.123456789-05:30")"), "ok");
}

TEST(CheckDatetime, RefusesDatesTimesAndOtherForms)
{
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("04:46:31Z")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22T04:46:31")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("Sun, 22 Nov 2026 04:46:31 GMT")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-13-22T04:46:31Z")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-02-30T04:46:31Z")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("2026-11-22T24:46:31Z")"), datetime_message);
    EXPECT_EQ(verdict(value_kind::datetime, R"("")"), datetime_message);
}

TEST(CheckDatetime, RefusesNonStrings)
{
    EXPECT_EQ(verdict(value_kind::datetime, "1795322791991"), "must be a string");
}

// --- email -----------------------------------------------------------------------------------------------

TEST(CheckEmail, AcceptsLocalAtDomainDotTld)
{
    EXPECT_EQ(verdict(value_kind::email, R"("a@b.co")"), "ok");
    EXPECT_EQ(verdict(value_kind::email, R"("first.last+tag@mail.example.org")"), "ok");
}

TEST(CheckEmail, RefusesWhatIsNotShapedLikeAnAddress)
{
    for (const char* text : {R"("a@b")", R"("@b.co")", R"("a.b.co")", R"("a@b@c.co")", R"("a b@c.co")",
                             R"("a@.co")", R"("a@b.co.")", R"("")"})
        EXPECT_EQ(verdict(value_kind::email, text), "must be an email address") << text;
    EXPECT_EQ(verdict(value_kind::email, "42"), "must be a string");
}

// --- url -------------------------------------------------------------------------------------------------

TEST(CheckUrl, AcceptsAbsoluteHttpAndHttpsUrls)
{
    EXPECT_EQ(verdict(value_kind::url, R"("https://example.com/hooks?x=1")"), "ok");
    EXPECT_EQ(verdict(value_kind::url, R"("http://example.com")"), "ok");
    EXPECT_EQ(verdict(value_kind::url, R"("http://127.0.0.1:8080/a")"), "ok");
}

TEST(CheckUrl, SchemeIsCaseInsensitive)
{
    // RFC 3986 section 3.1: "schemes are case-insensitive"; HTTPS://example.com/ is an https URL.
    EXPECT_EQ(verdict(value_kind::url, R"("HTTPS://example.com/")"), "ok");
    EXPECT_EQ(verdict(value_kind::url, R"("Http://example.com/")"), "ok");
}

TEST(CheckUrl, RefusesOtherSchemesRelativeUrlsAndMissingHosts)
{
    for (const char* text : {R"("ftp://example.com/file")", R"("mailto:a@b.co")", R"("/relative/path")",
                             R"("example.com")", R"("https://")", R"("https:///path")", R"("")"})
        EXPECT_EQ(verdict(value_kind::url, text), "must be an absolute http or https URL") << text;
    EXPECT_EQ(verdict(value_kind::url, "{}"), "must be a string");
}

TEST(IsAbsoluteHttpUrl, NeedsHttpOrHttpsAndAHost)
{
    EXPECT_TRUE(is_absolute_http_url("https://example.com"));
    EXPECT_TRUE(is_absolute_http_url("http://[::1]:8080/x"));
    EXPECT_FALSE(is_absolute_http_url("file:///etc/passwd"));
    EXPECT_FALSE(is_absolute_http_url("http:example.com"));
    EXPECT_FALSE(is_absolute_http_url("https://exa mple.com"));
}

// --- uuid ------------------------------------------------------------------------------------------------

constexpr std::string_view uuid_message = "must be a UUID such as 3c90c3cc-0d44-4b50-8888-8dd25736052a";

TEST(CheckUuid, AcceptsLowerAndUpperCase)
{
    // Only path ids are limited to lower case; an attribute value may use either.
    EXPECT_EQ(verdict(value_kind::uuid, R"("3c90c3cc-0d44-4b50-8888-8dd25736052a")"), "ok");
    EXPECT_EQ(verdict(value_kind::uuid, R"("3C90C3CC-0D44-4B50-8888-8DD25736052A")"), "ok");
    EXPECT_EQ(verdict(value_kind::uuid, R"("3C90c3cc-0d44-4b50-8888-8dd25736052A")"), "ok");
}

TEST(CheckUuid, RefusesOtherShapes)
{
    for (const char* text :
         {R"("3c90c3cc0d444b5088888dd25736052a")", R"("3c90c3cc-0d44-4b50-8888-8dd25736052")",
          R"("3c90c3cc-0d44-4b50-8888-8dd25736052ab")", R"("3c90c3cc-0d44-4b50-8888-8dd25736052g")",
          R"("{3c90c3cc-0d44-4b50-8888-8dd25736052a}")", R"("3c90c3cc-0d444-b50-8888-8dd25736052a")",
          R"("")"})
        EXPECT_EQ(verdict(value_kind::uuid, text), uuid_message) << text;
    EXPECT_EQ(verdict(value_kind::uuid, "1"), "must be a string");
}

// --- enum, string ----------------------------------------------------------------------------------------

TEST(CheckEnum, AcceptsOnlyTheListedValues)
{
    attribute_spec spec = spec_of(value_kind::enum_);
    spec.enum_values = {"low", "high"};
    EXPECT_EQ(verdict(spec, R"("low")"), "ok");
    EXPECT_EQ(verdict(spec, R"("high")"), "ok");
    EXPECT_EQ(verdict(spec, R"("medium")"), "must be one of low, high");
    EXPECT_EQ(verdict(spec, R"("LOW")"), "must be one of low, high");
    EXPECT_EQ(verdict(spec, "1"), "must be a string");
}

TEST(CheckString, AcceptsAnyStringWithoutRules)
{
    EXPECT_EQ(verdict(value_kind::string, R"("")"), "ok");
    EXPECT_EQ(verdict(value_kind::string, R"("anything at all")"), "ok");
    EXPECT_EQ(verdict(value_kind::string, "1"), "must be a string");
    EXPECT_EQ(verdict(value_kind::string, "[]"), "must be a string");
}

TEST(CheckString, WithEnumAcceptsOnlyTheListedValues)
{
    attribute_spec spec = spec_of(value_kind::string);
    spec.enum_values = {"a", "b", "c"};
    EXPECT_EQ(verdict(spec, R"("b")"), "ok");
    EXPECT_EQ(verdict(spec, R"("d")"), "must be one of a, b, c");
}

TEST(CheckString, MaxLengthCountsCodePointsNotBytes)
{
    attribute_spec spec = spec_of(value_kind::string);
    spec.max_length = 3;
    EXPECT_EQ(verdict(spec, R"("abc")"), "ok");
    EXPECT_EQ(verdict(spec, "\"\xc3\xa9\xc3\xa9\xc3\xa9\""), "ok"); // "ééé": 6 bytes
    EXPECT_EQ(verdict(spec, "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\""),
              "ok"); // 3 emoji: 12 bytes
    EXPECT_EQ(verdict(spec, R"("\u00e9\u00e9\u00e9")"), "ok");
    EXPECT_EQ(verdict(spec, R"("abcd")"), "must be at most 3 characters long");
    EXPECT_EQ(verdict(spec, "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\""), "must be at most 3 characters long");
}

TEST(CheckString, SingleAccentedCharacterIsOneCharacter)
{
    attribute_spec spec = spec_of(value_kind::string);
    spec.max_length = 1;
    EXPECT_EQ(verdict(spec, "\"\xc3\xa9\""), "ok");
    EXPECT_EQ(verdict(spec, "\"e\xcc\x81\""), "must be at most 1 characters long"); // e + combining accent
}

// --- null ------------------------------------------------------------------------------------------------

TEST(CheckValue, NullFitsEveryKind)
{
    for (const value_kind kind :
         {value_kind::string, value_kind::integer, value_kind::number, value_kind::boolean,
          value_kind::object, value_kind::array, value_kind::datetime, value_kind::email, value_kind::url,
          value_kind::uuid, value_kind::enum_})
    {
        attribute_spec spec = spec_of(kind);
        spec.required = true;
        spec.enum_values = {"x"};
        spec.min = 1;
        spec.max = 2;
        spec.max_length = 1;
        EXPECT_EQ(verdict(spec, "null"), "ok") << "kind " << static_cast<int>(kind);
    }
}

// --- validate_record -------------------------------------------------------------------------------------

// A type built the way the server builds it, from config JSON.
request_type type_from(std::string_view type_json)
{
    const json::object types{{"t", json::parse(type_json)}};
    std::vector<request_type> out;
    if (const auto error = parse_types(types, out))
        throw std::runtime_error("the test type does not parse: " + *error);
    return out.at(0);
}

const request_type closed_type = type_from(R"({
    "id_prefix": "t_",
    "states": ["open", "done"],
    "initial": "open",
    "attributes": {
        "name": {"type": "string", "required": true},
        "count": {"type": "integer", "min": 0},
        "contact": {"type": "email"}
    }
})");

const request_type open_type = type_from(R"({
    "id_prefix": "t_",
    "states": ["open", "done"],
    "initial": "open",
    "additional_attributes": true,
    "attributes": {"name": {"type": "string", "required": true}}
})");

// validate_record's errors for the record given as JSON text.
json::value errors_for(const request_type& type, std::string_view record)
{
    json::object errors;
    validate_record(type, json::parse(record).as_object(), errors);
    return errors;
}

const json::value no_errors = json::object();

TEST(ValidateRecord, AcceptsAFittingRecord)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "count": 2, "contact": null,
                                          "metadata": {"k": 1}, "callback_url": "https://example.com/h"})"),
              no_errors);
}

TEST(ValidateRecord, AcceptsTheSystemAndCommonMembers)
{
    EXPECT_EQ(errors_for(closed_type, R"({"id": "t_1", "type": "t", "status": "done", "version": 2,
                                          "etag": "\"2\"", "created_at": "x", "updated_at": "x",
                                          "created_by": "dev", "updated_by": "dev", "deleted_at": null,
                                          "callback_url": null, "metadata": {}, "name": "n"})"),
              no_errors);
}

TEST(ValidateRecord, StatusMissingOrNotAString)
{
    EXPECT_EQ(errors_for(closed_type, R"({"name": "n"})"),
              json::parse(R"({"/status": "must be a string naming a state of type t"})"));
    EXPECT_EQ(errors_for(closed_type, R"({"status": 1, "name": "n"})"),
              json::parse(R"({"/status": "must be a string naming a state of type t"})"));
}

TEST(ValidateRecord, StatusUnknown)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "closed", "name": "n"})"),
              json::parse(R"({"/status": "\"closed\" is not a state of type t"})"));
}

TEST(ValidateRecord, MetadataNotAnObject)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "metadata": []})"),
              json::parse(R"({"/metadata": "must be an object"})"));
}

TEST(ValidateRecord, CallbackUrlMustBeHttpOrHttpsOrNull)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "callback_url": null})"), no_errors);
    EXPECT_EQ(
        errors_for(closed_type, R"({"status": "open", "name": "n", "callback_url": "http://h.example"})"),
        no_errors);
    for (const char* bad : {R"("ftp://h.example/x")", R"("/hooks")", "1", "{}"})
        EXPECT_EQ(errors_for(closed_type,
                             std::string(R"({"status": "open", "name": "n", "callback_url": )") + bad + "}"),
                  json::parse(R"({"/callback_url": "must be an absolute http or https URL, or null"})"))
            << bad;
}

TEST(ValidateRecord, RequiredAttributeMissingOrNull)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open"})"), json::parse(R"({"/name": "is required"})"));
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": null})"),
              json::parse(R"({"/name": "is required"})"));
}

TEST(ValidateRecord, OptionalAttributeMayBeNullOrAbsent)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "count": null})"), no_errors);
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n"})"), no_errors);
}

TEST(ValidateRecord, AttributeThatDoesNotFitGivesCheckValuesMessage)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "count": -1})"),
              json::parse(R"({"/count": "must be at least 0"})"));
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": 5})"),
              json::parse(R"({"/name": "must be a string"})"));
}

TEST(ValidateRecord, UnknownMembersAreRefusedWhenAdditionalAttributesIsFalse)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "colour": "red"})"),
              json::parse(R"({"/colour": "is not an attribute of type t"})"));
}

TEST(ValidateRecord, UnknownMembersAreKeptWhenAdditionalAttributesIsTrue)
{
    EXPECT_EQ(errors_for(open_type, R"({"status": "open", "name": "n", "colour": "red", "count": "x"})"),
              no_errors);
    // Declared attributes are still judged.
    EXPECT_EQ(errors_for(open_type, R"({"status": "open", "colour": "red"})"),
              json::parse(R"({"/name": "is required"})"));
}

TEST(ValidateRecord, MemberNamesAreEscapedAsJsonPointers)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "open", "name": "n", "a/b": 1, "m~n": 2})"),
              json::parse(
                  R"({"/a~1b": "is not an attribute of type t", "/m~0n": "is not an attribute of type t"})"));
    EXPECT_EQ(member_pointer("a/b~c"), "/a~1b~0c");
    EXPECT_EQ(member_pointer(""), "/");
}

TEST(ValidateRecord, ReportsEveryErrorAtOnce)
{
    EXPECT_EQ(errors_for(closed_type, R"({"status": "nope", "metadata": "m", "callback_url": "x",
                                          "count": 1.5, "contact": "not-an-address", "extra": true})"),
              json::parse(R"({
                  "/status": "\"nope\" is not a state of type t",
                  "/metadata": "must be an object",
                  "/callback_url": "must be an absolute http or https URL, or null",
                  "/name": "is required",
                  "/count": "must be an integer",
                  "/contact": "must be an email address",
                  "/extra": "is not an attribute of type t"
              })"));
}

} // namespace
