// Unit tests for reqstore-sink's ledger (load/sink/ledger.hpp): the attempts in flight on a lane (one
// record at one path), and the overlapping attempts it counts and shows in the summary.
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "sink/ledger.hpp"

namespace
{

using reqstore::sink::lane_attempt;
using reqstore::sink::ledger;
namespace json = boost::json;

std::uint64_t total_overlaps(const ledger& book)
{
    return book.summary().at("overlapping_attempts").as_uint64();
}

std::uint64_t overlaps_at(const ledger& book, const std::string& path)
{
    const json::object summary = book.summary();
    const json::value* counters = summary.at("by_path").as_object().if_contains(path);
    return counters == nullptr ? 0 : counters->as_object().at("overlapping_attempts").as_uint64();
}

const json::array& examples(const json::object& summary)
{
    return summary.at("overlaps").as_array();
}

std::string text(const json::value& example, const char* field)
{
    return std::string(example.as_object().at(field).as_string());
}

TEST(SinkLedger, TwoAttemptsOfOneLaneInFlightAtOnceAreOneOverlap)
{
    ledger book;
    const lane_attempt first = book.begin_attempt("/hooks", "req_a", "evt_1");
    const lane_attempt second = book.begin_attempt("/hooks", "req_a", "evt_2");
    EXPECT_EQ(total_overlaps(book), 1u);
    EXPECT_EQ(overlaps_at(book, "/hooks"), 1u);

    const json::object summary = book.summary();
    ASSERT_EQ(examples(summary).size(), 1u) << json::serialize(summary);
    const json::value& example = examples(summary).at(0);
    EXPECT_EQ(text(example, "path"), "/hooks");
    EXPECT_EQ(text(example, "record"), "req_a");
    EXPECT_EQ(text(example, "webhook_id_in_flight"), "evt_1");
    EXPECT_EQ(text(example, "webhook_id_arriving"), "evt_2");
    EXPECT_TRUE(example.as_object().at("at").is_string());
}

TEST(SinkLedger, AnAttemptAfterTheLastOneEndedIsNoOverlap)
{
    ledger book;
    {
        const lane_attempt first = book.begin_attempt("/hooks", "req_a", "evt_1");
    }
    const lane_attempt second = book.begin_attempt("/hooks", "req_a", "evt_1");
    EXPECT_EQ(total_overlaps(book), 0u);
    EXPECT_TRUE(examples(book.summary()).empty());
}

TEST(SinkLedger, AttemptsOfOtherRecordsOrOtherPathsAreNoOverlap)
{
    ledger book;
    const lane_attempt a_at_hooks = book.begin_attempt("/hooks", "req_a", "evt_1");
    const lane_attempt b_at_hooks = book.begin_attempt("/hooks", "req_b", "evt_2");
    const lane_attempt a_elsewhere = book.begin_attempt("/other", "req_a", "evt_1");
    EXPECT_EQ(total_overlaps(book), 0u);
    EXPECT_EQ(overlaps_at(book, "/hooks"), 0u);
    EXPECT_EQ(overlaps_at(book, "/other"), 0u);
}

TEST(SinkLedger, EveryAttemptArrivingWhileOthersAreInFlightCountsOnce)
{
    ledger book;
    std::vector<lane_attempt> in_flight;
    for (int i = 1; i <= 3; ++i)
        in_flight.push_back(book.begin_attempt("/hooks", "req_a", "evt_" + std::to_string(i)));
    EXPECT_EQ(total_overlaps(book), 2u);
    // The oldest attempt still in flight is the one named: evt_1 for both.
    const json::object summary = book.summary();
    for (const json::value& example : examples(summary))
        EXPECT_EQ(text(example, "webhook_id_in_flight"), "evt_1");

    in_flight.erase(in_flight.begin()); // evt_1 ends; evt_2 and evt_3 stay
    const lane_attempt fourth = book.begin_attempt("/hooks", "req_a", "evt_4");
    EXPECT_EQ(total_overlaps(book), 3u);
    EXPECT_EQ(text(examples(book.summary()).back(), "webhook_id_in_flight"), "evt_2");
}

TEST(SinkLedger, AMovedAttemptEndsOnceWhenItsLastOwnerGoes)
{
    ledger book;
    {
        lane_attempt first = book.begin_attempt("/hooks", "req_a", "evt_1");
        lane_attempt moved = std::move(first);
        // `first` is empty now: its end would be a second end of the same attempt.
    }
    const lane_attempt after = book.begin_attempt("/hooks", "req_a", "evt_2");
    EXPECT_EQ(total_overlaps(book), 0u);

    // Assigning over an attempt in flight ends it.
    lane_attempt holder = book.begin_attempt("/hooks", "req_b", "evt_3");
    holder = book.begin_attempt("/hooks", "req_c", "evt_4");
    const lane_attempt b_again = book.begin_attempt("/hooks", "req_b", "evt_5");
    EXPECT_EQ(total_overlaps(book), 0u);
}

TEST(SinkLedger, KeepsTheFirstOverlapsAsExamplesAndCountsThemAll)
{
    ledger book;
    const lane_attempt first = book.begin_attempt("/hooks", "req_a", "evt_0");
    const std::size_t arriving = ledger::overlaps_kept + 5;
    for (std::size_t i = 1; i <= arriving; ++i)
    {
        const lane_attempt ends_at_once = book.begin_attempt("/hooks", "req_a", "evt_" + std::to_string(i));
    }
    EXPECT_EQ(total_overlaps(book), arriving);
    const json::object summary = book.summary();
    ASSERT_EQ(examples(summary).size(), ledger::overlaps_kept);
    EXPECT_EQ(text(examples(summary).front(), "webhook_id_arriving"), "evt_1");
    EXPECT_EQ(text(examples(summary).back(), "webhook_id_arriving"),
              "evt_" + std::to_string(ledger::overlaps_kept));
}

} // namespace
