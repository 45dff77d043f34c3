// The JSON:API requests service (seed 003) over the core: its routes and handlers. The documents
// it reads and writes, and the content negotiation, are in jsonapi_document.hpp.
#include <reqstore/auth/keys.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/http/validators.hpp>
#include <reqstore/surfaces/jsonapi.hpp>
#include <reqstore/surfaces/support.hpp>

#include "jsonapi_document.hpp"

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;
using jsonapi::accept_problem;
using jsonapi::answer_shape;
using jsonapi::api_error;
using jsonapi::content_type_problem;
using jsonapi::error_answer;
using jsonapi::errors_answer;
using jsonapi::prefix;
using jsonapi::read_document;
using jsonapi::read_query;
using jsonapi::resource_answer;

namespace
{

// The failure a precondition outcome stands for (nullopt: go on, or 304 for a read).
std::optional<failure> refused_by_preconditions(core::precondition_outcome outcome,
                                                const core::stored_version& current)
{
    if (outcome == core::precondition_outcome::proceed || outcome == core::precondition_outcome::not_modified)
        return std::nullopt;
    return core::precondition_problem(outcome, &current);
}

class jsonapi_surface
{
public:
    explicit jsonapi_surface(core::record_service& service) : service_(service) {}

    net::awaitable<http::response> get(http::handler_context& ctx)
    {
        const std::string id(ctx.params[0]);
        if (!id_fits_type(service_.types(), jsonapi_type, id))
            co_return invalid_id(ctx.req, id);
        if (auto refused = accept_problem(ctx.req))
            co_return errors_answer({std::move(*refused)});
        answer_shape shape;
        if (auto problems = read_query(ctx.req, shape); !problems.empty())
            co_return errors_answer(problems);
        auto loaded = co_await read_record(service_, id, jsonapi_type);
        if (!loaded)
            co_return error_answer(loaded.error(), ctx.req);

        core::conditional_headers conditions = write_conditions(ctx.req);
        if (const auto v = ctx.req.header_list("if-none-match"))
            conditions.if_none_match = *v;
        if (const auto v = ctx.req.header("if-modified-since"))
            conditions.if_modified_since = std::string(*v);
        const auto outcome =
            core::evaluate_preconditions(conditions, {loaded->version.version, loaded->version.updated_at},
                                         core::request_kind::read, false);
        if (outcome == core::precondition_outcome::not_modified)
            co_return http::not_modified(loaded->version.version, loaded->version.updated_at);
        if (auto problem = refused_by_preconditions(outcome, loaded->version))
            co_return error_answer(*problem, ctx.req);
        co_return resource_answer(*loaded, shape);
    }

    net::awaitable<http::response> patch(http::handler_context& ctx)
    {
        std::string id(ctx.params[0]);
        if (!id_fits_type(service_.types(), jsonapi_type, id))
            co_return invalid_id(ctx.req, id);
        if (auto refused = accept_problem(ctx.req))
            co_return errors_answer({std::move(*refused)});
        answer_shape shape;
        if (auto problems = read_query(ctx.req, shape); !problems.empty())
            co_return errors_answer(problems);

        // The body is judged here once, and a refusal of it travels to the core as a value: the
        // core answers it after the record's existence and the preconditions (API.md section 5).
        auto changes = update_of(ctx.req, id);
        update_request update{std::move(id), jsonapi_type, std::move(changes), ctx.key->id,
                              write_conditions(ctx.req)};
        auto updated = co_await update_record(service_, std::move(update));
        if (!updated)
            co_return error_answer(with_allowed_targets(updated.error()), ctx.req);
        co_return resource_answer(*updated, shape);
    }

private:
    // The record members the request's update document sets, or its refusal: the media type (415),
    // the body (400), or the document's problems, carried as one failure (as_refusal).
    core::result<json::object> update_of(const http::request& req, std::string_view id) const
    {
        if (auto problem = content_type_problem(req))
            return std::move(*problem);
        auto body = object_body(req, service_.options().max_json_depth);
        if (!body)
            return body.error();
        std::vector<api_error> errors;
        json::object changes = read_document(*body, id, errors);
        if (!errors.empty())
            return as_refusal(std::move(errors));
        return changes;
    }

    static http::response invalid_id(const http::request& req, std::string_view id)
    {
        return error_answer(
            {errc::invalid_id, "\"" + std::string(id) + "\" is not a request id (a lower-case UUID)"}, req);
    }

    // A state refusal lists the states the request may move to, so that a client can recover.
    failure with_allowed_targets(failure f) const
    {
        if (f.code != errc::invalid_transition && f.code != errc::not_updatable_in_state)
            return f;
        if (f.extensions.contains("allowed"))
            return f;
        const core::request_type* type = service_.types().find(jsonapi_type);
        const std::string state = string_member(f.extensions, "state");
        if (!type || state.empty())
            return f;
        json::array allowed;
        for (const auto& target : type->allowed_from(state))
            allowed.emplace_back(target);
        f.extensions["allowed"] = std::move(allowed);
        return f;
    }

    core::record_service& service_;
};

} // namespace

void add_jsonapi_surface(http::router& routes, core::record_service& service)
{
    routes.add_surface(std::string(prefix), scheme_surface("jsonapi", "Bearer", true, error_answer));

    auto surface = std::make_shared<jsonapi_surface>(service);
    routes.add(
        std::string(prefix) + "/requests/{request_id}",
        {{http::method::get, auth::scope_read, http::handler_of(surface, &jsonapi_surface::get)},
         {http::method::patch, auth::scope_write, http::handler_of(surface, &jsonapi_surface::patch)}});
}

} // namespace reqstore::surfaces
