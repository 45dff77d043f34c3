// What every seed surface needs (API.md section 12): field tables that map a surface's member
// names to the record's, reading a body whatever its label says, credentials of one scheme, and
// reading and updating records of the surface's type through the core. A surface owns no
// storage and no rules: every write here is the core's partial update, with the core's
// preconditions, validation, state rules, versions and events.
#pragma once

#include <reqstore/auth/keys.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/http/message.hpp>
#include <reqstore/http/router.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace reqstore::surfaces
{

// One row of a surface's field table: a member as the surface's clients name it, and the record
// member it stands for. The table is the whole mapping of plain members; members whose value
// changes shape on the way (Box's user objects, Autodesk's isActive) are the surface's own code.
struct field
{
    std::string_view wire;   // "scheduleInterval"
    std::string_view record; // "schedule_interval"
    bool writable = true;    // whether an update body may set it
};

using field_table = std::span<const field>;

const field* find_wire(field_table table, std::string_view wire) noexcept;
const field* find_record(field_table table, std::string_view record) noexcept;

// The record members an update body sets, renamed through the table. A member the table does
// not name, or names as not writable, is not copied: it gets an entry in `errors` under its wire
// pointer ("is not a field of ..." / "is read-only"), so that a caller can refuse the whole body.
boost::json::object record_fields(const boost::json::object& body, field_table table,
                                  std::string_view surface_name, boost::json::object& errors);

// The record members an update body (a JSON object, whatever its label) sets through the table;
// members the table does not let it set are one body_failure naming each.
[[nodiscard]] core::result<boost::json::object>
mapped_body(const http::request& req, field_table table, std::string_view surface_name, unsigned max_depth);

// The record's members under their wire names, in table order; an absent member is null.
boost::json::object wire_fields(const boost::json::object& record, field_table table);

// A JSON Pointer into the record ("/type_id/0") with its first token renamed to the wire name
// ("/typeId/0"); returned as it is when the table does not name that member.
std::string wire_pointer(std::string_view record_pointer, field_table table);

// A refusal of body members found by a surface itself, keyed by pointers already in wire form:
// they travel in the `wire_errors` extension, which wire_errors() passes through unrenamed (a
// client may send a wire name that is also a record name, such as "status" where "state" is meant).
core::failure body_failure(std::string detail, boost::json::object wire_pointer_errors,
                           core::errc code = core::errc::validation_failed);

// Every field error of a failure, pointer -> message, in wire form: the core's `errors` (record
// pointers, renamed through the table) and the surface's own `wire_errors` (as they are).
boost::json::object wire_errors(const core::failure& f, field_table table);

// The request body as a JSON object, whatever its Content-Type says: the DocSpring and Box
// documents send JSON with curl's -d, which labels it a form. Errors: malformed_json.
[[nodiscard]] core::result<boost::json::object> object_body(const http::request& req, unsigned max_depth);

// A surface whose callers present an API key in one Authorization scheme ("Basic", "Bearer"; with
// `x_api_key`, X-API-Key too), whose refusals `render` words, challenged with `<scheme> realm`.
http::surface
scheme_surface(std::string name, std::string scheme, bool x_api_key,
               std::function<http::response(const core::failure&, const http::request&)> render);

// Authenticates with the Authorization header only when it uses `scheme` ("Basic", "Bearer",
// case-insensitive), and with X-API-Key too when `x_api_key` is set. Other credentials count as
// none: errc::unauthorized.
[[nodiscard]] core::result<const auth::api_key*> authenticate_with(const http::request& req,
                                                                   const auth::key_registry& keys,
                                                                   std::string_view scheme,
                                                                   bool x_api_key = false);

// If-Match and If-Unmodified-Since as the core takes them. A bare entity-tag (Box sends `1` for
// `"1"`) is read as the quoted one. If-None-Match is not passed: no surface creates records.
core::conditional_headers write_conditions(const http::request& req);

// The sentence a client may see for a failure: its detail (or title), or, for a server-side
// failure, a generic sentence while the detail goes to the log with the request id.
std::string client_message(const core::failure& f, const http::request& req);

// A JSON answer with this status.
http::response json_response(unsigned status, const boost::json::value& body,
                             std::string_view content_type = "application/json");

// Whether `id` fits the id format of the type called `type_name`.
bool id_fits_type(const core::type_registry& types, std::string_view type_name, std::string_view id);

// A record as a surface sees it: the stored version and its members.
struct loaded_record
{
    core::stored_version version;
    boost::json::object record;
    bool committed = false; // after update_record: whether the write made a version (false: no change)
};

// Decides whether a caller may reach a record it has found by id (account ownership, a data
// subject's own requests); a record it refuses is answered as not found.
using reach_check = std::function<bool(const boost::json::object& record)>;

// The current version of a record of type `type_name`. A record of another type, a deleted one,
// or one `reachable` refuses is errc::not_found, so that a surface never shows what is not its own.
// Awaited at once by the caller (the arguments need only live until it completes).
[[nodiscard]] boost::asio::awaitable<core::result<loaded_record>> read_record(core::record_service& service,
                                                                              std::string_view id,
                                                                              std::string_view type_name,
                                                                              const reach_check& reachable);
// The same with every record of the type reachable. (An overload, not a default argument: GCC 12
// destroys the temporaries of a co_await expression twice.)
[[nodiscard]] boost::asio::awaitable<core::result<loaded_record>>
read_record(core::record_service& service, std::string_view id, std::string_view type_name);

// One partial update as a surface asks for it.
struct update_request
{
    std::string id;
    std::string_view type_name; // only a record of this type is reached (others: not_found)
    // The record members that replace the record's, or the surface's refusal of the body, which
    // the core answers in the body's place (after the record's existence and the preconditions).
    core::result<boost::json::object> fields = boost::json::object();
    std::string actor; // recorded as updated_by
    core::conditional_headers conditions;
    reach_check reachable;              // empty: every record of the type is reachable
    bool every_problem_at_once = false; // see core::write_input
    // A rule of the surface about the current record, judged on its strand once it is reached
    // (so that no write slips in between); a failure returned is the answer. Empty: none.
    std::function<std::optional<core::failure>(const boost::json::object& current)> guard;
};

// The core's partial update (API.md section 3, PUT): every member of `fields` replaces the
// record's, absent members keep their value, judged and committed by the core on the record's
// strand.
[[nodiscard]] boost::asio::awaitable<core::result<loaded_record>> update_record(core::record_service& service,
                                                                                update_request request);

// The GET and PUT of a seed surface whose body maps onto record members through a field table
// (DocSpring, Box): what differs between them, for the skeleton they share.
struct mapped_surface
{
    std::string_view type_name; // the request type the surface serves (other records: not_found)
    field_table fields;         // the wire names, and which members an update may set
    std::string_view body_name; // how refusals name the body: "a Box file request update"
    http::response (*invalid_id)(const http::request& req, std::string_view id); // 400 in its format
    http::response (*error_answer)(const core::failure& f, const http::request& req);
    http::response (*success_answer)(const loaded_record& loaded);
};

// GET: the id's format (invalid_id), then the record of the surface's type (error_answer for any
// refusal), answered with success_answer.
[[nodiscard]] boost::asio::awaitable<http::response>
get_mapped(const mapped_surface& s, core::record_service& service, http::handler_context& ctx);

// PUT: the id's format, then the body through the field table as the core's partial update, as
// the caller's key, with If-Match and If-Unmodified-Since. Either the answer to send now (an
// invalid id, or the core's refusal in the surface's format) or the record after the update, for
// the surface to answer.
[[nodiscard]] boost::asio::awaitable<std::variant<http::response, loaded_record>>
put_mapped(const mapped_surface& s, core::record_service& service, http::handler_context& ctx);

// A JSON Pointer token unescaped ("a~1b" -> "a/b"). (The header text helpers, lowercase() and
// trim(), are http's: http/header_text.hpp.)
std::string unescape_pointer_token(std::string_view token);

// Record member helpers: a string member or "" / null.
std::string string_member(const boost::json::object& o, std::string_view name);
boost::json::value member_or_null(const boost::json::object& o, std::string_view name);

} // namespace reqstore::surfaces
