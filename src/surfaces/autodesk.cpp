// Autodesk Data Connector requests over the core: Bearer credentials, the camelCase request object,
// account ownership checked on the record's strand, isActive as the state, and the callback body.
#include <reqstore/auth/keys.hpp>
#include <reqstore/core/ids.hpp>
#include <reqstore/core/json_body.hpp>
#include <reqstore/http/header_text.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/http/validators.hpp>
#include <reqstore/surfaces/autodesk.hpp>
#include <reqstore/surfaces/support.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::string_view prefix = "/data-connector/v1";

// The request object, in the order of the documented response example; the writable rows are the
// members of the documented PATCH body. isActive stands for the state and is converted below.
constexpr std::array<field, 23> fields{{
    {"id", "id", false},
    {"description", "description", true},
    {"isActive", "status", true},
    {"accountId", "account_id", false},
    {"projectId", "project_id", true},
    {"projectIdList", "project_id_list", true},
    {"createdBy", "created_by", false},
    {"createdByEmail", "created_by_email", false},
    {"createdAt", "created_at", false},
    {"updatedBy", "updated_by", false},
    {"updatedAt", "updated_at", false},
    {"scheduleInterval", "schedule_interval", true},
    {"reoccuringInterval", "reoccuring_interval", true},
    {"effectiveFrom", "effective_from", true},
    {"effectiveTo", "effective_to", true},
    {"lastQueuedAt", "last_queued_at", false},
    {"serviceGroups", "service_groups", true},
    {"callbackUrl", "callback_url", true},
    {"sendEmail", "send_email", true},
    {"startDate", "start_date", true},
    {"endDate", "end_date", true},
    {"dateRange", "date_range", false},
    {"projectStatus", "project_status", false},
}};

constexpr std::string_view active_state = "active";
constexpr std::string_view inactive_state = "inactive";
constexpr std::size_t max_project_ids = 50;

// Autodesk's gateway answers authentication, scope, rate and server failures with these codes
// (APS "Error Handling" guide); the rest carry the core's reason in the same upper-case style.
struct gateway_code
{
    errc code;
    std::string_view error_code;
};
constexpr std::array<gateway_code, 4> gateway_codes{{
    {errc::unauthorized, "AUTH-006"},
    {errc::forbidden, "AUTH-010"},
    {errc::rate_limited, "ERR-001"},
    {errc::internal, "ERR-003"},
}};

constexpr std::string_view gateway_info =
    "https://aps.autodesk.com/en/docs/oauth/v2/developers_guide/error_handling/";
constexpr std::string_view service_info =
    "https://aps.autodesk.com/en/docs/bim360/v1/overview/field-guide/data-connector/";

bool has_bearer(const http::request& req)
{
    const auto authorization = req.header("authorization");
    return authorization && http::lowercase(authorization->substr(0, 7)) == "bearer ";
}

std::string error_code_for(const failure& f, const http::request& req)
{
    // A caller who sent no Bearer token at all is told so apart from one whose token is refused.
    if (f.code == errc::unauthorized && !has_bearer(req))
        return "AUTH-012";
    for (const auto& g : gateway_codes)
        if (g.code == f.code)
            return std::string(g.error_code);
    std::string out(http::describe_failure(f.code).slug);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return c == '-' ? '_' : static_cast<char>(std::toupper(c)); });
    return out;
}

// The field errors of a failure as a list naming each member by its camelCase name.
json::array field_errors(const failure& f)
{
    json::array out;
    for (const auto& member : wire_errors(f, fields))
    {
        const std::string_view pointer = member.key();
        out.push_back(json::object{{"field", pointer.starts_with("/") ? pointer.substr(1) : pointer},
                                   {"message", member.value()}});
    }
    return out;
}

// The answer to every refusal on this surface, the dispatcher's ones included.
http::response error_answer(const failure& f, const http::request& req)
{
    const bool gateway = std::any_of(gateway_codes.begin(), gateway_codes.end(),
                                     [&](const gateway_code& g) { return g.code == f.code; });
    json::object body{{"developerMessage", client_message(f, req)},
                      {"errorCode", error_code_for(f, req)},
                      {"moreInfo", gateway ? gateway_info : service_info}};
    json::array errors = field_errors(f);
    if (!errors.empty())
        body["errors"] = std::move(errors);
    http::response r = json_response(http::describe_failure(f.code).status, body);
    http::set_current_etag(r, f);
    if (f.code == errc::unsupported_media_type)
        r.set("Accept-Patch", "application/json");
    return r;
}

failure field_failure(json::object errors)
{
    return body_failure("the request body has members that cannot be applied", std::move(errors));
}

// The request object: the record's members under their camelCase names, isActive as a boolean.
json::object request_object(const json::object& record)
{
    json::object out = wire_fields(record, fields);
    out["isActive"] = string_member(record, "status") == active_state;
    return out;
}

http::response success_answer(const loaded_record& loaded)
{
    http::response r = json_response(200, request_object(loaded.record));
    r.set("ETag", core::etag_for_version(loaded.version.version));
    return r;
}

// projectIdList as the record stores it: an array of at most 50 UUIDs, taken from an array or
// from a string holding one (the documented example sends the string). null clears the list.
std::optional<std::string> normalize_project_ids(json::value& value, unsigned max_depth)
{
    if (value.is_null())
        return std::nullopt;
    if (value.is_string())
    {
        auto parsed = core::parse_json_body(value.get_string(), max_depth);
        if (!parsed || !parsed->is_array())
            return "must be an array of project ids, or a string holding a JSON array of them";
        value = std::move(*parsed);
    }
    if (!value.is_array())
        return "must be an array of project ids, or a string holding a JSON array of them";
    const json::array& ids = value.get_array();
    if (ids.size() > max_project_ids)
        return "must list at most " + std::to_string(max_project_ids) + " project ids, not " +
               std::to_string(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (!ids[i].is_string() || !core::is_uuid_text(ids[i].get_string(), false))
            return "entry " + std::to_string(i) + " is not a project id (a UUID)";
    return std::nullopt;
}

// The record members a PATCH body sets, or the failure naming every member it cannot set.
core::result<json::object> record_changes(const json::object& body, unsigned max_depth)
{
    json::object errors;
    json::object changes = record_fields(body, fields, "an Autodesk data request", errors);
    if (auto* state = changes.if_contains("status"))
    {
        if (state->is_bool())
            *state = state->get_bool() ? active_state : inactive_state;
        else
            errors["/isActive"] = "must be true or false";
    }
    if (auto* ids = changes.if_contains("project_id_list"))
        if (auto problem = normalize_project_ids(*ids, max_depth))
            errors["/projectIdList"] = *problem;
    if (!errors.empty())
        return field_failure(std::move(errors));
    return changes;
}

// A path that names no request of this surface's form: 400, naming the offending parameters.
std::optional<failure> path_problem(const core::type_registry& types, std::string_view account,
                                    std::string_view id)
{
    json::object errors;
    if (!core::is_uuid_text(account, false))
        errors["/accountId"] = "must be an account id (a UUID)";
    if (!id_fits_type(types, autodesk_type, id))
        errors["/requestId"] = "must be a data request id (a lower-case UUID)";
    if (errors.empty())
        return std::nullopt;
    return body_failure("the path does not name a data request", std::move(errors), errc::invalid_id);
}

// Only the account in the path reaches its requests; another account's are not found.
reach_check owned_by(std::string_view account)
{
    return [account = http::lowercase(account)](const json::object& record)
    {
        return http::lowercase(string_member(record, "account_id")) == account;
    };
}

class autodesk_surface
{
public:
    explicit autodesk_surface(core::record_service& service) : service_(service) {}

    net::awaitable<http::response> get(http::handler_context& ctx)
    {
        const std::string_view account = ctx.params[0];
        const std::string id(ctx.params[1]);
        if (auto problem = path_problem(service_.types(), account, id))
            co_return error_answer(*problem, ctx.req);
        // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
        const reach_check reachable = owned_by(account);
        auto loaded = co_await read_record(service_, id, autodesk_type, reachable);
        if (!loaded)
            co_return error_answer(loaded.error(), ctx.req);
        co_return success_answer(*loaded);
    }

    net::awaitable<http::response> patch(http::handler_context& ctx)
    {
        const std::string_view account = ctx.params[0];
        std::string id(ctx.params[1]);
        if (auto problem = path_problem(service_.types(), account, id))
            co_return error_answer(*problem, ctx.req);
        core::conditional_headers conditions = write_conditions(ctx.req);
        reach_check reachable = owned_by(account);
        auto changes = decode_body(ctx.req);
        update_request update{std::move(id), autodesk_type,         std::move(changes),
                              ctx.key->id,   std::move(conditions), std::move(reachable)};
        auto updated = co_await update_record(service_, std::move(update));
        if (!updated)
            co_return error_answer(updated.error(), ctx.req);
        co_return success_answer(*updated);
    }

private:
    // The record members a PATCH sets: JSON labelled as such (judged before the body is read, as
    // the documented header rule says), then the body's members through the field table.
    core::result<json::object> decode_body(const http::request& req) const
    {
        if (http::media_type(req) != "application/json")
            return failure(errc::unsupported_media_type, "Content-Type must be application/json");
        auto body = object_body(req, service_.options().max_json_depth);
        if (!body)
            return body.error();
        return record_changes(*body, service_.options().max_json_depth);
    }

    core::record_service& service_;
};

} // namespace

void add_autodesk_surface(http::router& routes, core::record_service& service)
{
    routes.add_surface(std::string(prefix), scheme_surface("autodesk", "Bearer", false, error_answer));

    auto surface = std::make_shared<autodesk_surface>(service);
    routes.add(
        std::string(prefix) + "/accounts/{accountId}/requests/{requestId}",
        {{http::method::get, auth::scope_read, http::handler_of(surface, &autodesk_surface::get)},
         {http::method::patch, auth::scope_write, http::handler_of(surface, &autodesk_surface::patch)}});
}

std::optional<std::string> autodesk_callback_body(const json::object& event, const json::value& record)
{
    const auto* type = event.if_contains("type");
    if (!type || !type->is_string() || type->get_string() != autodesk_type)
        return std::nullopt;
    // The job id is the delivery's webhook-id, so that a receiver can correlate the two.
    std::string job_id;
    if (const auto* seq = event.if_contains("seq");
        seq && (seq->is_uint64() || (seq->is_int64() && seq->get_int64() >= 0)))
        job_id = "evt_" + std::to_string(seq->to_number<std::uint64_t>());
    const json::object empty;
    const json::object& request = record.is_object() ? record.get_object() : empty;
    std::string state = string_member(request, "status");
    if (state.empty())
        state = string_member(event, "status");
    return json::serialize(json::object{{"accountId", member_or_null(request, "account_id")},
                                        {"requestId", member_or_null(request, "id")},
                                        {"jobId", job_id},
                                        {"state", state},
                                        {"success", true}});
}

} // namespace reqstore::surfaces
