// Unit tests for reqstore-check's reader and its two linearizability checkers: each checker on
// hand-made bad histories (one per kind of violation) and on good ones (concurrency, operations of
// unknown outcome, crashes), and both on generated histories, correct and broken.
//
// Which checker sees what: the version-order checker names nine kinds (lost-write, lost-update,
// stale-read, regression, gap, duplicate, phantom, torn-read, future-read). The WGL search names
// one, not-linearizable, and flags every one of those histories, since none has a linearization
// that ends in the final list. The version-order checker cannot see violations shown only by
// failures that observed no version (a 412 without "observed" while the record was at the If-Match
// version throughout, a 409 on a record that did not exist): the WGL search flags those.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "check/generate.hpp"
#include "check/history.hpp"
#include "check/version_order.hpp"
#include "check/wgl.hpp"

namespace
{

using namespace reqstore::check;
namespace json = boost::json;

// ---- writing histories -------------------------------------------------------------------------

// One "op" line of key "k", written with a builder so that each test reads as its history.
class op
{
public:
    static op create(std::string_view write_id, std::int64_t invoke, std::optional<std::int64_t> complete)
    {
        op o("create", invoke, complete);
        o.fields_["write_id"] = write_id;
        return o;
    }
    static op cas(std::uint64_t expected, std::string_view write_id, std::int64_t invoke,
                  std::optional<std::int64_t> complete)
    {
        op o("cas", invoke, complete);
        o.fields_["write_id"] = write_id;
        o.fields_["expected"] = expected;
        return o;
    }
    static op read(std::int64_t invoke, std::optional<std::int64_t> complete)
    {
        return op("read", invoke, complete);
    }

    // A write acknowledged as `version`.
    op& ok(std::uint64_t version)
    {
        fields_["outcome"] = "ok";
        fields_["version"] = version;
        return *this;
    }
    // A read that found `version`, written by `write_id` ("" and 0: no record).
    op& saw(std::uint64_t version, std::string_view write_id)
    {
        fields_["outcome"] = "ok";
        fields_["version"] = version;
        if (!write_id.empty())
            fields_["read_write_id"] = write_id;
        return *this;
    }
    op& fail(std::optional<std::uint64_t> observed = std::nullopt)
    {
        fields_["outcome"] = "fail";
        if (observed)
            fields_["observed"] = *observed;
        return *this;
    }
    op& unknown()
    {
        fields_["outcome"] = "unknown";
        return *this;
    }
    op& by(int process)
    {
        fields_["process"] = process;
        return *this;
    }
    op& on(std::string_view key)
    {
        fields_["key"] = key;
        return *this;
    }
    op& with(std::string_view name, json::value value)
    {
        fields_[name] = std::move(value);
        return *this;
    }

    operator std::string() const { return json::serialize(fields_); }

private:
    op(std::string_view f, std::int64_t invoke, std::optional<std::int64_t> complete)
    {
        fields_ = {{"type", "op"}, {"process", 1}, {"f", f}, {"key", "k"}, {"invoke", invoke}};
        if (complete)
            fields_["complete"] = *complete;
        else
            fields_["complete"] = nullptr;
    }

    json::object fields_;
};

// The final line of `key`: its versions 1, 2, ... written by `write_ids`.
std::string final_of(std::vector<std::string_view> write_ids, std::string_view key = "k")
{
    json::array versions;
    for (std::size_t i = 0; i < write_ids.size(); ++i)
        versions.push_back(json::object{{"version", i + 1}, {"write_id", write_ids[i]}});
    return json::serialize(json::object{{"type", "final"}, {"key", key}, {"versions", std::move(versions)}});
}

// The final line of `key` with explicit version numbers.
std::string final_with(std::vector<std::pair<std::uint64_t, std::string_view>> entries,
                       std::string_view key = "k")
{
    json::array versions;
    for (const auto& [version, write_id] : entries)
        versions.push_back(json::object{{"version", version}, {"write_id", write_id}});
    return json::serialize(json::object{{"type", "final"}, {"key", key}, {"versions", std::move(versions)}});
}

std::string crash(std::int64_t at, bool power_loss = false)
{
    json::object line{{"type", "crash"}, {"at", at}};
    if (power_loss)
        line["power_loss"] = true;
    return json::serialize(line);
}

std::string restart(std::int64_t at)
{
    return json::serialize(json::object{{"type", "restart"}, {"at", at}});
}

// Line i of the history is lines[i - 1].
history load(const std::vector<std::string>& lines)
{
    std::string text;
    for (const std::string& line : lines)
        text += line + "\n";
    auto read = read_history(text);
    if (auto* error = std::get_if<history_error>(&read))
        ADD_FAILURE() << "line " << error->line << ": " << error->message;
    return std::get<history>(std::move(read));
}

history_error load_error(const std::string& text)
{
    auto read = read_history(text);
    if (std::holds_alternative<history>(read))
    {
        ADD_FAILURE() << "the history was accepted";
        return {};
    }
    return std::get<history_error>(read);
}

bool names(const std::vector<violation>& violations, violation_kind kind, std::uint32_t line)
{
    return std::any_of(violations.begin(), violations.end(),
                       [&](const violation& v) {
                           return v.kind == kind &&
                                  std::find(v.lines.begin(), v.lines.end(), line) != v.lines.end();
                       });
}

std::string listed(const std::vector<violation>& violations)
{
    std::string out;
    for (const violation& v : violations)
    {
        out += "\n  " + std::string(name_of(v.kind)) + " " + v.key + " [";
        for (const std::uint32_t line : v.lines)
            out += " " + std::to_string(line);
        out += " ] " + v.message;
    }
    return out.empty() ? " (none)" : out;
}

// ---- the reader --------------------------------------------------------------------------------

TEST(HistoryCheckReader, ReadsEveryLineTypeAndIgnoresWhatItDoesNotKnow)
{
    const history h = load({
        op::create("w1", 10, 20).ok(1).with("latency_ms", 3).with("http", json::object{{"status", 201}}),
        op::cas(1, "w2", 30, std::nullopt).unknown(),
        crash(40, true),
        restart(50),
        R"({"type":"checkpoint","at":55})",
        "",
        op::read(60, 70).saw(1, "w1").by(2),
        final_of({"w1"}),
    });
    ASSERT_EQ(h.ops.size(), 3u);
    EXPECT_EQ(h.ops[0].f, op_function::create);
    EXPECT_EQ(h.ops[0].version, 1u);
    EXPECT_EQ(h.write_ids.text(h.ops[0].write_id), "w1");
    EXPECT_FALSE(h.ops[1].has_complete);
    EXPECT_EQ(h.ops[1].outcome, op_outcome::unknown);
    EXPECT_EQ(h.ops[2].line, 7u);
    EXPECT_EQ(h.ops[2].process, 2);
    EXPECT_EQ(h.write_ids.text(h.ops[2].read_write_id), "w1");
    ASSERT_EQ(h.crashes.size(), 1u);
    EXPECT_TRUE(h.crashes[0].power_loss);
    EXPECT_EQ(h.restarts.size(), 1u);
    EXPECT_EQ(h.ignored_lines, 1u);
    EXPECT_EQ(h.finals[h.ops[0].key].versions.size(), 1u);
}

TEST(HistoryCheckReader, AMalformedLineIsAnErrorNamingItsNumber)
{
    const std::string good = std::string(op::create("w1", 10, 20).ok(1)) + "\n";
    EXPECT_EQ(load_error(good + "{\"type\":\"op\",\n").line, 2u);
    EXPECT_EQ(load_error(good + "[1,2]\n").line, 2u);
    EXPECT_EQ(load_error(good + std::string(op::read(1, 2).saw(0, "").with("invoke", "soon")) + "\n").line,
              2u);
    EXPECT_EQ(load_error(good + std::string(op::read(1, 2)) + "\n").message, "missing \"outcome\"");
    EXPECT_EQ(load_error(good + std::string(op::read(5, 2).saw(0, "")) + "\n").line,
              2u); // ends before it starts
    EXPECT_EQ(load_error(good + std::string(op::read(5, std::nullopt).saw(0, "")) + "\n").line,
              2u); // ok needs complete
    EXPECT_EQ(load_error(good + std::string(op::read(1, 2).saw(3, "")) + "\n").line,
              2u); // a version needs its write
    EXPECT_EQ(load_error(good + std::string(op::cas(1, "w2", 1, 2).fail().with("f", "delete")) + "\n").line,
              2u);
    EXPECT_EQ(load_error(good + final_with({{2, "w1"}, {1, "w2"}}) + "\n").line, 2u);
}

TEST(HistoryCheckReader, HistoryWideMistakesAreErrors)
{
    // A key with operations but no final line.
    EXPECT_EQ(load_error(std::string(op::create("w1", 10, 20).ok(1)) + "\n").line, 1u);
    // One write id on two writes.
    const std::string twice = std::string(op::create("w1", 10, 20).ok(1)) + "\n" +
                              std::string(op::cas(1, "w1", 30, 40).ok(2)) + "\n";
    EXPECT_EQ(load_error(twice).line, 2u);
    // Two final lines for one key.
    EXPECT_EQ(load_error(final_of({}) + "\n" + final_of({}) + "\n").line, 2u);
}

// ---- one bad history per kind ------------------------------------------------------------------

struct bad_history
{
    std::string name;
    std::vector<std::string> lines;
    // What the version-order checker must report, naming `line` (nullopt: it cannot see this one).
    std::optional<violation_kind> version_order_kind;
    std::uint32_t line = 0;
};

std::vector<bad_history> bad_histories()
{
    return {
        {"LostUpdate", // a compare-and-swap on version 1 succeeds after version 2 was acknowledged
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2), op::cas(1, "w3", 40, 50).by(2).ok(3),
          final_of({"w1", "w2", "w3"})},
         violation_kind::lost_update,
         3},
        {"LostUpdateConcurrent", // two concurrent cas(1) both succeed: the store appended both
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 40).ok(2), op::cas(1, "w3", 25, 45).by(2).ok(3),
          final_of({"w1", "w2", "w3"})},
         violation_kind::lost_update,
         3},
        {"StaleRead", // version 2 was acknowledged before the read began; the read returns version 1
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2), op::read(40, 50).by(2).saw(1, "w1"),
          final_of({"w1", "w2"})},
         violation_kind::stale_read,
         3},
        {"Regression", // a read sees version 2 while its write is pending; a later read goes back to 1
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 100).ok(2), op::read(30, 40).by(2).saw(2, "w2"),
          op::read(50, 60).by(3).saw(1, "w1"), final_of({"w1", "w2"})},
         violation_kind::regression,
         4},
        {"Gap", // version 3 is skipped: its write was in flight at a crash, yet version 4 followed it
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2),
          op::cas(2, "w3", 40, std::nullopt).unknown(), crash(45), restart(50),
          op::cas(3, "w4", 60, 70).by(2).ok(4), final_with({{1, "w1"}, {2, "w2"}, {4, "w4"}})},
         violation_kind::gap,
         7},
        {"DuplicateAcknowledged", // two writes acknowledged with the same version
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 40).ok(2), op::cas(1, "w3", 25, 45).by(2).ok(2),
          final_of({"w1", "w2"})},
         violation_kind::duplicate,
         3},
        {"DuplicateApplied", // one write applied twice
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2), final_of({"w1", "w2", "w2"})},
         violation_kind::duplicate,
         3},
        {"PhantomFromNoWrite", // a version no write of the history made, and a read of it
         {op::create("w1", 0, 10).ok(1), op::read(20, 30).saw(2, "w-x"), final_of({"w1", "w-x"})},
         violation_kind::phantom,
         2},
        {"PhantomFromFailedWrite", // a version from a write that was answered 412
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).fail(), op::read(40, 50).saw(2, "w2"),
          final_of({"w1", "w2"})},
         violation_kind::phantom,
         2},
        {"TornRead", // the read names version 2 with the write id of version 1
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2), op::read(40, 50).saw(2, "w1"),
          final_of({"w1", "w2"})},
         violation_kind::torn_read,
         3},
        {"FutureRead", // the read returns a version whose write began after the read ended
         {op::read(0, 10).by(2).saw(1, "w1"), op::create("w1", 20, 30).ok(1), final_of({"w1"})},
         violation_kind::future_read,
         1},
        {"LostWrite", // an acknowledged write is gone after a crash
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2), crash(40, true), restart(50),
          final_of({"w1"})},
         violation_kind::lost_write,
         2},
        {"LostWriteSeenThenLost", // a write of unknown outcome was read, then lost in a power loss
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, std::nullopt).unknown(),
          op::read(25, 30).by(2).saw(2, "w2"), crash(40, true), restart(50), final_of({"w1"})},
         violation_kind::lost_write,
         3},
        {"RegressionAfterA412", // a 412's ETag names version 1; a read that begins after it finds no record
         {op::create("w1", 0, 50).ok(1), op::create("w2", 5, 20).by(2).fail(1).with("status", 412),
          op::read(25, 30).by(3).saw(0, ""), final_of({"w1"})},
         violation_kind::regression,
         3},
        {"ReadOfABodyWithoutItsWriteId", // version 1's body carries no write id
         {op::create("w1", 0, 10).ok(1), op::read(20, 30).saw(1, "").with("read_write_id", ""),
          final_of({"w1"})},
         violation_kind::phantom,
         2},
        {"CreateRefusedOnAbsentRecord", // a 409 although the record never existed
         {op::create("w1", 0, 10).fail(), final_of({})},
         std::nullopt},
        {"PreconditionFailedAtTheRightVersion", // a 412 for If-Match 1 while the record was at 1 throughout
         {op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).fail(), final_of({"w1"})},
         std::nullopt},
    };
}

// Names the history in a failed test's output instead of dumping its bytes.
void PrintTo(const bad_history& bad, std::ostream* out)
{
    *out << bad.name;
}

class HistoryCheckBadHistory : public testing::TestWithParam<bad_history>
{
};

TEST_P(HistoryCheckBadHistory, TheVersionOrderCheckerNamesItsKind)
{
    const bad_history& bad = GetParam();
    const history h = load(bad.lines);
    const version_order_report report = check_version_order(h);
    if (!bad.version_order_kind)
    {
        EXPECT_TRUE(report.violations.empty())
            << "a kind it was thought not to see:" << listed(report.violations);
        return;
    }
    EXPECT_TRUE(names(report.violations, *bad.version_order_kind, bad.line))
        << "expected " << name_of(*bad.version_order_kind) << " naming line " << bad.line << ", got"
        << listed(report.violations);
}

TEST_P(HistoryCheckBadHistory, TheWglSearchFindsNoLinearization)
{
    const bad_history& bad = GetParam();
    const history h = load(bad.lines);
    const wgl_report report = check_wgl(h);
    ASSERT_EQ(report.violations.size(), 1u) << listed(report.violations);
    EXPECT_EQ(report.violations[0].kind, violation_kind::not_linearizable);
    EXPECT_EQ(report.violations[0].key, "k");
    EXPECT_FALSE(report.violations[0].lines.empty());
    EXPECT_TRUE(report.inconclusive.empty());
}

TEST_P(HistoryCheckBadHistory, TheWglSearchWithoutItsReductionAgrees)
{
    const history h = load(GetParam().lines);
    const wgl_report report = check_wgl(h, {.reduce = false});
    ASSERT_EQ(report.violations.size(), 1u) << listed(report.violations);
    EXPECT_EQ(report.violations[0].kind, violation_kind::not_linearizable);
}

INSTANTIATE_TEST_SUITE_P(HistoryCheckEveryKind, HistoryCheckBadHistory, testing::ValuesIn(bad_histories()),
                         [](const testing::TestParamInfo<bad_history>& param) { return param.param.name; });

TEST(HistoryCheckWgl, NamesTheOperationThatCannotTakeEffect)
{
    const history h = load({op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 30).ok(2),
                            op::read(40, 50).by(2).saw(1, "w1"), final_of({"w1", "w2"})});
    const wgl_report report = check_wgl(h);
    ASSERT_EQ(report.violations.size(), 1u);
    EXPECT_EQ(report.violations[0].lines, std::vector<std::uint32_t>{3});
}

// ---- good histories ----------------------------------------------------------------------------

void expect_both_pass(const history& h)
{
    const version_order_report version_order = check_version_order(h);
    EXPECT_TRUE(version_order.violations.empty()) << "version-order:" << listed(version_order.violations);
    const wgl_report wgl = check_wgl(h);
    EXPECT_TRUE(wgl.violations.empty()) << "wgl:" << listed(wgl.violations);
    EXPECT_TRUE(wgl.inconclusive.empty());
    const wgl_report plain = check_wgl(h, {.reduce = false});
    EXPECT_TRUE(plain.violations.empty()) << "wgl without its reduction:" << listed(plain.violations);
}

TEST(HistoryCheckGood, ConcurrentReadsAndWritesInAnyOrderTheyOverlap)
{
    expect_both_pass(load({
        op::create("w1", 0, 10).ok(1),
        op::cas(1, "w2", 20, 60).ok(2),                  // pending from 20 to 60
        op::read(25, 35).by(2).saw(1, "w1"),             // before it
        op::read(30, 70).by(3).saw(2, "w2"),             // after it
        op::cas(1, "w3", 22, 50).by(4).fail(2),          // 412: it saw w2, already applied
        op::read(55, 65).by(5).saw(2, "w2"),             //
        op::cas(2, "w4", 62, 90).by(2).ok(3),            //
        op::cas(2, "w5", 63, 95).by(5).fail(),           // 412 from w4, without an ETag
        op::read(64, 80).by(4).saw(2, "w2"),             // w4 still pending
        op::create("w6", 66, 75).by(6).fail(),           // 409: the record exists
        op::read(100, 110).by(3).saw(3, "w4"),           //
        op::read(100, 110).on("other").by(6).saw(0, ""), // an absent record
        final_of({"w1", "w2", "w4"}),
        final_of({}, "other"),
    }));
}

TEST(HistoryCheckGood, WritesOfUnknownOutcomeTakeEffectOrNot)
{
    expect_both_pass(load({
        op::create("w1", 0, 10).ok(1),
        op::cas(1, "w2", 20, 30).unknown(),                 // a timeout: it took effect (see the final list)
        op::cas(1, "w3", 40, std::nullopt).by(2).unknown(), // never took effect
        op::read(50, 60).by(3).saw(2, "w2"),
        op::cas(2, "w4", 70, 80).by(3).unknown(),                   // a 5xx: it took effect, seen by no one
        op::read(85, std::nullopt).by(4).unknown(),                 // says nothing
        op::cas(1, "w5", 90, 95).by(5).with("status", 400).fail(),  // a 400 says nothing about the version
        op::cas(1, "w6", 91, 96).by(6).with("status", 429).fail(7), // nor does a 429, whatever its ETag
        op::create("w7", 92, 97).by(7).with("status", 412).fail(3), // If-None-Match: * refused
        final_of({"w1", "w2", "w4"}),
    }));
}

TEST(HistoryCheckGood, CrashesEndWhatWasInFlight)
{
    expect_both_pass(load({
        op::create("w1", 0, 10).ok(1),
        op::cas(1, "w2", 20, std::nullopt).unknown(),       // in flight at the crash: took effect
        op::cas(1, "w3", 25, std::nullopt).by(2).unknown(), // in flight at the crash: did not
        op::read(21, std::nullopt).by(3).unknown(),
        crash(30, true),
        restart(40),
        op::read(50, 60).saw(2, "w2"),                      // process 1 reused after the restart
        op::cas(2, "w4", 55, std::nullopt).by(2).unknown(), // in flight at the second crash: took effect
        crash(70),
        restart(80),
        op::read(90, 100).by(3).saw(3, "w4"),
        op::create("w5", 90, 95).on("c").by(4).ok(1),
        final_of({"w1", "w2", "w4"}),
        final_of({"w5"}, "c"),
    }));
}

TEST(HistoryCheckGood, AWriteOfUnknownOutcomeMayTakeEffectLongAfterItsTimeout)
{
    // Without a crash, a request that timed out may still be applied: no window bound but the
    // first operation that saw it.
    expect_both_pass(load({
        op::create("w1", 0, 10).ok(1),
        op::cas(1, "w2", 20, 30).unknown(),
        op::read(40, 50).by(2).saw(1, "w1"),
        op::read(60, 70).by(2).saw(2, "w2"),
        final_of({"w1", "w2"}),
    }));
}

// ---- WGL windows -------------------------------------------------------------------------------

TEST(HistoryCheckWgl, CutsWindowsWhereNothingIsPending)
{
    const history h = load({
        op::create("w1", 0, 10).ok(1),
        op::read(20, 30).saw(1, "w1"),
        op::cas(1, "w2", 40, 60).ok(2),
        op::read(50, 70).by(2).saw(2, "w2"),
        op::read(80, 90).saw(2, "w2"),
        final_of({"w1", "w2"}),
    });
    const wgl_report report = check_wgl(h);
    EXPECT_TRUE(report.violations.empty()) << listed(report.violations);
    EXPECT_EQ(report.windows, 4u);
    EXPECT_EQ(report.largest_window, 2u);
}

TEST(HistoryCheckWgl, ATooWideWindowIsInconclusiveNotAVerdict)
{
    std::vector<std::string> lines{op::create("w1", 0, 10).ok(1)};
    for (int p = 0; p < 10; ++p)
        lines.push_back(op::read(20 + p, 100).by(p).saw(1, "w1"));
    lines.push_back(final_of({"w1"}));
    const wgl_report report = check_wgl(load(lines), {.max_window = 4});
    EXPECT_TRUE(report.violations.empty());
    ASSERT_EQ(report.inconclusive.size(), 1u);
    EXPECT_EQ(report.inconclusive[0].key, "k");
    EXPECT_EQ(report.inconclusive[0].ops, 10u);
    EXPECT_EQ(report.inconclusive[0].width, 9u);
}

TEST(HistoryCheckWgl, ASearchOverBudgetIsInconclusive)
{
    // Reads of version 1 all overlapping a write: without the reduction, Lowe's search tries
    // every order of them around the write.
    std::vector<std::string> lines{op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 200).ok(2)};
    for (int p = 0; p < 12; ++p)
        lines.push_back(op::read(21 + p, 150).by(p + 2).saw(1, "w1"));
    lines.push_back(op::read(300, 310).saw(2, "w2"));
    lines.push_back(final_of({"w1", "w2"}));
    const history h = load(lines);
    const wgl_report starved = check_wgl(h, {.max_explored = 5, .explored_per_op = 0, .reduce = false});
    EXPECT_TRUE(starved.violations.empty());
    ASSERT_EQ(starved.inconclusive.size(), 1u);
    EXPECT_EQ(starved.inconclusive[0].key, "k");
    const wgl_report enough = check_wgl(h, {.reduce = false});
    EXPECT_TRUE(enough.violations.empty()) << listed(enough.violations);
    EXPECT_TRUE(enough.inconclusive.empty());
}

TEST(HistoryCheckWgl, AnInconclusiveWindowStillCarriesItsStateToTheNext)
{
    // The wide window's writes are counted, so the stale read after it is still caught.
    std::vector<std::string> lines{op::create("w1", 0, 10).ok(1), op::cas(1, "w2", 20, 100).ok(2)};
    for (int p = 0; p < 6; ++p)
        lines.push_back(op::read(21 + p, 90).by(p + 2).saw(1, "w1"));
    lines.push_back(op::read(200, 210).saw(1, "w1")); // line 9: stale
    lines.push_back(final_of({"w1", "w2"}));
    const wgl_report report = check_wgl(load(lines), {.max_window = 2});
    EXPECT_EQ(report.inconclusive.size(), 1u);
    ASSERT_EQ(report.violations.size(), 1u);
    EXPECT_EQ(report.violations[0].lines, std::vector<std::uint32_t>{9});
}

// ---- generated histories -----------------------------------------------------------------------

history generated(std::size_t ops, std::uint64_t seed, unsigned hot_keys = 4)
{
    std::ostringstream out;
    generate_history(out, {.ops = ops, .seed = seed, .processes = 32, .hot_keys = hot_keys, .crashes = 6});
    auto read = read_history(out.str());
    if (auto* error = std::get_if<history_error>(&read))
        ADD_FAILURE() << "line " << error->line << ": " << error->message;
    return std::get<history>(std::move(read));
}

TEST(HistoryCheckGenerated, CorrectHistoriesPassBothCheckers)
{
    for (std::uint64_t seed = 1; seed <= 4; ++seed)
    {
        const history h = generated(20'000, seed, static_cast<unsigned>(seed));
        ASSERT_GE(h.ops.size(), 20'000u);
        ASSERT_EQ(h.crashes.size(), 6u);
        EXPECT_TRUE(std::any_of(h.ops.begin(), h.ops.end(),
                                [](const operation& op) { return op.outcome == op_outcome::unknown; }));
        const version_order_report version_order = check_version_order(h);
        EXPECT_TRUE(version_order.violations.empty()) << "seed " << seed << listed(version_order.violations);
        const wgl_report wgl = check_wgl(h);
        EXPECT_TRUE(wgl.violations.empty()) << "seed " << seed << listed(wgl.violations);
        EXPECT_TRUE(wgl.inconclusive.empty()) << "seed " << seed;
        EXPECT_GT(wgl.largest_window, 100u) << "seed " << seed << ": the hot keys should overlap";
    }
}

TEST(HistoryCheckGenerated, TheReductionChangesNoVerdictOnSmallHistories)
{
    for (std::uint64_t seed = 1; seed <= 20; ++seed)
    {
        std::ostringstream out;
        generate_history(out, {.ops = 300, .seed = seed, .processes = 4, .hot_keys = 1, .crashes = 2});
        history h = std::get<history>(read_history(out.str()));
        const bool plain_ok = check_wgl(h, {.reduce = false}).violations.empty();
        EXPECT_TRUE(plain_ok) << "seed " << seed;
        EXPECT_EQ(check_wgl(h).violations.empty(), plain_ok) << "seed " << seed;

        // Broken: version 2 of the hot record is missing.
        const std::uint32_t hot = h.keys.find("hot-0");
        ASSERT_NE(hot, string_table::none);
        auto& versions = h.finals[hot].versions;
        ASSERT_GE(versions.size(), 3u);
        versions.erase(versions.begin() + 1);
        const bool broken_plain_ok = check_wgl(h, {.reduce = false}).violations.empty();
        EXPECT_FALSE(broken_plain_ok) << "seed " << seed;
        EXPECT_EQ(check_wgl(h).violations.empty(), broken_plain_ok) << "seed " << seed;
    }
}

// A hot key's final list, and the acknowledged write whose version it will lose.
struct victim
{
    std::uint32_t key = string_table::none;
    std::size_t op = 0;
};

victim acknowledged_write_on_a_hot_key(const history& h)
{
    for (std::size_t i = h.ops.size() / 2; i < h.ops.size(); ++i)
    {
        const operation& op = h.ops[i];
        if (op.f == op_function::cas && op.outcome == op_outcome::ok &&
            h.key_name(op.key).starts_with("hot-"))
            return {op.key, i};
    }
    ADD_FAILURE() << "no acknowledged cas on a hot key";
    return {};
}

TEST(HistoryCheckGenerated, ALostAcknowledgedWriteIsCaughtByBoth)
{
    history h = generated(20'000, 9);
    const victim v = acknowledged_write_on_a_hot_key(h);
    // Power loss with a broken fsync: the final list ends before the acknowledged version.
    auto& versions = h.finals[v.key].versions;
    versions.resize(h.ops[v.op].version - 1);
    EXPECT_TRUE(names(check_version_order(h).violations, violation_kind::lost_write, h.ops[v.op].line));
    const wgl_report wgl = check_wgl(h);
    ASSERT_FALSE(wgl.violations.empty());
    EXPECT_EQ(wgl.violations[0].key, h.key_name(v.key));
}

TEST(HistoryCheckGenerated, ASkippedVersionIsCaughtByBoth)
{
    history h = generated(20'000, 10);
    const victim v = acknowledged_write_on_a_hot_key(h);
    auto& versions = h.finals[v.key].versions;
    versions.erase(versions.begin() + static_cast<std::ptrdiff_t>(h.ops[v.op].version - 1));
    EXPECT_TRUE(names(check_version_order(h).violations, violation_kind::gap, h.finals[v.key].line));
    EXPECT_FALSE(check_wgl(h).violations.empty());
}

TEST(HistoryCheckGenerated, AStaleReadIsCaughtByBoth)
{
    history h = generated(20'000, 11);
    // A read that returned version v >= 2 at least 2 versions after the acknowledgment of version v
    // - 1... made to return v - 1 after the write of v was acknowledged.
    for (std::size_t i = h.ops.size() / 2; i < h.ops.size(); ++i)
    {
        operation& read = h.ops[i];
        if (read.f != op_function::read || read.outcome != op_outcome::ok || read.version < 2)
            continue;
        const auto writer = std::find_if(h.ops.begin(), h.ops.end(),
                                         [&](const operation& w)
                                         { return w.is_write() && w.write_id == read.read_write_id; });
        if (writer == h.ops.end() || writer->outcome != op_outcome::ok || writer->complete >= read.invoke)
            continue;
        read.version -= 1;
        read.read_write_id = h.finals[read.key].versions[read.version - 1].write_id;
        EXPECT_TRUE(names(check_version_order(h).violations, violation_kind::stale_read, read.line));
        const wgl_report wgl = check_wgl(h);
        ASSERT_FALSE(wgl.violations.empty());
        EXPECT_EQ(wgl.violations[0].key, h.key_name(read.key));
        return;
    }
    FAIL() << "no read after an acknowledged write";
}

} // namespace
