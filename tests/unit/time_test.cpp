// Unit tests for the two time formats: RFC 3339 in JSON and HTTP-date (RFC 9110 section 5.6.7) in headers.
#include <reqstore/core/time.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace
{

using reqstore::core::format_http_date;
using reqstore::core::format_rfc3339;
using reqstore::core::now_millis;
using reqstore::core::parse_http_date;
using reqstore::core::parse_rfc3339;
using reqstore::core::unix_millis;

// RFC 9110's own example, 1994-11-06T08:49:37Z, in milliseconds since the epoch.
constexpr unix_millis rfc9110_example = 784111777000;

// --- RFC 3339 --------------------------------------------------------------------------------------------

TEST(Rfc3339Format, HasMillisecondPrecisionAndZ)
{
    EXPECT_EQ(format_rfc3339(rfc9110_example), "1994-11-06T08:49:37.000Z");
    EXPECT_EQ(format_rfc3339(rfc9110_example + 991), "1994-11-06T08:49:37.991Z");
    EXPECT_EQ(format_rfc3339(rfc9110_example + 7), "1994-11-06T08:49:37.007Z");
}

TEST(Rfc3339Format, EpochAndLeapDay)
{
    EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(951782400000), "2000-02-29T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(4102444799999), "2099-12-31T23:59:59.999Z");
}

TEST(Rfc3339Format, DatesBefore1970)
{
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(format_rfc3339(-1000), "1969-12-31T23:59:59.000Z");
    EXPECT_EQ(format_rfc3339(-1001), "1969-12-31T23:59:58.999Z");
    EXPECT_EQ(format_rfc3339(-86400000), "1969-12-31T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(-2208988800000), "1900-01-01T00:00:00.000Z");
}

TEST(Rfc3339Parse, ReadsWhatFormatWrites)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.000Z"), rfc9110_example);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.991Z"), rfc9110_example + 991);
}

TEST(Rfc3339Parse, FractionIsOptional)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37Z"), rfc9110_example);
}

TEST(Rfc3339Parse, ShortFractionsAreTenthsAndHundredths)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.5Z"), rfc9110_example + 500);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.25Z"), rfc9110_example + 250);
}

TEST(Rfc3339Parse, LongFractionsAreTruncatedToMilliseconds)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.123456Z"), rfc9110_example + 123);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.999999999Z"), rfc9110_example + 999);
}

TEST(Rfc3339Parse, OffsetsAreAppliedToGetUtc)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T09:49:37+01:00"), rfc9110_example);
    EXPECT_EQ(parse_rfc3339("1994-11-06T03:19:37-05:30"), rfc9110_example);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37+00:00"), rfc9110_example);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37-00:00"), rfc9110_example);
    EXPECT_EQ(parse_rfc3339("1994-11-07T00:49:37.250+16:00"), rfc9110_example + 250);
}

TEST(Rfc3339Parse, OffsetMayCrossMidnightAndYear)
{
    EXPECT_EQ(parse_rfc3339("1969-12-31T19:00:00-05:00"), 0);
    EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:00+01:00"), 0);
}

TEST(Rfc3339Parse, LowercaseTAndZAreAccepted)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06t08:49:37z"), rfc9110_example);
    EXPECT_EQ(parse_rfc3339("1994-11-06t08:49:37.100Z"), rfc9110_example + 100);
}

TEST(Rfc3339Parse, DatesBefore1970)
{
    EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.999Z"), -1);
    EXPECT_EQ(parse_rfc3339("1900-01-01T00:00:00Z"), -2208988800000);
}

TEST(Rfc3339Parse, LeapDayOnlyInLeapYears)
{
    EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951782400000);
    EXPECT_EQ(parse_rfc3339("2024-02-29T12:00:00Z"), 1709208000000);
    EXPECT_EQ(parse_rfc3339("2023-02-29T00:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1900-02-29T00:00:00Z"), std::nullopt);
}

TEST(Rfc3339Parse, RejectsDaysThatDoNotExist)
{
    EXPECT_EQ(parse_rfc3339("2024-02-30T00:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("2024-04-31T00:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("2024-01-00T00:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("2024-13-01T00:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("2024-00-01T00:00:00Z"), std::nullopt);
}

TEST(Rfc3339Parse, RejectsTimesThatDoNotExist)
{
    EXPECT_EQ(parse_rfc3339("2024-01-01T24:00:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("2024-01-01T23:60:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("2024-01-01T23:59:61Z"), std::nullopt);
}

TEST(Rfc3339Parse, AcceptsALeapSecond)
{
    // RFC 3339 section 5.6 allows second 60.
    EXPECT_TRUE(parse_rfc3339("2016-12-31T23:59:60Z").has_value());
}

TEST(Rfc3339Parse, RejectsAMissingZone)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.000"), std::nullopt);
}

TEST(Rfc3339Parse, RejectsMalformedOffsets)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37+01"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37+0100"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37+24:00"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37+01:60"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37+01:00Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37GMT"), std::nullopt);
}

TEST(Rfc3339Parse, RejectsTenFractionDigits)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.1234567891Z"), std::nullopt);
}

TEST(Rfc3339Parse, RejectsAnEmptyFraction)
{
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37.Z"), std::nullopt);
}

TEST(Rfc3339Parse, RejectsOtherShapes)
{
    EXPECT_EQ(parse_rfc3339(""), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("94-11-06T08:49:37Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994/11/06T08:49:37Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06X08:49:37Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T8:49:37Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339(" 1994-11-06T08:49:37Z"), std::nullopt);
    EXPECT_EQ(parse_rfc3339("1994-11-06T08:49:37Z "), std::nullopt);
    EXPECT_EQ(parse_rfc3339("Sun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
}

TEST(Rfc3339, RoundTripsEveryMillisecondValue)
{
    const std::vector<unix_millis> samples = {0,
                                              1,
                                              999,
                                              1000,
                                              rfc9110_example + 123,
                                              951782400000,
                                              1709208000001,
                                              4102444799999,
                                              -1,
                                              -999,
                                              -1000,
                                              -86400001,
                                              -2208988800000,
                                              -62135596800000 /* 0001-01-01 */,
                                              253402300799999 /* 9999-12-31 */};
    for (const unix_millis t : samples)
        EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t) << format_rfc3339(t);
}

TEST(Rfc3339, RoundTripsTheCurrentTime)
{
    const unix_millis now = now_millis();
    EXPECT_EQ(parse_rfc3339(format_rfc3339(now)), now);
}

// --- HTTP-date -------------------------------------------------------------------------------------------

TEST(HttpDateFormat, IsImfFixdate)
{
    EXPECT_EQ(format_http_date(rfc9110_example), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(951782400000), "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST(HttpDateFormat, TruncatesToSeconds)
{
    EXPECT_EQ(format_http_date(rfc9110_example + 999), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpDateFormat, NamesEveryWeekdayCorrectly)
{
    const std::vector<std::string> expected = {
        "Sun, 06 Nov 1994 08:49:37 GMT", "Mon, 07 Nov 1994 08:49:37 GMT", "Tue, 08 Nov 1994 08:49:37 GMT",
        "Wed, 09 Nov 1994 08:49:37 GMT", "Thu, 10 Nov 1994 08:49:37 GMT", "Fri, 11 Nov 1994 08:49:37 GMT",
        "Sat, 12 Nov 1994 08:49:37 GMT"};
    for (std::size_t day = 0; day < expected.size(); ++day)
        EXPECT_EQ(format_http_date(rfc9110_example + static_cast<unix_millis>(day) * 86400000),
                  expected[day]);
}

TEST(HttpDateFormat, DatesBefore1970)
{
    EXPECT_EQ(format_http_date(-1000), "Wed, 31 Dec 1969 23:59:59 GMT");
    EXPECT_EQ(format_http_date(-86400000), "Wed, 31 Dec 1969 00:00:00 GMT");
    EXPECT_EQ(format_http_date(-86400001), "Tue, 30 Dec 1969 23:59:59 GMT");
    EXPECT_EQ(format_http_date(-2147483648000), "Fri, 13 Dec 1901 20:45:52 GMT");
    EXPECT_EQ(format_http_date(-2208988800000), "Mon, 01 Jan 1900 00:00:00 GMT");
}

TEST(HttpDateFormat, PartialSecondsBefore1970RoundTowardThePast)
{
    // 1969-12-31T23:59:59.500Z is inside the second 23:59:59.
    EXPECT_EQ(format_http_date(-500), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(HttpDateParse, TheThreeFormsOfRfc9110Section5_6_7AreTheSameInstant)
{
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), rfc9110_example);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), rfc9110_example);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), rfc9110_example);
}

TEST(HttpDateParse, AsctimeWithTwoDigitDay)
{
    EXPECT_EQ(parse_http_date("Wed Nov 16 08:49:37 1994"), rfc9110_example + 10 * 86400000LL);
}

TEST(HttpDateParse, Rfc850WithEveryWeekdayName)
{
    EXPECT_EQ(parse_http_date("Wednesday, 09-Nov-94 08:49:37 GMT"), rfc9110_example + 3 * 86400000LL);
    EXPECT_EQ(parse_http_date("Saturday, 12-Nov-94 08:49:37 GMT"), rfc9110_example + 6 * 86400000LL);
}

TEST(HttpDateParse, DatesBefore1970)
{
    EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1000);
    EXPECT_EQ(parse_http_date("Fri, 13 Dec 1901 20:45:52 GMT"), -2147483648000);
    EXPECT_EQ(parse_http_date("Mon, 01 Jan 1900 00:00:00 GMT"), -2208988800000);
    EXPECT_EQ(parse_http_date("Wed Dec 31 23:59:59 1969"), -1000);
}

TEST(HttpDateParse, RejectsOtherZonesAndCase)
{
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 gmt"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 nov 1994 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 +0000"), std::nullopt);
}

TEST(HttpDateParse, RejectsDatesAndTimesThatDoNotExist)
{
    EXPECT_EQ(parse_http_date("Wed, 30 Feb 1994 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:60:00 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun Feb 30 08:49:37 1994"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sunday, 30-Feb-94 08:49:37 GMT"), std::nullopt);
}

TEST(HttpDateParse, RejectsOtherShapes)
{
    EXPECT_EQ(parse_http_date(""), std::nullopt);
    EXPECT_EQ(parse_http_date("1994-11-06T08:49:37Z"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 94 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT "), std::nullopt);
    EXPECT_EQ(parse_http_date("Sun Nov 6 08:49:37 1994"), std::nullopt);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-1994 08:49:37 GMT"), std::nullopt);
    EXPECT_EQ(parse_http_date("yesterday"), std::nullopt);
}

TEST(HttpDate, RoundTripsWholeSeconds)
{
    const std::vector<unix_millis> samples = {
        0,     rfc9110_example, 951782400000,   1709208000000,  4102444799000,
        -1000, -86400000,       -2147483648000, -2208988800000, 253402300799000 /* 9999-12-31T23:59:59Z */};
    for (const unix_millis t : samples)
        EXPECT_EQ(parse_http_date(format_http_date(t)), t) << format_http_date(t);
}

TEST(HttpDate, RoundTripDropsMilliseconds)
{
    EXPECT_EQ(parse_http_date(format_http_date(rfc9110_example + 456)), rfc9110_example);
    EXPECT_EQ(parse_http_date(format_http_date(-1)), -1000);
}

TEST(HttpDate, RoundTripsTheCurrentTime)
{
    const unix_millis now = now_millis();
    EXPECT_EQ(parse_http_date(format_http_date(now)), now / 1000 * 1000);
}

} // namespace
