// Box file requests over the core: Bearer credentials, numeric ids, the file request object with
// Box's bare etag and user objects, If-Match as compare-and-swap, and Box's error object.
#include <reqstore/auth/keys.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/surfaces/box.hpp>
#include <reqstore/surfaces/support.hpp>

#include <algorithm>
#include <array>
#include <memory>

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::string_view prefix = "/2.0/file_requests";

// The file request object, in the order of Box's response example; the writable rows are the
// members of the documented update body. type, etag, created_by and updated_by change shape on
// the way out (file_request_object below); they are listed so that an update naming them is
// refused as read-only rather than as unknown.
constexpr std::array<field, 15> fields{{
    {"id", "id", false},
    {"type", "type", false},
    {"created_at", "created_at", false},
    {"created_by", "created_by", false},
    {"description", "description", true},
    {"etag", "etag", false},
    {"expires_at", "expires_at", true},
    {"folder", "folder", false},
    {"is_description_required", "is_description_required", true},
    {"is_email_required", "is_email_required", true},
    {"status", "status", true},
    {"title", "title", true},
    {"updated_at", "updated_at", false},
    {"updated_by", "updated_by", false},
    {"url", "url", false},
}};

// Box's status and code for each of the core's failures; docs/SURFACES.md has the table.
struct box_code
{
    unsigned status;
    std::string code;
};

box_code box_code_for(errc code)
{
    switch (code)
    {
    case errc::bad_request:
    case errc::malformed_json:
    case errc::malformed_patch:
    case errc::validation_failed:
    case errc::read_only_field:
    case errc::invalid_id:
    case errc::requirements_missing:
        return {400, "bad_request"};
    case errc::unauthorized:
        return {401, "unauthorized"};
    case errc::forbidden:
        return {403, "access_denied_insufficient_permissions"};
    // Box answers 404 for what the caller cannot see; a deleted record is no longer its own.
    case errc::not_found:
    case errc::gone:
        return {404, "not_found"};
    case errc::method_not_allowed:
        return {405, "method_not_allowed"};
    case errc::invalid_transition:
    case errc::not_updatable_in_state:
        return {409, "conflict"};
    case errc::precondition_failed:
        return {412, "precondition_failed"};
    case errc::payload_too_large:
    case errc::record_too_large:
        return {413, "request_entity_too_large"};
    case errc::rate_limited:
        return {429, "rate_limit_exceeded"};
    case errc::internal:
        return {500, "internal_server_error"};
    case errc::unavailable:
    case errc::writes_stopped:
    case errc::store_unavailable:
        return {503, "unavailable"};
    default:
        break;
    }
    // Failures Box has no word for keep the core's status, with its slug in Box's snake_case.
    const auto described = http::describe_failure(code);
    std::string slug(described.slug);
    std::replace(slug.begin(), slug.end(), '-', '_');
    return {described.status, std::move(slug)};
}

json::object field_error(std::string_view name, std::string_view message)
{
    return {{"name", name}, {"message", message}, {"reason", "invalid_parameter"}};
}

// Box's context_info.errors: one entry per offending member, named as the client named it.
json::array field_errors(const failure& f)
{
    json::array out;
    for (const auto& member : wire_errors(f, fields))
    {
        const json::value& message = member.value();
        out.push_back(field_error(unescape_pointer_token(std::string_view(member.key()).substr(1)),
                                  message.is_string() ? std::string_view(message.get_string())
                                                      : std::string_view("is invalid")));
    }
    // A refused move names no member in `errors`; the member at fault is the status.
    if (out.empty() && f.code == errc::invalid_transition)
        out.push_back(field_error("status", f.detail));
    return out;
}

http::response error_answer(const failure& f, const http::request& req)
{
    const box_code box = box_code_for(f.code);
    json::object body{{"type", "error"}, {"status", box.status}, {"code", box.code}};
    json::array errors = field_errors(f);
    if (!errors.empty())
        body["context_info"] = json::object{{"errors", std::move(errors)}};
    body["message"] = client_message(f, req);
    body["request_id"] = req.request_id();
    http::response r = json_response(box.status, body);
    if (f.code == errc::precondition_failed)
        if (const auto* etag = f.extensions.if_contains("current_etag"); etag && etag->is_string())
            r.set("ETag", std::string(etag->get_string()));
    return r;
}

// Box names people by user objects; reqstore knows only the key id that wrote (or "system" for
// an expiry), which stands in for the user's id, login and name alike.
json::object user_object(const std::string& key_id)
{
    return {{"id", key_id}, {"type", "user"}, {"login", key_id}, {"name", key_id}};
}

json::object file_request_object(const loaded_record& loaded)
{
    json::object out = wire_fields(loaded.record, fields);
    out["type"] = "file_request";
    // Box's etag is the bare version; the quoted form goes in the ETag header.
    out["etag"] = std::to_string(loaded.version.version);
    out["created_by"] = user_object(string_member(loaded.record, "created_by"));
    out["updated_by"] = user_object(string_member(loaded.record, "updated_by"));
    return out;
}

http::response success_answer(const loaded_record& loaded)
{
    http::response r = json_response(200, file_request_object(loaded));
    r.set("ETag", core::etag_for_version(loaded.version.version));
    return r;
}

class box_surface
{
public:
    explicit box_surface(core::record_service& service) : service_(service) {}

    net::awaitable<http::response> get(http::handler_context& ctx)
    {
        co_return co_await get_mapped(shape, service_, ctx);
    }

    net::awaitable<http::response> put(http::handler_context& ctx)
    {
        auto put = co_await put_mapped(shape, service_, ctx);
        if (auto* answer = std::get_if<http::response>(&put))
            co_return std::move(*answer);
        co_return success_answer(std::get<loaded_record>(put));
    }

private:
    static http::response invalid_id(const http::request& req, std::string_view id)
    {
        return error_answer({errc::invalid_id, "\"" + std::string(id) + "\" is not a file request id"}, req);
    }

    static constexpr mapped_surface shape{box_type,    fields,        "a Box file request update",
                                          &invalid_id, &error_answer, &success_answer};

    core::record_service& service_;
};

} // namespace

void add_box_surface(http::router& routes, core::record_service& service)
{
    routes.add_surface(std::string(prefix), scheme_surface("box", "Bearer", false, error_answer));

    auto surface = std::make_shared<box_surface>(service);
    routes.add(std::string(prefix) + "/{file_request_id}",
               {{http::method::get, auth::scope_read, http::handler_of(surface, &box_surface::get)},
                {http::method::put, auth::scope_write, http::handler_of(surface, &box_surface::put)}});
}

} // namespace reqstore::surfaces
