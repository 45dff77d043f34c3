// Field tables, lenient bodies, one-scheme credentials, and record access for the seed surfaces.
#include <reqstore/core/json_body.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/http/header_text.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/surfaces/support.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

// `1, "2", W/"3"` -> `"1", "2", W/"3"`: bare tokens get quotes, everything else stays.
std::string quote_bare_tags(std::string_view value)
{
    std::string out;
    while (true)
    {
        const auto comma = value.find(',');
        const std::string_view element = http::trim(value.substr(0, comma));
        if (!out.empty())
            out += ", ";
        const bool bare = !element.empty() && element != "*" && element.front() != '"' &&
                          !element.starts_with("W/") &&
                          std::none_of(element.begin(), element.end(),
                                       [](char c) { return c == '"' || c == ' ' || c == '\t'; });
        if (bare)
            out += "\"" + std::string(element) + "\"";
        else
            out += element;
        if (comma == std::string_view::npos)
            break;
        value.remove_prefix(comma + 1);
    }
    return out;
}

} // namespace

std::string unescape_pointer_token(std::string_view token)
{
    std::string out;
    for (std::size_t i = 0; i < token.size(); ++i)
    {
        if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1'))
        {
            out += token[i + 1] == '0' ? '~' : '/';
            ++i;
        }
        else
            out += token[i];
    }
    return out;
}

const field* find_wire(field_table table, std::string_view wire) noexcept
{
    const auto it = std::find_if(table.begin(), table.end(), [&](const field& f) { return f.wire == wire; });
    return it == table.end() ? nullptr : &*it;
}

const field* find_record(field_table table, std::string_view record) noexcept
{
    const auto it =
        std::find_if(table.begin(), table.end(), [&](const field& f) { return f.record == record; });
    return it == table.end() ? nullptr : &*it;
}

json::object record_fields(const json::object& body, field_table table, std::string_view surface_name,
                           json::object& errors)
{
    json::object out;
    for (const auto& member : body)
    {
        const field* f = find_wire(table, member.key());
        if (!f)
            errors["/" + core::escape_pointer_token(member.key())] =
                "is not a field of " + std::string(surface_name);
        else if (!f->writable)
            errors["/" + core::escape_pointer_token(member.key())] = "is read-only";
        else
            out[f->record] = member.value();
    }
    return out;
}

core::result<json::object> mapped_body(const http::request& req, field_table table,
                                       std::string_view surface_name, unsigned max_depth)
{
    auto body = object_body(req, max_depth);
    if (!body)
        return body.error();
    json::object errors;
    json::object changes = record_fields(*body, table, surface_name, errors);
    if (!errors.empty())
        return body_failure("the update names members it cannot set", std::move(errors));
    return changes;
}

json::object wire_fields(const json::object& record, field_table table)
{
    json::object out;
    out.reserve(table.size());
    for (const field& f : table)
        out[f.wire] = member_or_null(record, f.record);
    return out;
}

std::string wire_pointer(std::string_view record_pointer, field_table table)
{
    if (!record_pointer.starts_with("/"))
        return std::string(record_pointer);
    const std::string_view rest = record_pointer.substr(1);
    const auto slash = rest.find('/');
    const std::string name = unescape_pointer_token(rest.substr(0, slash));
    const field* f = find_record(table, name);
    if (!f)
        return std::string(record_pointer);
    return "/" + core::escape_pointer_token(f->wire) +
           (slash == std::string_view::npos ? "" : std::string(rest.substr(slash)));
}

failure body_failure(std::string detail, json::object wire_pointer_errors, errc code)
{
    return {code, std::move(detail), {{"wire_errors", std::move(wire_pointer_errors)}}};
}

json::object wire_errors(const failure& f, field_table table)
{
    json::object out;
    if (const json::value* errors = f.extensions.if_contains("errors"); errors && errors->is_object())
        for (const auto& member : errors->get_object())
            out[wire_pointer(member.key(), table)] = member.value();
    if (const json::value* own = f.extensions.if_contains("wire_errors"); own && own->is_object())
        for (const auto& member : own->get_object())
            out[member.key()] = member.value();
    return out;
}

core::result<json::object> object_body(const http::request& req, unsigned max_depth)
{
    if (req.body().empty())
        return failure(errc::malformed_json, "the body is empty; it must be a JSON object");
    auto parsed = core::parse_json_body(req.body(), max_depth);
    if (!parsed)
        return parsed.error();
    if (!parsed->is_object())
        return failure(errc::malformed_json, "the body must be a JSON object");
    return std::move(parsed->get_object());
}

http::surface scheme_surface(std::string name, std::string scheme, bool x_api_key,
                             std::function<http::response(const failure&, const http::request&)> render)
{
    http::surface s;
    s.name = std::move(name);
    s.www_authenticate = scheme + " realm=\"reqstore\"";
    s.authenticate =
        [scheme = std::move(scheme), x_api_key](const http::request& req, const auth::key_registry& keys)
    {
        return authenticate_with(req, keys, scheme, x_api_key);
    };
    s.render_failure = std::move(render);
    return s;
}

core::result<const auth::api_key*> authenticate_with(const http::request& req, const auth::key_registry& keys,
                                                     std::string_view scheme, bool x_api_key)
{
    auth::credentials presented;
    if (const auto authorization = req.header("authorization"))
    {
        const std::string_view value = http::trim(*authorization);
        const bool matches = value.size() > scheme.size() &&
                             http::lowercase(value.substr(0, scheme.size())) == http::lowercase(scheme) &&
                             value[scheme.size()] == ' ';
        if (matches)
            presented.authorization = value;
    }
    if (x_api_key)
        presented.api_key = req.header("x-api-key");
    if (!presented.authorization && !presented.api_key)
        return failure(errc::unauthorized, "this API takes " + std::string(scheme) + " credentials");
    return keys.authenticate(presented, req.verified_credentials());
}

core::conditional_headers write_conditions(const http::request& req)
{
    core::conditional_headers h;
    if (const auto v = req.header_list("if-match"))
        h.if_match = quote_bare_tags(*v);
    if (const auto v = req.header("if-unmodified-since"))
        h.if_unmodified_since = std::string(*v);
    return h;
}

std::string client_message(const failure& f, const http::request& req)
{
    http::log_server_failure(f, req);
    return http::client_detail(f);
}

http::response json_response(unsigned status, const json::value& body, std::string_view content_type)
{
    http::response r;
    r.status = status;
    r.content_type = std::string(content_type);
    r.body = json::serialize(body);
    return r;
}

bool id_fits_type(const core::type_registry& types, std::string_view type_name, std::string_view id)
{
    const core::request_type* type = types.find(type_name);
    return type && core::id_fits(type->format, type->id_prefix, id);
}

namespace
{

failure no_such_record(std::string_view id)
{
    return {errc::not_found, "no request with id " + std::string(id)};
}

core::result<json::object> parse_record(const core::stored_version& v)
{
    auto parsed = core::parse_json_body(v.body, 1024);
    if (!parsed || !parsed->is_object())
        return failure(errc::internal,
                       "stored record version " + std::to_string(v.version) + " does not parse");
    return std::move(parsed->get_object());
}

} // namespace

net::awaitable<core::result<loaded_record>> read_record(core::record_service& service, std::string_view id,
                                                        std::string_view type_name,
                                                        const reach_check& reachable)
{
    const core::conditional_headers unconditional; // named: GCC 12 destroys temporaries of a co_await twice
    auto read = co_await service.read(id, unconditional);
    if (!read)
        co_return read.error().code == errc::gone ? no_such_record(id) : read.error();
    if (read->record.type != type_name)
        co_return no_such_record(id);
    auto record = parse_record(read->record);
    if (!record)
        co_return record.error();
    if (reachable && !reachable(*record))
        co_return no_such_record(id);
    co_return loaded_record{std::move(read->record), std::move(*record), false};
}

net::awaitable<core::result<loaded_record>> read_record(core::record_service& service, std::string_view id,
                                                        std::string_view type_name)
{
    const reach_check everyone;
    co_return co_await read_record(service, id, type_name, everyone);
}

net::awaitable<core::result<loaded_record>> update_record(core::record_service& service,
                                                          update_request request)
{
    core::write_input input;
    input.conditions = std::move(request.conditions);
    if (request.fields)
        input.body = json::value(std::move(*request.fields));
    else
        input.body = request.fields.error();
    input.media = core::body_media::json;
    input.actor = std::move(request.actor);
    input.every_problem_at_once = request.every_problem_at_once;
    input.admit = [&request](const json::object& record) -> std::optional<failure>
    {
        const bool reached = string_member(record, "type") == request.type_name &&
                             !record.contains("deleted_at") &&
                             (!request.reachable || request.reachable(record));
        if (!reached)
            return no_such_record(request.id);
        if (request.guard)
            return request.guard(record);
        return std::nullopt;
    };
    auto written = co_await service.put(request.id, std::move(input));
    if (!written)
        co_return written.error();
    auto record = parse_record(written->record);
    if (!record)
        co_return record.error();
    co_return loaded_record{std::move(written->record), std::move(*record), written->committed};
}

net::awaitable<http::response> get_mapped(const mapped_surface& s, core::record_service& service,
                                          http::handler_context& ctx)
{
    const std::string id(ctx.params[0]);
    if (!id_fits_type(service.types(), s.type_name, id))
        co_return s.invalid_id(ctx.req, id);
    auto loaded = co_await read_record(service, id, s.type_name);
    if (!loaded)
        co_return s.error_answer(loaded.error(), ctx.req);
    co_return s.success_answer(*loaded);
}

net::awaitable<std::variant<http::response, loaded_record>>
put_mapped(const mapped_surface& s, core::record_service& service, http::handler_context& ctx)
{
    std::string id(ctx.params[0]);
    if (!id_fits_type(service.types(), s.type_name, id))
        co_return s.invalid_id(ctx.req, id);
    auto changes = mapped_body(ctx.req, s.fields, s.body_name, service.options().max_json_depth);
    update_request update{std::move(id), s.type_name, std::move(changes), ctx.key->id,
                          write_conditions(ctx.req)};
    auto updated = co_await update_record(service, std::move(update));
    if (!updated)
        co_return s.error_answer(updated.error(), ctx.req);
    co_return std::move(*updated);
}

std::string string_member(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::value member_or_null(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v ? *v : json::value(nullptr);
}

} // namespace reqstore::surfaces
