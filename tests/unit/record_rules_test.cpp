// Unit tests for the rules of request types as the record service applies them (record_service.hpp) on a
// real RocksDB store: defaults, required and read-only attributes, mutable_in and updatable_in, requirements,
// timestamps, scheduled expiry and its timers, the idempotency hook, no-op writes and the record size and
// depth limits (docs/CONFIG.md "Request types" and "Scheduled expiry", docs/API.md).
#include <reqstore/core/errc.hpp>
#include <reqstore/core/expiry_scheduler.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/core/request_type.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "service_harness.hpp"

namespace reqstore::core
{
// Lets failures print a timer as "<due>@<id>".
void PrintTo(const timer_key& t, std::ostream* os)
{
    *os << t.due << "@" << t.id;
}
} // namespace reqstore::core

namespace
{

namespace json = boost::json;
using reqstore::core::body_media;
using reqstore::core::errc;
using reqstore::core::failure;
using reqstore::core::format_rfc3339;
using reqstore::core::idempotency_entry;
using reqstore::core::idempotency_hook;
using reqstore::core::parse_rfc3339;
using reqstore::core::result;
using reqstore::core::service_options;
using reqstore::core::stored_version;
using reqstore::core::timer_key;
using reqstore::core::unix_millis;
using reqstore::core::write_input;
using reqstore::core::write_outcome;
using reqstore::test::deadline;
using reqstore::test::describe;
using reqstore::test::refused;
using reqstore::test::service_harness;

// The type every test here uses. A ticket is written in draft, opened, closed and archived; it expires
// (moves to "expired") once the time in expires_at has passed.
constexpr std::string_view ticket_type = R"({
    "id_prefix": "tkt_",
    "states": ["draft", "open", "closed", "expired", "archived"],
    "initial": "draft",
    "transitions": {
        "draft": ["open", "expired"],
        "open": ["closed", "expired", "draft"],
        "expired": ["open"],
        "closed": ["archived"]
    },
    "final": ["archived"],
    "attributes": {
        "title": {"type": "string", "required": true},
        "priority": {"type": "integer", "min": 1, "max": 5, "default": 3},
        "account": {"type": "string", "read_only": true},
        "owner": {"type": "string", "mutable_in": ["draft"]},
        "notes": {"type": "string"},
        "opened_at": {"type": "datetime", "read_only": true},
        "expired_at": {"type": "datetime"},
        "expires_at": {"type": "datetime"}
    },
    "requires": {"closed": ["owner", "notes"]},
    "updatable_in": ["draft", "open", "expired"],
    "timestamps": {"open": "opened_at", "expired": "expired_at"},
    "expires": {"attribute": "expires_at", "state": "expired"}
})";

constexpr unix_millis past_millis = 1577836800000; // 2020-01-01T00:00:00Z
constexpr std::string_view future = "2999-01-01T00:00:00Z";
constexpr std::string_view later_future = "2999-06-01T00:00:00Z";

// The harness serving the ticket type, with an expiry scheduler when a test starts one.
struct service_fixture : service_harness
{
    std::unique_ptr<reqstore::core::expiry_scheduler> scheduler; // only when a test starts one

    explicit service_fixture(service_options options = {})
        : service_harness(json::object{{"ticket", json::parse(ticket_type)}}, options)
    {
    }

    // Stops the scheduler and shuts the harness down while the scheduler still exists: its loop may be on the
    // io_context until the threads are joined.
    ~service_fixture()
    {
        if (scheduler)
            scheduler->stop();
        shut_down();
    }

    void start_scheduler()
    {
        scheduler = std::make_unique<reqstore::core::expiry_scheduler>(ioc.get_executor(), *service, *store);
        scheduler->start();
    }

    // Waits until record `id` is in `status`, at most `deadline`.
    bool reaches(const std::string& id, std::string_view status)
    {
        const auto give_up = std::chrono::steady_clock::now() + deadline;
        while (std::chrono::steady_clock::now() < give_up)
        {
            if (current(id).status == status)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

    result<write_outcome> create(std::string_view body)
    {
        return await(service->create(input(std::string(body))));
    }
    result<write_outcome> put(const std::string& id, std::string_view body)
    {
        return await(service->put(id, input(std::string(body))));
    }
    result<write_outcome> merge_patch(const std::string& id, std::string_view body)
    {
        return await(service->patch(id, input(std::string(body), body_media::merge_patch)));
    }
    result<write_outcome> json_patch(const std::string& id, std::string_view body)
    {
        return await(service->patch(id, input(std::string(body), body_media::json_patch)));
    }
    result<write_outcome> remove(const std::string& id)
    {
        return await(service->remove(id, input("", body_media::none)));
    }
    result<bool> fire(const timer_key& timer) { return await(service->fire_expiry(timer)); }

    // Creates a record that must be accepted; returns its id.
    std::string created(std::string_view body) { return must(create(body)).id; }

    std::vector<timer_key> timers()
    {
        auto due = await(store->timers_due(std::numeric_limits<unix_millis>::max(), 100));
        if (!due)
            throw std::runtime_error("timers_due failed: " + describe(due.error()));
        return *due;
    }
};

// Fires `timer`: "committed" (a version moved the record), "dropped" (the timer went without a version), or
// the failure.
std::string fired(service_fixture& f, const timer_key& timer)
{
    const auto r = f.fire(timer);
    if (!r)
        return describe(r.error());
    return *r ? "committed" : "dropped";
}

// forget_idempotent_before's count, or -1 on failure.
long forgotten(service_fixture& f, unix_millis cutoff)
{
    const auto r = f.await(f.service->forget_idempotent_before(cutoff));
    return r ? static_cast<long>(*r) : -1;
}

// --- create: defaults, required, read-only ---------------------------------------------------------------

TEST(RecordRules, DefaultsAreAppliedAtCreate)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const json::object r = f.record(id);
    EXPECT_EQ(r.at("priority"), 3);
    EXPECT_EQ(r.at("status"), "draft");
}

TEST(RecordRules, DefaultsDoNotReplaceAGivenValue)
{
    service_fixture f;
    EXPECT_EQ(f.record(f.created(R"({"type": "ticket", "title": "a", "priority": 5})")).at("priority"), 5);
    EXPECT_EQ(f.record(f.created(R"({"type": "ticket", "title": "a", "priority": null})")).at("priority"),
              nullptr);
}

TEST(RecordRules, RequiredAttributeMustBeGivenAtCreate)
{
    service_fixture f;
    for (const char* body : {R"({"type": "ticket"})", R"({"type": "ticket", "title": null})"})
    {
        const failure problem = refused(f.create(body));
        EXPECT_EQ(problem.code, errc::validation_failed) << describe(problem);
        EXPECT_EQ(json::value(problem.extensions), json::parse(R"({"errors": {"/title": "is required"}})"))
            << body;
    }
}

TEST(RecordRules, RequiredAttributeCannotBeRemovedLater)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const failure problem = refused(f.merge_patch(id, R"({"title": null})"));
    EXPECT_EQ(problem.code, errc::validation_failed) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions), json::parse(R"({"errors": {"/title": "is required"}})"));
}

TEST(RecordRules, ReadOnlyAttributeMayBeGivenAtCreate)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "account": "acme"})");
    EXPECT_EQ(f.record(id).at("account"), "acme");
}

TEST(RecordRules, ReadOnlyAttributeCannotChangeLater)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "account": "acme"})");
    for (const auto& [media, body] :
         {std::pair{body_media::json, R"({"account": "other"})"},
          std::pair{body_media::merge_patch, R"({"account": null})"},
          std::pair{body_media::json_patch, R"([{"op": "remove", "path": "/account"}])"}})
    {
        const failure problem = refused(f.await(f.service->patch(id, service_fixture::input(body, media))));
        EXPECT_EQ(problem.code, errc::read_only_field) << body << ": " << describe(problem);
        EXPECT_EQ(json::value(problem.extensions), json::parse(R"({"errors": {"/account": "is read-only"}})"))
            << body;
    }
    const failure by_put = refused(f.put(id, R"({"account": "other"})"));
    EXPECT_EQ(by_put.code, errc::read_only_field) << describe(by_put);
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.record(id).at("account"), "acme");
}

TEST(RecordRules, ReadOnlyAttributeAbsentAtCreateCannotBeSetLater)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const failure problem = refused(f.put(id, R"({"account": "late"})"));
    EXPECT_EQ(problem.code, errc::read_only_field) << describe(problem);
}

TEST(RecordRules, RepeatingAReadOnlyValueIsAWriteThatChangesNothing)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "account": "acme"})");
    const auto outcome = service_fixture::must(f.put(id, R"({"account": "acme"})"));
    EXPECT_FALSE(outcome.committed);
    EXPECT_EQ(outcome.record.version, 1u);
}

TEST(RecordRules, SystemFieldsCannotBeGivenAtCreate)
{
    service_fixture f;
    const failure problem =
        refused(f.create(R"({"type": "ticket", "title": "a", "version": 4, "created_by": "x"})"));
    EXPECT_EQ(problem.code, errc::read_only_field) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions),
              json::parse(R"({"errors": {"/version": "is read-only", "/created_by": "is read-only"}})"));
}

TEST(RecordRules, CreateRecordsTheActorAndTheInitialState)
{
    service_fixture f;
    const auto outcome = service_fixture::must(f.create(R"({"type": "ticket", "title": "a"})"));
    EXPECT_TRUE(outcome.created);
    EXPECT_TRUE(outcome.committed);
    EXPECT_EQ(outcome.record.version, 1u);
    EXPECT_EQ(outcome.record.status, "draft");
    EXPECT_EQ(outcome.record.updated_by, "tester");
    EXPECT_EQ(outcome.id.substr(0, 4), "tkt_");
    const json::object r = f.record(outcome.id);
    EXPECT_EQ(r.at("created_by"), "tester");
    EXPECT_EQ(r.at("callback_url"), nullptr);
    EXPECT_EQ(r.at("metadata"), json::object());
}

// --- mutable_in, updatable_in, transitions, requires -----------------------------------------------------

TEST(RecordRules, MutableInAllowsAChangeOnlyInTheListedStates)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "owner": "ann"})");
    EXPECT_TRUE(service_fixture::must(f.put(id, R"({"owner": "bob"})")).committed);
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    const failure problem = refused(f.put(id, R"({"owner": "cy"})"));
    EXPECT_EQ(problem.code, errc::not_updatable_in_state) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions),
              json::parse(R"({"state": "open", "member": "owner", "mutable_in": ["draft"],
                              "errors": {"/owner": "owner cannot change while the request is open"}})"));
    EXPECT_EQ(f.record(id).at("owner"), "bob");
    // Other attributes still change in that state.
    EXPECT_TRUE(service_fixture::must(f.put(id, R"({"notes": "n"})")).committed);
}

TEST(RecordRules, MutableInIsJudgedOnTheStateBeforeTheWrite)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "owner": "ann"})");
    // Moving out of draft and changing owner in one write: judged in draft, so allowed.
    EXPECT_TRUE(service_fixture::must(f.put(id, R"({"status": "open", "owner": "bob"})")).committed);
    // Moving back to draft while changing owner: judged in open, so refused.
    const failure problem = refused(f.put(id, R"({"status": "draft", "owner": "cy"})"));
    EXPECT_EQ(problem.code, errc::not_updatable_in_state) << describe(problem);
}

// A ticket moved to closed (which requires owner and notes); returns its id.
std::string closed_ticket(service_fixture& f)
{
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "owner": "ann", "notes": "n"})");
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    service_fixture::must(f.put(id, R"({"status": "closed"})"));
    return id;
}

TEST(RecordRules, UpdatableInRefusesAttributeChangesInOtherStates)
{
    service_fixture f;
    const std::string id = closed_ticket(f);
    for (const char* body :
         {R"({"title": "b"})", R"({"metadata": {"k": 1}})", R"({"callback_url": "https://h.example/x"})"})
    {
        const failure problem = refused(f.put(id, body));
        EXPECT_EQ(problem.code, errc::not_updatable_in_state) << body << ": " << describe(problem);
        EXPECT_EQ(problem.extensions.at("state"), "closed") << body;
    }
    EXPECT_EQ(f.current(id).version, 3u);
}

TEST(RecordRules, StatusMoveAloneIsJudgedByTransitionsOutsideUpdatableIn)
{
    service_fixture f;
    const std::string id = closed_ticket(f);
    const auto moved = service_fixture::must(f.put(id, R"({"status": "archived"})"));
    EXPECT_TRUE(moved.committed);
    EXPECT_EQ(moved.record.status, "archived");
}

TEST(RecordRules, NothingChangesInAFinalState)
{
    service_fixture f;
    const std::string id = closed_ticket(f);
    service_fixture::must(f.put(id, R"({"status": "archived"})"));
    const failure problem = refused(f.put(id, R"({"title": "b"})"));
    EXPECT_EQ(problem.code, errc::not_updatable_in_state) << describe(problem);
    const failure move = refused(f.put(id, R"({"status": "closed"})"));
    EXPECT_EQ(move.code, errc::invalid_transition) << describe(move);
    EXPECT_EQ(move.extensions.at("allowed"), json::array());
    // A write that changes nothing is answered in every state.
    const auto same = service_fixture::must(f.put(id, R"({"title": "a"})"));
    EXPECT_FALSE(same.committed);
    // Deleting is allowed in every state, final ones included.
    EXPECT_TRUE(service_fixture::must(f.remove(id)).record.deleted);
}

TEST(RecordRules, MoveTheTypeDoesNotAllowListsTheAllowedTargets)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "owner": "ann", "notes": "n"})");
    const failure problem = refused(f.put(id, R"({"status": "closed"})"));
    EXPECT_EQ(problem.code, errc::invalid_transition) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions),
              json::parse(R"({"from": "draft", "to": "closed", "allowed": ["open", "expired"]})"));
}

TEST(RecordRules, RequirementsOfTheStateEnteredNameEachMissingMember)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    const failure problem = refused(f.put(id, R"({"status": "closed", "notes": null})"));
    EXPECT_EQ(problem.code, errc::requirements_missing) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions), json::parse(R"({"errors": {
        "/owner": "is required to enter state closed",
        "/notes": "is required to enter state closed"}})"));
    EXPECT_EQ(f.current(id).status, "open");
}

TEST(RecordRules, RequirementsApplyAtCreate)
{
    service_fixture f;
    const failure problem =
        refused(f.create(R"({"type": "ticket", "title": "a", "status": "closed", "owner": "o"})"));
    EXPECT_EQ(problem.code, errc::requirements_missing) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions),
              json::parse(R"({"errors": {"/notes": "is required to enter state closed"}})"));
    EXPECT_TRUE(
        f.create(R"({"type": "ticket", "title": "a", "status": "closed", "owner": "o", "notes": "n"})")
            .has_value());
}

TEST(RecordRules, RequirementsAreMetWhenGivenWithTheMove)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "owner": "ann"})");
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    EXPECT_EQ(service_fixture::must(f.put(id, R"({"status": "closed", "notes": "done"})")).record.status,
              "closed");
}

// --- timestamps ------------------------------------------------------------------------------------------

TEST(RecordRules, TimestampIsSetWhenTheRecordEntersTheState)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    EXPECT_FALSE(f.record(id).contains("opened_at"));
    const auto opened = service_fixture::must(f.put(id, R"({"status": "open"})"));
    const json::object r = f.record(id);
    ASSERT_TRUE(r.contains("opened_at"));
    EXPECT_EQ(r.at("opened_at"), r.at("updated_at"));
    EXPECT_EQ(r.at("opened_at"), json::value(format_rfc3339(opened.record.updated_at)));
    // The attribute is read-only: only the server sets it.
    const failure problem = refused(f.put(id, R"({"opened_at": "2020-01-01T00:00:00Z"})"));
    EXPECT_EQ(problem.code, errc::read_only_field) << describe(problem);
}

TEST(RecordRules, TimestampIsSetAtCreationInThatState)
{
    service_fixture f;
    const auto outcome =
        service_fixture::must(f.create(R"({"type": "ticket", "title": "a", "status": "open"})"));
    const json::object r = f.record(outcome.id);
    EXPECT_EQ(r.at("opened_at"), r.at("updated_at"));
    EXPECT_EQ(r.at("opened_at"), json::value(format_rfc3339(outcome.record.updated_at)));
}

TEST(RecordRules, TimestampStaysWhileTheRecordStaysInTheState)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "status": "open"})");
    const json::value opened_at = f.record(id).at("opened_at");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    service_fixture::must(f.put(id, R"({"notes": "n"})"));
    const json::object r = f.record(id);
    EXPECT_EQ(r.at("opened_at"), opened_at);
    EXPECT_NE(r.at("updated_at"), opened_at);
}

// --- scheduled expiry ------------------------------------------------------------------------------------

TEST(ScheduledExpiry, RecordWithAnExpiryTimeHasATimer)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    EXPECT_EQ(f.timers(), (std::vector<timer_key>{{past_millis, id}}));
    const auto due = f.await(f.store->timers_due(reqstore::core::now_millis(), 10));
    ASSERT_TRUE(due.has_value());
    EXPECT_EQ(*due, (std::vector<timer_key>{{past_millis, id}}));
}

TEST(ScheduledExpiry, RecordWithoutAnExpiryTimeHasNoTimer)
{
    service_fixture f;
    f.created(R"({"type": "ticket", "title": "a"})");
    f.created(R"({"type": "ticket", "title": "a", "expires_at": null})");
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, TimerAddedIsReportedToTheCallback)
{
    service_fixture f;
    std::mutex mutex;
    std::vector<unix_millis> reported;
    f.service->on_timer_added(
        [&](unix_millis due)
        {
            std::lock_guard lock(mutex);
            reported.push_back(due);
        });
    f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    f.created(R"({"type": "ticket", "title": "a"})");
    std::lock_guard lock(mutex);
    EXPECT_EQ(reported, std::vector<unix_millis>{past_millis});
}

TEST(ScheduledExpiry, FiringCommitsTheMoveAsSystemAndRemovesTheTimer)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    ASSERT_EQ(fired(f, {past_millis, id}), "committed");

    const stored_version v = f.current(id);
    EXPECT_EQ(v.version, 2u);
    EXPECT_EQ(v.status, "expired");
    EXPECT_EQ(v.updated_by, "system");
    const json::object r = f.record(id);
    EXPECT_EQ(r.at("status"), "expired");
    EXPECT_EQ(r.at("updated_by"), "system");
    EXPECT_EQ(r.at("created_by"), "tester");
    // The expiry state's timestamp is set like any other entry into the state.
    EXPECT_EQ(r.at("expired_at"), r.at("updated_at"));
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, TimerFiresOnce)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    ASSERT_EQ(fired(f, {past_millis, id}), "committed");
    EXPECT_EQ(fired(f, {past_millis, id}), "dropped");
    EXPECT_EQ(f.current(id).version, 2u);
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, ChangingTheExpiryTimeMovesTheTimer)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2999-01-01T00:00:00Z"})");
    const unix_millis first = *parse_rfc3339(future);
    const unix_millis second = *parse_rfc3339(later_future);
    EXPECT_EQ(f.timers(), (std::vector<timer_key>{{first, id}}));
    service_fixture::must(f.put(id, R"({"expires_at": "2999-06-01T00:00:00Z"})"));
    EXPECT_EQ(f.timers(), (std::vector<timer_key>{{second, id}}));
    // The same instant written with another offset is the same timer.
    service_fixture::must(f.put(id, R"({"expires_at": "2999-06-01T02:00:00+02:00"})"));
    EXPECT_EQ(f.timers(), (std::vector<timer_key>{{second, id}}));
    service_fixture::must(f.put(id, R"({"expires_at": null})"));
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, TimersOfSeveralRecordsComeEarliestFirst)
{
    service_fixture f;
    const std::string late =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2999-06-01T00:00:00Z"})");
    const std::string early =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    EXPECT_EQ(f.timers(),
              (std::vector<timer_key>{{past_millis, early}, {*parse_rfc3339(later_future), late}}));
    const auto earliest = f.await(f.store->earliest_timer());
    ASSERT_TRUE(earliest.has_value());
    EXPECT_EQ(*earliest, std::optional<timer_key>(timer_key{past_millis, early}));
}

TEST(ScheduledExpiry, DeletingRemovesTheTimer)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    ASSERT_EQ(f.timers().size(), 1u);
    service_fixture::must(f.remove(id));
    EXPECT_TRUE(f.timers().empty());
    // A timer that fires for a deleted record commits nothing.
    EXPECT_EQ(fired(f, {past_millis, id}), "dropped");
}

TEST(ScheduledExpiry, RecordInTheExpiryStateHasNoTimer)
{
    service_fixture f;
    f.created(
        R"({"type": "ticket", "title": "a", "status": "expired", "expires_at": "2020-01-01T00:00:00Z"})");
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, MovingIntoTheExpiryStateByHandRemovesTheTimer)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2999-01-01T00:00:00Z"})");
    ASSERT_EQ(f.timers().size(), 1u);
    service_fixture::must(f.put(id, R"({"status": "expired"})"));
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, RecordInAFinalStateHasNoTimer)
{
    service_fixture f;
    f.created(
        R"({"type": "ticket", "title": "a", "status": "archived", "expires_at": "2999-01-01T00:00:00Z"})");
    f.created(
        R"({"type": "ticket", "title": "a", "status": "archived", "expires_at": "2020-01-01T00:00:00Z"})");
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, ReachingAFinalStateRemovesTheTimer)
{
    service_fixture f;
    const std::string id = f.created(
        R"({"type": "ticket", "title": "a", "owner": "o", "notes": "n", "expires_at": "2999-01-01T00:00:00Z"})");
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    service_fixture::must(f.put(id, R"({"status": "closed"})"));
    EXPECT_EQ(f.timers().size(), 1u);
    service_fixture::must(f.put(id, R"({"status": "archived"})"));
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, LeavingTheExpiryStateAfterTheTimeGetsANewTimer)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    ASSERT_EQ(fired(f, {past_millis, id}), "committed");
    ASSERT_TRUE(f.timers().empty());
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    EXPECT_EQ(f.timers(), (std::vector<timer_key>{{past_millis, id}}));
    EXPECT_EQ(fired(f, {past_millis, id}), "committed");
    EXPECT_EQ(f.current(id).status, "expired");
    EXPECT_EQ(f.current(id).version, 4u);
}

TEST(ScheduledExpiry, StaleTimerIsDroppedWithoutAVersion)
{
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    service_fixture::must(f.put(id, R"({"expires_at": "2999-01-01T00:00:00Z"})"));
    EXPECT_EQ(fired(f, {past_millis, id}), "dropped");
    EXPECT_EQ(f.current(id).version, 2u);
    EXPECT_EQ(f.current(id).status, "draft");
    // The timer of the current expiry time stays.
    EXPECT_EQ(f.timers(), (std::vector<timer_key>{{*parse_rfc3339(future), id}}));
}

TEST(ScheduledExpiry, TimerIsDroppedWhenTheTypeDoesNotAllowTheMove)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a", "owner": "o", "notes": "n"})");
    service_fixture::must(f.put(id, R"({"status": "open"})"));
    service_fixture::must(f.put(id, R"({"expires_at": "2020-01-01T00:00:00Z", "status": "closed"})"));
    // closed is neither the expiry state nor final, so the record has a timer; closed -> expired is not
    // allowed.
    ASSERT_EQ(f.timers(), (std::vector<timer_key>{{past_millis, id}}));
    EXPECT_EQ(fired(f, {past_millis, id}), "dropped");
    EXPECT_EQ(f.current(id).version, 3u);
    EXPECT_EQ(f.current(id).status, "closed");
    EXPECT_TRUE(f.timers().empty());
}

TEST(ScheduledExpiry, TimeBeforeTheEpochStillExpires)
{
    // The attribute may hold any RFC 3339 time; one that has passed long ago must still fire, once.
    service_fixture f;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "1969-12-31T23:59:59Z"})");
    const auto timers = f.timers();
    ASSERT_EQ(timers.size(), 1u);
    EXPECT_EQ(timers[0].id, id);
    EXPECT_EQ(fired(f, timers[0]), "committed")
        << "the timer " << timers[0].due << "@" << id << " (expires_at -1000) did not move the record";
    EXPECT_EQ(f.current(id).status, "expired");
    EXPECT_TRUE(f.timers().empty());
}

TEST(ExpiryScheduler, FiresATimerThatIsAlreadyDue)
{
    service_fixture f;
    f.start_scheduler();
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    ASSERT_TRUE(f.reaches(id, "expired"));
    EXPECT_EQ(f.current(id).version, 2u);
    EXPECT_EQ(f.current(id).updated_by, "system");
    EXPECT_TRUE(f.timers().empty());
}

TEST(ExpiryScheduler, FiresTimersStoredBeforeItStarted)
{
    service_fixture f;
    const std::string a =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2020-01-01T00:00:00Z"})");
    const std::string b =
        f.created(R"({"type": "ticket", "title": "b", "expires_at": "2021-01-01T00:00:00Z"})");
    f.start_scheduler();
    EXPECT_TRUE(f.reaches(a, "expired"));
    EXPECT_TRUE(f.reaches(b, "expired"));
    EXPECT_TRUE(f.timers().empty());
}

TEST(ExpiryScheduler, WakesUpForATimerAddedWhileItSleeps)
{
    service_fixture f;
    f.start_scheduler();
    // Give the loop time to find no timer and go to sleep for its longest wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const unix_millis due = reqstore::core::now_millis() + 300;
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": ")" + format_rfc3339(due) + R"("})");
    ASSERT_TRUE(f.reaches(id, "expired"));
    EXPECT_GE(f.current(id).updated_at, due) << "fired before the time in expires_at";
    EXPECT_LT(f.current(id).updated_at, due + 10'000) << "fired long after the time in expires_at";
    EXPECT_TRUE(f.timers().empty());
}

TEST(ExpiryScheduler, LeavesFutureTimersAlone)
{
    service_fixture f;
    f.start_scheduler();
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "expires_at": "2999-01-01T00:00:00Z"})");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(f.current(id).status, "draft");
    EXPECT_EQ(f.timers().size(), 1u);
}

// --- the idempotency hook --------------------------------------------------------------------------------

// A hook that asks the core to keep the answer, with a form naming the key.
idempotency_hook hook(std::string key)
{
    std::string fingerprint = "fingerprint of " + key;
    std::string form = "form of " + key;
    return {std::move(key), std::move(fingerprint), std::move(form)};
}

// The kept answer of an entry as "<form>: <id> v<version> created|updated", or why it cannot be read.
std::string kept(const idempotency_entry& entry)
{
    const auto answer = reqstore::core::decode_kept_answer(entry.answer);
    if (!answer)
        return "unreadable: " + entry.answer;
    return answer->answer_form + ": " + answer->outcome.id + " v" +
           std::to_string(answer->outcome.record.version) +
           (answer->outcome.created ? " created" : " updated");
}

TEST(IdempotencyHook, StoresTheAnswerWithTheCommit)
{
    service_fixture f;
    write_input in = service_fixture::input(R"({"type": "ticket", "title": "a"})");
    in.idempotency = idempotency_hook{"tester:k1", "fp-1", "answer form"};
    const auto outcome = service_fixture::must(f.await(f.service->create(std::move(in))));

    const auto found = f.await(f.service->find_idempotent("tester:k1"));
    ASSERT_TRUE(found.has_value()) << describe(found.error());
    ASSERT_TRUE(found->has_value());
    const idempotency_entry& entry = **found;
    EXPECT_EQ(entry.key, "tester:k1");
    EXPECT_EQ(entry.fingerprint, "fp-1");
    EXPECT_EQ(kept(entry), "answer form: " + outcome.id + " v1 created");
    EXPECT_EQ(entry.created_at, outcome.record.updated_at);
    // The whole version answered travels with it, body and all, so the answer can be rebuilt.
    const auto answer = reqstore::core::decode_kept_answer(entry.answer);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->outcome.record.body, outcome.record.body);
    EXPECT_EQ(answer->outcome.record.updated_at, outcome.record.updated_at);
    EXPECT_TRUE(answer->outcome.committed);
}

TEST(IdempotencyHook, StoresTheAnswerOfAnUpdate)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    write_input in = service_fixture::input(R"({"title": "b"})");
    in.idempotency = hook("tester:k2");
    service_fixture::must(f.await(f.service->put(id, std::move(in))));
    const auto found = f.await(f.service->find_idempotent("tester:k2"));
    ASSERT_TRUE(found.has_value() && found->has_value());
    EXPECT_EQ(kept(**found), "form of tester:k2: " + id + " v2 updated");
    EXPECT_EQ((*found)->fingerprint, "fingerprint of tester:k2");
}

TEST(IdempotencyHook, FailingWriteStoresNothing)
{
    service_fixture f;
    write_input in = service_fixture::input(R"({"type": "ticket"})");
    in.idempotency = hook("tester:k3");
    const failure problem = refused(f.await(f.service->create(std::move(in))));
    EXPECT_EQ(problem.code, errc::validation_failed);
    const auto found = f.await(f.service->find_idempotent("tester:k3"));
    ASSERT_TRUE(found.has_value());
    EXPECT_FALSE(found->has_value());
}

TEST(IdempotencyHook, WriteThatChangesNothingStoresNothing)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    write_input in = service_fixture::input(R"({"title": "a"})");
    in.idempotency = hook("tester:k4");
    EXPECT_FALSE(service_fixture::must(f.await(f.service->put(id, std::move(in)))).committed);
    const auto found = f.await(f.service->find_idempotent("tester:k4"));
    ASSERT_TRUE(found.has_value());
    EXPECT_FALSE(found->has_value());
}

TEST(IdempotencyHook, ForgettingRemovesAnswersCreatedBeforeTheCutoff)
{
    service_fixture f;
    write_input in = service_fixture::input(R"({"type": "ticket", "title": "a"})");
    in.idempotency = hook("tester:k5");
    const auto outcome = service_fixture::must(f.await(f.service->create(std::move(in))));
    EXPECT_EQ(forgotten(f, outcome.record.updated_at), 0);
    EXPECT_EQ(forgotten(f, outcome.record.updated_at + 1), 1);
    const auto found = f.await(f.service->find_idempotent("tester:k5"));
    ASSERT_TRUE(found.has_value());
    EXPECT_FALSE(found->has_value());
}

TEST(KeptAnswer, RoundTripsAndRefusesOtherBytes)
{
    reqstore::core::kept_answer answer;
    answer.answer_form = "put minimal";
    answer.outcome.id = "req_1";
    answer.outcome.committed = true;
    answer.outcome.record.version = 7;
    answer.outcome.record.tag = 0xfedcba9876543210ULL;
    answer.outcome.record.updated_at = 1'700'000'000'123;
    answer.outcome.record.type = "ticket";
    answer.outcome.record.status = "open";
    answer.outcome.record.updated_by = "tester";
    answer.outcome.record.changed = {"title"};
    answer.outcome.record.body = "{\"id\":\"req_1\",\"title\":\"\\u00e9\\n\"}";
    const auto decoded = reqstore::core::decode_kept_answer(reqstore::core::encode_kept_answer(answer));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->answer_form, "put minimal");
    EXPECT_EQ(decoded->outcome.id, "req_1");
    EXPECT_TRUE(decoded->outcome.committed);
    EXPECT_FALSE(decoded->outcome.created);
    EXPECT_EQ(decoded->outcome.record.version, 7u);
    EXPECT_EQ(decoded->outcome.record.tag, 0xfedcba9876543210ULL);
    EXPECT_EQ(decoded->outcome.record.updated_at, 1'700'000'000'123);
    EXPECT_EQ(decoded->outcome.record.changed, std::vector<std::string>{"title"});
    EXPECT_EQ(decoded->outcome.record.body, answer.outcome.record.body);
    // An answer kept in the transport's own form before kept_answer, and other bytes, are not one.
    EXPECT_FALSE(reqstore::core::decode_kept_answer(R"({"status":200,"content_type":"application/json",)"
                                                    R"("headers":[],"body":"{}"})"));
    EXPECT_FALSE(reqstore::core::decode_kept_answer("not json"));
}

// --- writes that change nothing --------------------------------------------------------------------------

TEST(NoOpWrites, RemovingANullCallbackUrlCommitsNothing)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const std::string before = f.current(id).body;
    const auto outcome = service_fixture::must(f.merge_patch(id, R"({"callback_url": null})"));
    EXPECT_FALSE(outcome.committed);
    EXPECT_FALSE(outcome.created);
    EXPECT_EQ(outcome.record.version, 1u);
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.current(id).body, before);
}

TEST(NoOpWrites, RemovingEmptyMetadataOrRepeatingValuesCommitsNothing)
{
    service_fixture f;
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    EXPECT_FALSE(service_fixture::must(f.merge_patch(id, R"({"metadata": null})")).committed);
    EXPECT_FALSE(service_fixture::must(f.merge_patch(id, R"({"title": "a", "priority": 3})")).committed);
    EXPECT_FALSE(service_fixture::must(f.put(id, R"({"status": "draft", "callback_url": null})")).committed);
    EXPECT_FALSE(
        service_fixture::must(f.json_patch(id, R"([{"op": "test", "path": "/title", "value": "a"}])"))
            .committed);
    EXPECT_EQ(f.current(id).version, 1u);
}

// --- record size and depth -------------------------------------------------------------------------------

service_options small_records()
{
    service_options o;
    o.max_json_depth = 64;
    o.max_record_bytes = 4096;
    return o;
}

TEST(RecordLimits, JsonPatchCopyingPastMaxRecordBytesIsRecordTooLarge)
{
    service_fixture f(small_records());
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "notes": ")" + std::string(1000, 'x') + "\"}");
    const std::string before = f.current(id).body;
    // Each copy adds the 1002 serialized bytes of notes: the fifth (operation 4) passes 4096.
    std::string patch = "[";
    for (int i = 0; i < 10; ++i)
        patch += std::string(i ? "," : "") + R"({"op": "copy", "from": "/notes", "path": "/metadata/k)" +
                 std::to_string(i) + "\"}";
    patch += "]";
    const failure problem = refused(f.json_patch(id, patch));
    EXPECT_EQ(problem.code, errc::record_too_large) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions), json::parse(R"({"operation": 4})"));
    EXPECT_EQ(problem.detail,
              "operation 4 (copy /metadata/k4 from /notes): the copies would make the document "
              "larger than 4096 bytes");
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.current(id).body, before);
}

TEST(RecordLimits, JsonPatchDoublingADocumentIsStopped)
{
    service_fixture f(small_records());
    const std::string id =
        f.created(R"({"type": "ticket", "title": "a", "metadata": {"seed": "0123456789"}})");
    std::string patch = "[";
    for (int i = 0; i < 30; ++i)
        patch += std::string(i ? "," : "") + R"({"op": "copy", "from": "/metadata", "path": "/metadata/c)" +
                 std::to_string(i) + "\"}";
    patch += "]";
    const failure problem = refused(f.json_patch(id, patch));
    EXPECT_EQ(problem.code, errc::record_too_large) << describe(problem);
    EXPECT_EQ(f.current(id).version, 1u);
}

// {"a": {"a": ... {}}}, `depth` levels deep.
std::string nested(int depth)
{
    std::string out = "{}";
    for (int i = 1; i < depth; ++i)
        out = R"({"a": )" + out + "}";
    return out;
}

// Adds a 40-deep object at /metadata/a (depth 42 in the record), then copies it under k more "a" levels:
// the record's depth becomes 42 + k.
std::string deepening_patch(int k)
{
    std::string path = "/metadata";
    for (int i = 0; i < k; ++i)
        path += "/a";
    path += "/b";
    return R"([{"op": "add", "path": "/metadata/a", "value": )" + nested(40) +
           R"(}, {"op": "copy", "from": "/metadata/a", "path": ")" + path + "\"}]";
}

TEST(RecordLimits, JsonPatchNestingDeeperThanMaxJsonDepthIsRecordTooLarge)
{
    service_fixture f(small_records());
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const std::string before = f.current(id).body;
    const failure problem = refused(f.json_patch(id, deepening_patch(23))); // depth 65
    EXPECT_EQ(problem.code, errc::record_too_large) << describe(problem);
    EXPECT_EQ(json::value(problem.extensions), json::parse(R"({"operation": 1})"));
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.current(id).body, before);
}

TEST(RecordLimits, JsonPatchNestingExactlyMaxJsonDepthIsAccepted)
{
    service_fixture f(small_records());
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const auto outcome = f.json_patch(id, deepening_patch(22)); // depth 64
    ASSERT_TRUE(outcome.has_value()) << describe(outcome.error());
    EXPECT_TRUE(outcome->committed);
    EXPECT_EQ(f.current(id).version, 2u);
}

TEST(RecordLimits, PutPastMaxRecordBytesIsRecordTooLarge)
{
    service_fixture f(small_records());
    const std::string id = f.created(R"({"type": "ticket", "title": "a"})");
    const failure problem = refused(f.put(id, R"({"notes": ")" + std::string(5000, 'x') + "\"}"));
    EXPECT_EQ(problem.code, errc::record_too_large) << describe(problem);
    EXPECT_EQ(f.current(id).version, 1u);
    const failure at_create =
        refused(f.create(R"({"type": "ticket", "title": ")" + std::string(5000, 'x') + "\"}"));
    EXPECT_EQ(at_create.code, errc::record_too_large) << describe(at_create);
}

} // namespace
