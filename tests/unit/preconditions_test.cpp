// Unit tests for conditional requests: entity-tag lists, their comparison, and the evaluation order of
// RFC 9110 section 13.2.2 as docs/API.md ("Preconditions") describes it.
#include <reqstore/core/preconditions.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace reqstore::core
{
// Lets failures print the outcome by name.
void PrintTo(precondition_outcome outcome, std::ostream* os)
{
    switch (outcome)
    {
    case precondition_outcome::proceed:
        *os << "proceed";
        return;
    case precondition_outcome::not_modified:
        *os << "not_modified";
        return;
    case precondition_outcome::failed:
        *os << "failed";
        return;
    case precondition_outcome::required:
        *os << "required";
        return;
    case precondition_outcome::malformed_if_match:
        *os << "malformed_if_match";
        return;
    case precondition_outcome::malformed_if_none_match:
        *os << "malformed_if_none_match";
        return;
    }
    *os << "precondition_outcome(" << static_cast<int>(outcome) << ")";
}
} // namespace reqstore::core

namespace
{

using reqstore::core::conditional_headers;
using reqstore::core::current_state;
using reqstore::core::entity_tag;
using reqstore::core::entity_tag_list;
using reqstore::core::etag_for_version;
using reqstore::core::evaluate_preconditions;
using reqstore::core::parse_entity_tag_list;
using reqstore::core::precondition_outcome;
using reqstore::core::request_kind;
using reqstore::core::strong_match;
using reqstore::core::unix_millis;
using reqstore::core::weak_match;

// Shows a parsed list the way it would be written in a header, e.g. `W/"1", "2"`, or `*`.
std::string show(const entity_tag_list& list)
{
    if (list.any)
        return "*";
    std::string out;
    for (const auto& tag : list.tags)
    {
        if (!out.empty())
            out += ", ";
        out += (tag.weak ? "W/\"" : "\"") + tag.opaque + "\"";
    }
    return out;
}

// The list as `show` writes it, or "invalid".
std::string parsed(std::string_view field_value)
{
    const auto list = parse_entity_tag_list(field_value);
    return list ? show(*list) : "invalid";
}

// "Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110's example date, in milliseconds.
constexpr unix_millis example_date = 784111777000;
constexpr std::string_view example_http_date = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view second_before_example = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr std::string_view second_after_example = "Sun, 06 Nov 1994 08:49:38 GMT";

// Record version 3, last changed at the example date.
const current_state version_3{3, example_date};
const current_state absent{};

conditional_headers if_match(std::string value)
{
    conditional_headers h;
    h.if_match = std::move(value);
    return h;
}

conditional_headers if_none_match(std::string value)
{
    conditional_headers h;
    h.if_none_match = std::move(value);
    return h;
}

conditional_headers if_unmodified_since(std::string_view value)
{
    conditional_headers h;
    h.if_unmodified_since = std::string(value);
    return h;
}

conditional_headers if_modified_since(std::string_view value)
{
    conditional_headers h;
    h.if_modified_since = std::string(value);
    return h;
}

precondition_outcome read(const conditional_headers& h, const current_state& current)
{
    return evaluate_preconditions(h, current, request_kind::read, false);
}

precondition_outcome write(const conditional_headers& h, const current_state& current)
{
    return evaluate_preconditions(h, current, request_kind::write, false);
}

// --- parse_entity_tag_list -------------------------------------------------------------------------------

TEST(EntityTagList, StarMeansAnyResource)
{
    const auto list = parse_entity_tag_list("*");
    ASSERT_TRUE(list.has_value());
    EXPECT_TRUE(list->any);
    EXPECT_TRUE(list->tags.empty());
}

TEST(EntityTagList, StarMayBeSurroundedByWhitespace)
{
    EXPECT_EQ(parsed("  *\t"), "*");
}

TEST(EntityTagList, SingleStrongTagIsParsed)
{
    const auto list = parse_entity_tag_list(R"("1")");
    ASSERT_TRUE(list.has_value());
    EXPECT_FALSE(list->any);
    ASSERT_EQ(list->tags.size(), 1u);
    EXPECT_EQ(list->tags[0].opaque, "1");
    EXPECT_FALSE(list->tags[0].weak);
}

TEST(EntityTagList, WeakTagKeepsItsOpaqueStringAndIsMarkedWeak)
{
    const auto list = parse_entity_tag_list(R"(W/"1")");
    ASSERT_TRUE(list.has_value());
    ASSERT_EQ(list->tags.size(), 1u);
    EXPECT_EQ(list->tags[0].opaque, "1");
    EXPECT_TRUE(list->tags[0].weak);
}

TEST(EntityTagList, EmptyOpaqueStringIsAValidTag)
{
    EXPECT_EQ(parsed(R"("")"), R"("")");
}

TEST(EntityTagList, ListsKeepTheirOrderAndWeakness)
{
    EXPECT_EQ(parsed(R"("1", W/"2","3")"), R"("1", W/"2", "3")");
}

TEST(EntityTagList, WhitespaceAroundElementsIsOptional)
{
    EXPECT_EQ(parsed(" \"1\" ,\t\"2\"  "), R"("1", "2")");
}

TEST(EntityTagList, EmptyListElementsAreSkipped)
{
    EXPECT_EQ(parsed(R"("1", ,"2")"), R"("1", "2")");
    EXPECT_EQ(parsed(R"(,"1",,)"), R"("1")");
}

TEST(EntityTagList, CommaInsideQuotesBelongsToTheTag)
{
    // etagc is %x21 / %x23-7E / obs-text, so a comma is an ordinary character of the opaque string.
    EXPECT_EQ(parsed(R"("a,b")"), R"("a,b")");
}

TEST(EntityTagList, BareTokenIsRejected)
{
    EXPECT_EQ(parsed("3"), "invalid");
    EXPECT_EQ(parsed(R"("1", 3)"), "invalid");
}

TEST(EntityTagList, UnterminatedQuoteIsRejected)
{
    EXPECT_EQ(parsed(R"("1)"), "invalid");
    EXPECT_EQ(parsed(R"("1", "2)"), "invalid");
    EXPECT_EQ(parsed(R"(")"), "invalid");
}

TEST(EntityTagList, WeakPrefixWithoutQuotedTagIsRejected)
{
    EXPECT_EQ(parsed("W/"), "invalid");
    EXPECT_EQ(parsed("W/1"), "invalid");
}

TEST(EntityTagList, WeakPrefixIsCaseSensitive)
{
    EXPECT_EQ(parsed(R"(w/"1")"), "invalid");
}

TEST(EntityTagList, EmptyFieldValueIsRejected)
{
    EXPECT_EQ(parsed(""), "invalid");
    EXPECT_EQ(parsed("   "), "invalid");
    EXPECT_EQ(parsed(" , ,"), "invalid");
}

TEST(EntityTagList, TagsMustBeSeparatedByCommas)
{
    EXPECT_EQ(parsed(R"("1" "2")"), "invalid");
    EXPECT_EQ(parsed(R"("1""2")"), "invalid");
}

TEST(EntityTagList, CharactersOutsideEtagcAreRejected)
{
    EXPECT_EQ(parsed(R"("a b")"), "invalid");
    EXPECT_EQ(parsed("\"a\x7f\""), "invalid");
}

TEST(EntityTagList, StarInsideAListIsRejected)
{
    EXPECT_EQ(parsed(R"(*, "1")"), "invalid");
}

// --- comparison and the version ETag ---------------------------------------------------------------------

TEST(EntityTagComparison, FollowsTheTableOfRfc9110Section8_8_3_2)
{
    const entity_tag weak_1{"1", true};
    const entity_tag weak_2{"2", true};
    const entity_tag strong_1{"1", false};
    const entity_tag strong_2{"2", false};

    EXPECT_FALSE(strong_match(weak_1, weak_1));
    EXPECT_TRUE(weak_match(weak_1, weak_1));

    EXPECT_FALSE(strong_match(weak_1, weak_2));
    EXPECT_FALSE(weak_match(weak_1, weak_2));

    EXPECT_FALSE(strong_match(weak_1, strong_1));
    EXPECT_FALSE(strong_match(strong_1, weak_1));
    EXPECT_TRUE(weak_match(weak_1, strong_1));
    EXPECT_TRUE(weak_match(strong_1, weak_1));

    EXPECT_TRUE(strong_match(strong_1, strong_1));
    EXPECT_TRUE(weak_match(strong_1, strong_1));

    EXPECT_FALSE(strong_match(strong_1, strong_2));
    EXPECT_FALSE(weak_match(strong_1, strong_2));
}

TEST(EtagForVersion, IsTheDecimalVersionInQuotes)
{
    EXPECT_EQ(etag_for_version(1), R"("1")");
    EXPECT_EQ(etag_for_version(3), R"("3")");
    EXPECT_EQ(etag_for_version(18446744073709551615ull), R"("18446744073709551615")");
}

TEST(EtagForVersion, ParsesBackAsOneStrongTag)
{
    EXPECT_EQ(parsed(etag_for_version(42)), R"("42")");
}

// --- step 1: If-Match ------------------------------------------------------------------------------------

TEST(IfMatch, CurrentStrongTagProceeds)
{
    EXPECT_EQ(write(if_match(R"("3")"), version_3), precondition_outcome::proceed);
    EXPECT_EQ(read(if_match(R"("3")"), version_3), precondition_outcome::proceed);
}

TEST(IfMatch, OtherVersionFails)
{
    EXPECT_EQ(write(if_match(R"("2")"), version_3), precondition_outcome::failed);
    EXPECT_EQ(read(if_match(R"("4")"), version_3), precondition_outcome::failed);
}

TEST(IfMatch, ListMatchesWhenAnyMemberMatches)
{
    EXPECT_EQ(write(if_match(R"("1", "3", "5")"), version_3), precondition_outcome::proceed);
    EXPECT_EQ(write(if_match(R"("1", "2", "5")"), version_3), precondition_outcome::failed);
}

TEST(IfMatch, WeakTagNeverMatches)
{
    EXPECT_EQ(write(if_match(R"(W/"3")"), version_3), precondition_outcome::failed);
    EXPECT_EQ(read(if_match(R"(W/"3")"), version_3), precondition_outcome::failed);
}

TEST(IfMatch, StarMatchesAnExistingResource)
{
    EXPECT_EQ(write(if_match("*"), version_3), precondition_outcome::proceed);
}

TEST(IfMatch, StarFailsOnAnAbsentResource)
{
    EXPECT_EQ(write(if_match("*"), absent), precondition_outcome::failed);
    EXPECT_EQ(read(if_match("*"), absent), precondition_outcome::failed);
}

TEST(IfMatch, AnyTagFailsOnAnAbsentResource)
{
    EXPECT_EQ(write(if_match(R"("0")"), absent), precondition_outcome::failed);
    EXPECT_EQ(write(if_match(R"("1")"), absent), precondition_outcome::failed);
}

TEST(IfMatch, MalformedValueIsReportedAsSuch)
{
    EXPECT_EQ(write(if_match("3"), version_3), precondition_outcome::malformed_if_match);
    EXPECT_EQ(read(if_match("3"), version_3), precondition_outcome::malformed_if_match);
    EXPECT_EQ(write(if_match(R"("3)"), absent), precondition_outcome::malformed_if_match);
    EXPECT_EQ(write(if_match(""), version_3), precondition_outcome::malformed_if_match);
}

TEST(IfMatch, MalformedValueIsNotRescuedByRequireIfMatch)
{
    // A malformed If-Match is still an If-Match: the answer is 400, not 428.
    EXPECT_EQ(evaluate_preconditions(if_match("3"), version_3, request_kind::write, true),
              precondition_outcome::malformed_if_match);
}

// --- step 2: If-Unmodified-Since (only without If-Match) -------------------------------------------------

TEST(IfUnmodifiedSince, DateAtOrAfterLastModificationProceeds)
{
    EXPECT_EQ(write(if_unmodified_since(example_http_date), version_3), precondition_outcome::proceed);
    EXPECT_EQ(write(if_unmodified_since(second_after_example), version_3), precondition_outcome::proceed);
}

TEST(IfUnmodifiedSince, DateBeforeLastModificationFails)
{
    EXPECT_EQ(write(if_unmodified_since(second_before_example), version_3), precondition_outcome::failed);
    EXPECT_EQ(read(if_unmodified_since(second_before_example), version_3), precondition_outcome::failed);
}

TEST(IfUnmodifiedSince, LastModificationIsComparedAtSecondPrecision)
{
    // Last-Modified shows whole seconds, so a change 0.9 s into the second is not after that second.
    const current_state changed_late_in_second{3, example_date + 900};
    EXPECT_EQ(write(if_unmodified_since(example_http_date), changed_late_in_second),
              precondition_outcome::proceed);
}

TEST(IfUnmodifiedSince, InvalidDateIsIgnored)
{
    EXPECT_EQ(write(if_unmodified_since("yesterday"), version_3), precondition_outcome::proceed);
    EXPECT_EQ(write(if_unmodified_since("Sun, 06 Nov 1994 08:49:37 UTC"), version_3),
              precondition_outcome::proceed);
    EXPECT_EQ(write(if_unmodified_since(""), version_3), precondition_outcome::proceed);
}

TEST(IfUnmodifiedSince, IsIgnoredForAnAbsentResource)
{
    EXPECT_EQ(write(if_unmodified_since(second_before_example), absent), precondition_outcome::proceed);
}

TEST(IfUnmodifiedSince, IsIgnoredWhenIfMatchIsPresent)
{
    // A matching If-Match wins over an If-Unmodified-Since that would fail...
    auto h = if_match(R"("3")");
    h.if_unmodified_since = std::string(second_before_example);
    EXPECT_EQ(write(h, version_3), precondition_outcome::proceed);

    // ...and a failing If-Match is not rescued by one that would hold.
    h = if_match(R"("2")");
    h.if_unmodified_since = std::string(second_after_example);
    EXPECT_EQ(write(h, version_3), precondition_outcome::failed);
}

// --- step 3: If-None-Match -------------------------------------------------------------------------------

TEST(IfNoneMatch, MatchOnReadIsNotModified)
{
    EXPECT_EQ(read(if_none_match(R"("3")"), version_3), precondition_outcome::not_modified);
}

TEST(IfNoneMatch, MatchOnWriteFails)
{
    EXPECT_EQ(write(if_none_match(R"("3")"), version_3), precondition_outcome::failed);
}

TEST(IfNoneMatch, UsesWeakComparison)
{
    EXPECT_EQ(read(if_none_match(R"(W/"3")"), version_3), precondition_outcome::not_modified);
    EXPECT_EQ(write(if_none_match(R"(W/"3")"), version_3), precondition_outcome::failed);
}

TEST(IfNoneMatch, NoMatchProceeds)
{
    EXPECT_EQ(read(if_none_match(R"("2", W/"4")"), version_3), precondition_outcome::proceed);
    EXPECT_EQ(write(if_none_match(R"("2", W/"4")"), version_3), precondition_outcome::proceed);
}

TEST(IfNoneMatch, ListMatchesWhenAnyMemberMatches)
{
    EXPECT_EQ(read(if_none_match(R"("1", ,"3")"), version_3), precondition_outcome::not_modified);
}

TEST(IfNoneMatch, StarOnAnAbsentResourceProceeds)
{
    EXPECT_EQ(write(if_none_match("*"), absent), precondition_outcome::proceed);
    EXPECT_EQ(read(if_none_match("*"), absent), precondition_outcome::proceed);
}

TEST(IfNoneMatch, StarOnAPresentResourceFailsForWritesAndIsNotModifiedForReads)
{
    EXPECT_EQ(write(if_none_match("*"), version_3), precondition_outcome::failed);
    EXPECT_EQ(read(if_none_match("*"), version_3), precondition_outcome::not_modified);
}

TEST(IfNoneMatch, TagOnAnAbsentResourceProceeds)
{
    EXPECT_EQ(write(if_none_match(R"("1")"), absent), precondition_outcome::proceed);
}

TEST(IfNoneMatch, MalformedValueIsReportedAsSuch)
{
    EXPECT_EQ(read(if_none_match("3"), version_3), precondition_outcome::malformed_if_none_match);
    EXPECT_EQ(write(if_none_match("W/"), version_3), precondition_outcome::malformed_if_none_match);
    EXPECT_EQ(write(if_none_match(""), absent), precondition_outcome::malformed_if_none_match);
}

TEST(IfNoneMatch, IsEvaluatedAfterASuccessfulIfMatch)
{
    auto h = if_match(R"("3")");
    h.if_none_match = R"("3")";
    EXPECT_EQ(write(h, version_3), precondition_outcome::failed);
    EXPECT_EQ(read(h, version_3), precondition_outcome::not_modified);

    h.if_none_match = R"("2")";
    EXPECT_EQ(write(h, version_3), precondition_outcome::proceed);
}

TEST(IfNoneMatch, IsEvaluatedAfterASuccessfulIfUnmodifiedSince)
{
    auto h = if_none_match("*");
    h.if_unmodified_since = std::string(second_after_example);
    EXPECT_EQ(write(h, version_3), precondition_outcome::failed);
}

TEST(IfNoneMatch, IsNotReachedWhenIfMatchFails)
{
    auto h = if_match(R"("2")");
    h.if_none_match = R"("2")";
    EXPECT_EQ(read(h, version_3), precondition_outcome::failed);
}

// --- step 4: If-Modified-Since (reads without If-None-Match) ---------------------------------------------

TEST(IfModifiedSince, UnchangedSinceTheDateIsNotModified)
{
    EXPECT_EQ(read(if_modified_since(example_http_date), version_3), precondition_outcome::not_modified);
    EXPECT_EQ(read(if_modified_since(second_after_example), version_3), precondition_outcome::not_modified);
}

TEST(IfModifiedSince, ChangedAfterTheDateProceeds)
{
    EXPECT_EQ(read(if_modified_since(second_before_example), version_3), precondition_outcome::proceed);
}

TEST(IfModifiedSince, LastModificationIsComparedAtSecondPrecision)
{
    const current_state changed_late_in_second{3, example_date + 900};
    EXPECT_EQ(read(if_modified_since(example_http_date), changed_late_in_second),
              precondition_outcome::not_modified);
}

TEST(IfModifiedSince, AcceptsEveryHttpDateForm)
{
    EXPECT_EQ(read(if_modified_since("Sunday, 06-Nov-94 08:49:37 GMT"), version_3),
              precondition_outcome::not_modified);
    EXPECT_EQ(read(if_modified_since("Sun Nov  6 08:49:37 1994"), version_3),
              precondition_outcome::not_modified);
}

TEST(IfModifiedSince, InvalidDateIsIgnored)
{
    EXPECT_EQ(read(if_modified_since("tomorrow"), version_3), precondition_outcome::proceed);
}

TEST(IfModifiedSince, IsIgnoredForWrites)
{
    EXPECT_EQ(write(if_modified_since(second_after_example), version_3), precondition_outcome::proceed);
}

TEST(IfModifiedSince, IsIgnoredForAnAbsentResource)
{
    EXPECT_EQ(read(if_modified_since(second_after_example), absent), precondition_outcome::proceed);
}

TEST(IfModifiedSince, IsIgnoredWhenIfNoneMatchIsPresent)
{
    // If-None-Match does not match, and If-Modified-Since alone would answer 304.
    auto h = if_none_match(R"("2")");
    h.if_modified_since = std::string(second_after_example);
    EXPECT_EQ(read(h, version_3), precondition_outcome::proceed);
}

// --- require_if_match ------------------------------------------------------------------------------------

TEST(RequireIfMatch, WriteToAnExistingResourceWithoutIfMatchIsRequired)
{
    EXPECT_EQ(evaluate_preconditions({}, version_3, request_kind::write, true),
              precondition_outcome::required);
}

TEST(RequireIfMatch, OtherConditionalFieldsDoNotStandInForIfMatch)
{
    EXPECT_EQ(evaluate_preconditions(if_unmodified_since(second_after_example), version_3,
                                     request_kind::write, true),
              precondition_outcome::required);
    EXPECT_EQ(evaluate_preconditions(if_none_match(R"("2")"), version_3, request_kind::write, true),
              precondition_outcome::required);
}

TEST(RequireIfMatch, IsCheckedAfterEveryPreconditionThatWasSent)
{
    // require_if_match is judged last: a precondition the client did send and that fails is 412, not 428.
    EXPECT_EQ(evaluate_preconditions(if_none_match("*"), version_3, request_kind::write, true),
              precondition_outcome::failed);
    EXPECT_EQ(evaluate_preconditions(if_none_match(R"("3")"), version_3, request_kind::write, true),
              precondition_outcome::failed);
    EXPECT_EQ(evaluate_preconditions(if_unmodified_since(second_before_example), version_3,
                                     request_kind::write, true),
              precondition_outcome::failed);
}

TEST(RequireIfMatch, PreconditionsThatHoldStillNeedIfMatch)
{
    EXPECT_EQ(
        evaluate_preconditions(if_unmodified_since(example_http_date), version_3, request_kind::write, true),
        precondition_outcome::required);
    EXPECT_EQ(evaluate_preconditions(if_unmodified_since("not a date"), version_3, request_kind::write, true),
              precondition_outcome::required);
    auto both = if_none_match(R"("2")");
    both.if_unmodified_since = std::string(second_after_example);
    EXPECT_EQ(evaluate_preconditions(both, version_3, request_kind::write, true),
              precondition_outcome::required);
}

TEST(RequireIfMatch, MalformedIfNoneMatchIsReportedBeforeTheRequirement)
{
    EXPECT_EQ(evaluate_preconditions(if_none_match("3"), version_3, request_kind::write, true),
              precondition_outcome::malformed_if_none_match);
}

TEST(RequireIfMatch, WriteWithMatchingIfMatchProceeds)
{
    EXPECT_EQ(evaluate_preconditions(if_match(R"("3")"), version_3, request_kind::write, true),
              precondition_outcome::proceed);
    EXPECT_EQ(evaluate_preconditions(if_match("*"), version_3, request_kind::write, true),
              precondition_outcome::proceed);
}

TEST(RequireIfMatch, WriteWithStaleIfMatchFails)
{
    EXPECT_EQ(evaluate_preconditions(if_match(R"("2")"), version_3, request_kind::write, true),
              precondition_outcome::failed);
}

TEST(RequireIfMatch, DoesNotApplyToReads)
{
    EXPECT_EQ(evaluate_preconditions({}, version_3, request_kind::read, true), precondition_outcome::proceed);
    EXPECT_EQ(evaluate_preconditions(if_none_match(R"("3")"), version_3, request_kind::read, true),
              precondition_outcome::not_modified);
}

TEST(RequireIfMatch, DoesNotApplyToAnAbsentResource)
{
    EXPECT_EQ(evaluate_preconditions({}, absent, request_kind::write, true), precondition_outcome::proceed);
    // Create-only-if-absent needs no If-Match.
    EXPECT_EQ(evaluate_preconditions(if_none_match("*"), absent, request_kind::write, true),
              precondition_outcome::proceed);
}

TEST(RequireIfMatch, OffMeansAnUnconditionalWriteProceeds)
{
    EXPECT_EQ(evaluate_preconditions({}, version_3, request_kind::write, false),
              precondition_outcome::proceed);
}

TEST(Preconditions, NoConditionalFieldsProceed)
{
    EXPECT_EQ(read({}, version_3), precondition_outcome::proceed);
    EXPECT_EQ(read({}, absent), precondition_outcome::proceed);
    EXPECT_EQ(write({}, version_3), precondition_outcome::proceed);
    EXPECT_EQ(write({}, absent), precondition_outcome::proceed);
}

} // namespace
