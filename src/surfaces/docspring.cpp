// DocSpring data requests over the core: Basic credentials, the success/error envelope, and 422
// for an update the type refuses (a request already viewed or completed cannot be updated).
#include <reqstore/auth/keys.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/surfaces/docspring.hpp>
#include <reqstore/surfaces/support.hpp>

#include <array>

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::string_view prefix = "/api/v1/data_requests";

// The data request object, in the order of DocSpring's example; the auth_* members are the ones
// an update may set.
constexpr std::array<field, 17> fields{{
    {"id", "id", false},
    {"email", "email", false},
    {"name", "name", false},
    {"order", "order", false},
    {"fields", "fields", false},
    {"metadata", "metadata", true},
    {"state", "status", false},
    {"viewed_at", "viewed_at", false},
    {"completed_at", "completed_at", false},
    {"auth_type", "auth_type", true},
    {"auth_second_factor_type", "auth_second_factor_type", true},
    {"auth_provider", "auth_provider", true},
    {"auth_session_started_at", "auth_session_started_at", true},
    {"auth_session_id_hash", "auth_session_id_hash", true},
    {"auth_user_id_hash", "auth_user_id_hash", true},
    {"auth_username_hash", "auth_username_hash", true},
    {"auth_phone_number_hash", "auth_phone_number_hash", true},
}};

// DocSpring answers refused updates with 422; the rest keep the core's status.
unsigned status_for(const failure& f)
{
    switch (f.code)
    {
    case errc::validation_failed:
    case errc::read_only_field:
    case errc::not_updatable_in_state:
    case errc::invalid_transition:
    case errc::requirements_missing:
        return 422;
    default:
        return http::describe_failure(f.code).status;
    }
}

http::response error_answer(const failure& f, const http::request& req)
{
    json::object body{{"status", "error"}};
    if (f.code == errc::not_updatable_in_state)
        body["error"] = "Only pending data requests can be updated. This data request is " +
                        string_member(f.extensions, "state") + ".";
    else
        body["error"] = client_message(f, req);
    json::object errors = wire_errors(f, fields);
    if (!errors.empty())
        body["errors"] = std::move(errors);
    http::response r = json_response(status_for(f), body);
    if (f.code == errc::precondition_failed)
        if (const auto* etag = f.extensions.if_contains("current_etag"); etag && etag->is_string())
            r.set("ETag", std::string(etag->get_string()));
    return r;
}

http::response success_answer(const loaded_record& loaded)
{
    http::response r = json_response(
        200, json::object{{"status", "success"}, {"data_request", wire_fields(loaded.record, fields)}});
    r.set("ETag", core::etag_for_version(loaded.version.version));
    return r;
}

class docspring_surface
{
public:
    explicit docspring_surface(core::record_service& service) : service_(service) {}

    net::awaitable<http::response> get(http::handler_context& ctx)
    {
        co_return co_await get_mapped(shape, service_, ctx);
    }

    net::awaitable<http::response> put(http::handler_context& ctx)
    {
        auto put = co_await put_mapped(shape, service_, ctx);
        if (auto* answer = std::get_if<http::response>(&put))
            co_return std::move(*answer);
        const loaded_record& updated = std::get<loaded_record>(put);
        // DocSpring refuses any update of a request that is no longer pending, even one that would
        // change nothing, which the core lets pass as a no-op.
        const core::request_type* t = service_.types().find(docspring_type);
        if (!updated.committed && t && !t->updatable_in_state(updated.version.status))
            co_return error_answer({errc::not_updatable_in_state, "", {{"state", updated.version.status}}},
                                   ctx.req);
        co_return success_answer(updated);
    }

private:
    static http::response invalid_id(const http::request& req, std::string_view id)
    {
        return error_answer({errc::invalid_id, "\"" + std::string(id) + "\" is not a data request id"}, req);
    }

    static constexpr mapped_surface shape{docspring_type, fields,        "a DocSpring data request update",
                                          &invalid_id,    &error_answer, &success_answer};

    core::record_service& service_;
};

} // namespace

void add_docspring_surface(http::router& routes, core::record_service& service)
{
    routes.add_surface(std::string(prefix), scheme_surface("docspring", "Basic", false, error_answer));

    auto surface = std::make_shared<docspring_surface>(service);
    routes.add(std::string(prefix) + "/{id}",
               {{http::method::get, auth::scope_read, http::handler_of(surface, &docspring_surface::get)},
                {http::method::put, auth::scope_write, http::handler_of(surface, &docspring_surface::put)}});
}

} // namespace reqstore::surfaces
