// The pure rules of a record's versions, apart from the service that applies them on the record's
// strand (record_service.cpp): which members are the server's, what a change may do in a state,
// when a record expires, and the commit that one judged change makes. Nothing here touches the
// store, a lock or a clock other than the commit's own time. Private to src/core/.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/core/record_store.hpp>
#include <reqstore/core/request_type.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

// Whether `name` is a member the server maintains (id, type, version, etag, created_at,
// updated_at, created_by, updated_by, deleted_at): a write may repeat its value, not change it.
bool is_system_field(std::string_view name);

// The refusals of a record that is missing (404) or deleted (410), and of a precondition that
// failed against `current` (412, with current_etag).
failure not_found(std::string_view id);
failure gone(std::string_view id);
failure precondition_failure(const stored_version& current);

// What the preconditions of a request are judged against.
current_state state_of(const stored_version& v);

// Adds to `errors` every system field of `candidate` that differs from `current` (absent counts as
// a change) and every read-only attribute of `type` that does.
void check_read_only(const boost::json::object& current, const boost::json::object& candidate,
                     const request_type& type, boost::json::object& errors);

// A string member of `o`, or "" when it is absent or not a string.
std::string string_member(const boost::json::object& o, std::string_view name);

// The stored version's JSON body as an object; errc::internal when it does not parse.
[[nodiscard]] result<boost::json::object> parse_stored(const stored_version& v);

// The declared type a creating body names in `type`; validation_failed when it names none or an
// undeclared one.
[[nodiscard]] result<const request_type*> type_named_in(const boost::json::object& body,
                                                        const type_registry& types);

// When the record is due to expire: the type's expiry attribute, while the record is in a state
// that expiry can still leave (not the expiry state itself, not a final state). Never before 1970.
std::optional<unix_millis> expiry_timer(const request_type& type, const boost::json::object& record);

// Section 5 step 6 for a change of an existing record: the transition, then whether the changed
// members may change in state `from`; nullopt when both hold.
[[nodiscard]] std::optional<failure> state_rule_problem(const request_type& type, const std::string& from,
                                                        const boost::json::object& before,
                                                        const boost::json::object& after);

// The members that must be present (not null) to enter `state`, as a 422 when any is missing.
[[nodiscard]] std::optional<failure> requirements_problem(const request_type& type, const std::string& state,
                                                          const boost::json::object& record);

// For a write that wants every problem at once: what step 6 would also refuse, added to a
// validation failure's `errors` (the transition under /status, a member that may not change under
// its pointer, the requirements of the state entered).
void add_state_problems(const request_type& type, const std::string& from, const boost::json::object& before,
                        const boost::json::object& after, boost::json::object& errors);

// The writes that change an existing record (a creation is judged apart).
enum class write_operation : int
{
    put,         // partial update: members present replace the record's
    merge_patch, // RFC 7396
    json_patch,  // RFC 6902
    remove,      // a tombstone version
};

// Step 4 of section 5: the record `current` as the write's decoded `body` leaves it (put,
// merge_patch or json_patch): the patch's own failures (a failed test 409, a bad path 422, ...),
// malformed_json for a body that is not an object where one is needed, validation_failed when a
// JSON Patch leaves something other than an object.
[[nodiscard]] result<boost::json::object> apply_write(write_operation op, const boost::json::object& current,
                                                      const boost::json::value& body,
                                                      const json_patch_limits& limits);

// Step 5: `candidate` against the type. Fills in the members every record shows (callback_url,
// metadata), takes the attachment files it uploads into `uploads`, and normalizes its integers.
// The refusal: read_only_field, or validation_failed naming every offending member (with what
// step 6 would also refuse when `every_problem_at_once`); nullopt when it fits.
[[nodiscard]] std::optional<failure> validation_problem(const request_type& type, const std::string& from,
                                                        const boost::json::object& current,
                                                        boost::json::object& candidate,
                                                        std::vector<attachment_blob>& uploads,
                                                        bool every_problem_at_once);

// Step 6: the move from state `from` and the members it changes, then the requirements of the
// state entered; nullopt when the change is allowed.
[[nodiscard]] std::optional<failure> change_problem(const request_type& type, const std::string& from,
                                                    const boost::json::object& before,
                                                    const boost::json::object& after);

// One change of a record, judged and ready to become its next version.
struct version_change
{
    std::string id;
    const request_type* type = nullptr;
    const stored_version* current = nullptr;             // null for a creation
    const boost::json::object* current_record = nullptr; // null for a creation
    boost::json::object members;                         // the record's members after the write
    bool deleting = false;
    std::string actor;                    // recorded as updated_by (and created_by on creation)
    std::optional<timer_key> fired_timer; // a scheduled transition this change carries out
    std::vector<attachment_blob> uploads; // attachment files this change adds
};

// The commit of `change`: the next version in canonical member order with its system fields (its
// time never before the current version's), its tag, the one event it announces, the expiry timers
// it adds and removes, and its uploads, with the compare-and-swap on the version it was judged
// against. errc::record_too_large when the record would exceed `max_record_bytes`. The idempotency
// answer is left for the caller to add.
[[nodiscard]] result<commit_request> build_commit(version_change change, std::size_t max_record_bytes);

} // namespace reqstore::core
