// ConsentGrid data-subject requests over the core: the operator's route (Bearer, by.type/by.id
// recorded as the writer) and the data subject's own route (session cookie), both answering with
// the update status object. The DSR types' fields and attachments are the core's rules
// (dsr_types); this file only renames members and words the outcome.
#include <reqstore/auth/keys.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/http/query.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/http/validators.hpp>
#include <reqstore/surfaces/consentgrid.hpp>
#include <reqstore/surfaces/support.hpp>

#include <algorithm>
#include <array>

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::string_view operator_prefix = "/v1/dsr";
constexpr std::string_view subject_prefix = "/v1/dsr/my";
constexpr std::string_view session_cookie_prefix = "cgs_";

// The request as ConsentGrid names its members; the writable ones are the update body's.
constexpr std::array<field, 14> fields{{
    {"id", "id", false},
    {"typeId", "type_id", true},
    {"status", "status", true},
    {"labels", "labels", true},
    {"owner", "owner", true},
    {"data", "data", true},
    {"metadata", "metadata", true},
    {"dueDate", "due_date", true},
    {"attachments", "attachments", true},
    {"submittedAt", "submitted_at", false},
    {"createdAt", "created_at", false},
    {"createdBy", "created_by", false},
    {"updatedAt", "updated_at", false},
    {"updatedBy", "updated_by", false},
}};

// Failures about what the update asks for are answered 200 with `ok: false` (the seed's update
// status object); failures of the request itself keep their HTTP status.
bool reported_in_result(errc code)
{
    switch (code)
    {
    case errc::validation_failed:
    case errc::read_only_field:
    case errc::invalid_transition:
    case errc::not_updatable_in_state:
    case errc::requirements_missing:
        return true;
    default:
        return false;
    }
}

// The JSON error object of every answer that is not an update status.
http::response error_answer(const failure& f, const http::request& req)
{
    const auto described = http::describe_failure(f.code);
    json::object body{{"status", described.status},
                      {"code", described.slug},
                      {"error", client_message(f, req)},
                      {"requestId", req.request_id()}};
    http::response r = json_response(described.status, body);
    http::set_current_etag(r, f);
    return r;
}

json::object result_object(std::string_view id, std::string_view status, bool ok, json::object field_errors,
                           json::object attachment_errors, std::string error)
{
    return {{"result",
             {{"id", id},
              {"status", status},
              {"ok", ok},
              {"fieldErrors", std::move(field_errors)},
              {"attachmentErrors", std::move(attachment_errors)},
              {"error", std::move(error)}}}};
}

// The update status object for a refused update: every field error (a DSR field under its own
// name, a request member under its ConsentGrid name) and every attachment error (under its slot).
http::response refused_answer(const failure& f, std::string_view id, std::string_view current_status)
{
    json::object field_errors;
    json::object attachment_errors;
    const auto add = [](json::object& into, std::string_view key, const json::value& message)
    {
        // Appended in place: a slot of many files joins its messages in linear time.
        if (auto* existing = into.if_contains(key); existing && existing->is_string() && message.is_string())
            existing->get_string().append("; ").append(message.get_string());
        else
            into[key] = message;
    };
    for (const auto& [pointer, message] : wire_errors(f, fields))
    {
        // "/data/email" -> email, "/attachments/id_document/0/contentType" -> id_document,
        // "/typeId" -> typeId.
        std::string_view rest = std::string_view(pointer).substr(pointer.starts_with("/") ? 1 : 0);
        const auto first_end = rest.find('/');
        const std::string_view first = rest.substr(0, first_end);
        std::string_view second = first_end == std::string_view::npos ? "" : rest.substr(first_end + 1);
        second = second.substr(0, second.find('/'));
        if (first == "attachments" && !second.empty())
            add(attachment_errors, second, message);
        else if (first == "data" && !second.empty())
            add(field_errors, second, message);
        else
            add(field_errors, first, message);
    }
    std::string error =
        http::valid_utf8(f.detail.empty() ? std::string_view(http::describe_failure(f.code).title)
                                          : std::string_view(f.detail));
    if (const auto* allowed = f.extensions.if_contains("allowed"); allowed && allowed->is_array())
    {
        std::string list;
        for (const auto& state : allowed->get_array())
            if (state.is_string())
                list += (list.empty() ? "" : ", ") + std::string(state.get_string());
        error += list.empty() ? " (no move is allowed from here)" : " (allowed: " + list + ")";
    }
    return json_response(200, result_object(id, current_status, false, std::move(field_errors),
                                            std::move(attachment_errors), std::move(error)));
}

http::response accepted_answer(const loaded_record& loaded)
{
    http::response r = json_response(
        200, result_object(string_member(loaded.record, "id"), loaded.version.status, true, {}, {}, ""));
    r.set("ETag", core::etag_for_version(loaded.version.version));
    return r;
}

http::response read_answer(const loaded_record& loaded)
{
    json::object body = wire_fields(loaded.record, fields);
    http::response r = json_response(200, body);
    r.set("ETag", core::etag_for_version(loaded.version.version));
    return r;
}

// The value of the cookie called `name` in the Cookie header (RFC 6265 section 4.2.1), if any.
std::optional<std::string> cookie(const http::request& req, std::string_view name)
{
    const auto header = req.header_list("cookie");
    if (!header)
        return std::nullopt;
    std::string_view rest = *header;
    while (!rest.empty())
    {
        const auto end = rest.find_first_of(";,");
        std::string_view pair = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        while (!pair.empty() && pair.front() == ' ')
            pair.remove_prefix(1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != name)
            continue;
        std::string_view value = pair.substr(eq + 1);
        while (!value.empty() && value.back() == ' ')
            value.remove_suffix(1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        return std::string(value);
    }
    return std::nullopt;
}

// The account segment of /v1/dsr/my/{acct}/...
std::string_view account_of(std::string_view path)
{
    std::string_view rest = path.substr(std::min(path.size(), subject_prefix.size() + 1));
    return rest.substr(0, rest.find('/'));
}

// The session cookie `cgs_{acct}` holds a data subject's key as `id.secret`.
core::result<const auth::api_key*> authenticate_session(const http::request& req,
                                                        const auth::key_registry& keys)
{
    const std::string name = std::string(session_cookie_prefix) + std::string(account_of(req.path()));
    const auto session = cookie(req, name);
    if (!session)
        return failure(errc::unauthorized, "this route takes the data subject's session cookie " + name);
    return keys.authenticate({std::nullopt, std::string_view(*session)});
}

// The request members an update body sets, renamed; the body's `id`, when given, must be the
// path's. Unknown or read-only members make the request malformed (400).
core::result<json::object> update_fields(const http::request& req, std::string_view id, unsigned max_depth)
{
    auto body = object_body(req, max_depth);
    if (!body)
        return body.error();
    if (const auto* given = body->if_contains("id"))
    {
        if (!given->is_string() || given->get_string() != id)
            return failure(errc::bad_request, "the body's id must be the id in the URL, " + std::string(id));
        body->erase("id");
    }
    json::object errors;
    json::object changes = record_fields(*body, fields, "a data subject request update", errors);
    if (!errors.empty())
    {
        std::string names;
        for (const auto& e : errors)
            names += (names.empty() ? "" : ", ") + std::string(e.key()).substr(1) + " " +
                     std::string(e.value().as_string());
        return failure(errc::bad_request, "the body has members an update cannot set: " + names);
    }
    return changes;
}

class consentgrid_surface
{
public:
    explicit consentgrid_surface(core::record_service& service) : service_(service) {}

    net::awaitable<http::response> get_as_operator(http::handler_context& ctx)
    {
        const std::string id(ctx.params[0]);
        if (auto refused = check_id(id))
            co_return error_answer(*refused, ctx.req);
        auto loaded = co_await read_record(service_, id, dsr_type);
        if (!loaded)
            co_return error_answer(loaded.error(), ctx.req);
        co_return read_answer(*loaded);
    }

    net::awaitable<http::response> put_as_operator(http::handler_context& ctx)
    {
        std::string id(ctx.params[0]);
        if (auto refused = check_id(id))
            co_return error_answer(*refused, ctx.req);
        auto params = http::query_parameters(ctx.req, {"by.type", "by.id"});
        if (!params)
            co_return error_answer(params.error(), ctx.req);
        std::string by_type, by_id;
        for (const auto& [name, value] : *params)
            (name == "by.type" ? by_type : by_id) = value;
        if (auto refused = writer_problem(by_type, by_id))
            co_return error_answer(*refused, ctx.req);
        update_request update{std::move(id), dsr_type};
        update.actor = by_type.empty() ? ctx.key->id : by_type + ":" + by_id;
        co_return co_await apply(std::move(update), ctx.req, false);
    }

    net::awaitable<http::response> get_as_subject(http::handler_context& ctx)
    {
        const std::string id(ctx.params[1]);
        if (auto refused = check_subject(ctx))
            co_return error_answer(*refused, ctx.req);
        if (auto refused = check_id(id))
            co_return error_answer(*refused, ctx.req);
        // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
        const reach_check reachable = owned_by(*ctx.key->subject);
        auto loaded = co_await read_record(service_, id, dsr_type, reachable);
        if (!loaded)
            co_return error_answer(loaded.error(), ctx.req);
        co_return read_answer(*loaded);
    }

    net::awaitable<http::response> put_as_subject(http::handler_context& ctx)
    {
        std::string id(ctx.params[1]);
        if (auto refused = check_subject(ctx))
            co_return error_answer(*refused, ctx.req);
        if (auto refused = check_id(id))
            co_return error_answer(*refused, ctx.req);
        const std::string& subject = *ctx.key->subject;
        update_request update{std::move(id), dsr_type};
        update.actor = "subject:" + subject;
        update.reachable = owned_by(subject);
        co_return co_await apply(std::move(update), ctx.req, true);
    }

private:
    // Reads the body into `update` and hands it to the core, which reports every problem at once.
    // On the subject route the owner is the session's subject, which a reachable record already
    // has, so a body `owner` is dropped; and the status may only be set to submitted or canceled,
    // judged on the record's strand (sending the status it already has changes nothing).
    net::awaitable<http::response> apply(update_request update, const http::request& req, bool as_subject)
    {
        update.conditions = write_conditions(req);
        update.every_problem_at_once = true;
        auto changes = update_fields(req, update.id, service_.options().max_json_depth);
        // A body refused here is answered as the core orders it (after the record's existence and
        // the preconditions), in this surface's plain error format.
        const bool body_refused = !changes;
        if (changes && as_subject)
        {
            changes->erase("owner");
            if (const auto* status = changes->if_contains("status"))
                update.guard = subject_status_rule(*status);
        }
        update.fields = std::move(changes);
        const std::string id = update.id;
        auto updated = co_await update_record(service_, std::move(update));
        if (updated)
            co_return accepted_answer(*updated);
        if (body_refused || !reported_in_result(updated.error().code))
            co_return error_answer(updated.error(), req);
        // Nothing was applied: the status reported is the one the request still has.
        auto current = co_await read_record(service_, id, dsr_type);
        const std::string status = current ? current->version.status : std::string();
        co_return refused_answer(updated.error(), id, status);
    }

    static std::function<std::optional<failure>(const json::object&)> subject_status_rule(json::value wanted)
    {
        return [wanted = std::move(wanted)](const json::object& current) -> std::optional<failure>
        {
            const bool allowed = wanted == json::value("submitted") || wanted == json::value("canceled") ||
                                 wanted == json::value(string_member(current, "status"));
            if (allowed)
                return std::nullopt;
            return failure(errc::forbidden,
                           "a data subject may only set the status to submitted or canceled");
        };
    }

    // by.type and by.id name the writer together. The subject route's writer is recorded as
    // "subject:<subject>", so an operator may not name that type: it could pass for the subject.
    static std::optional<failure> writer_problem(std::string_view by_type, std::string_view by_id)
    {
        if (by_type.empty() != by_id.empty())
            return failure(errc::bad_request, "by.type and by.id name the writer together: give both");
        if (by_type.empty())
            return std::nullopt;
        const auto fits = [](std::string_view s)
        {
            return s.size() <= 100 &&
                   std::all_of(s.begin(), s.end(),
                               [](unsigned char c) { return c > 0x20 && c < 0x7f && c != ':'; });
        };
        if (!fits(by_type) || !fits(by_id))
            return failure(errc::bad_request,
                           "by.type and by.id are 1 to 100 printable characters, without ':' "
                           "or spaces");
        if (by_type == "subject")
            return failure(errc::bad_request, "by.type \"subject\" is the data subject's own route's writer");
        return std::nullopt;
    }

    std::optional<failure> check_id(std::string_view id) const
    {
        if (id_fits_type(service_.types(), dsr_type, id))
            return std::nullopt;
        return failure(errc::invalid_id, "\"" + std::string(id) + "\" is not a data subject request id");
    }

    static std::optional<failure> check_subject(const http::handler_context& ctx)
    {
        if (ctx.key && ctx.key->subject)
            return std::nullopt;
        return failure(errc::forbidden, "this session is not a data subject's");
    }

    // A subject reaches the requests whose owner is that subject.
    static reach_check owned_by(std::string subject)
    {
        return [subject = std::move(subject)](const json::object& record)
        {
            const auto* owner = record.if_contains("owner");
            if (!owner || !owner->is_object())
                return false;
            const auto* id = owner->get_object().if_contains("id");
            return id && id->is_string() && id->get_string() == subject;
        };
    }

    core::record_service& service_;
};

} // namespace

void add_consentgrid_surface(http::router& routes, core::record_service& service)
{
    routes.add_surface(std::string(operator_prefix),
                       scheme_surface("consentgrid", "Bearer", false, error_answer));

    http::surface subject_surface;
    subject_surface.name = "consentgrid-subject";
    subject_surface.authenticate = authenticate_session;
    subject_surface.render_failure = error_answer;
    subject_surface.www_authenticate = R"(Cookie realm="reqstore")";
    routes.add_surface(std::string(subject_prefix), std::move(subject_surface));

    auto surface = std::make_shared<consentgrid_surface>(service);
    routes.add(std::string(operator_prefix) + "/requests/{id}",
               {{http::method::get, auth::scope_read,
                 http::handler_of(surface, &consentgrid_surface::get_as_operator)},
                {http::method::put, auth::scope_write,
                 http::handler_of(surface, &consentgrid_surface::put_as_operator)}});
    // A subject's key needs no scope: what it may reach is decided by its subject.
    routes.add(std::string(subject_prefix) + "/{acct}/requests/{id}",
               {{http::method::get, "", http::handler_of(surface, &consentgrid_surface::get_as_subject)},
                {http::method::put, "", http::handler_of(surface, &consentgrid_surface::put_as_subject)}});
}

} // namespace reqstore::surfaces
