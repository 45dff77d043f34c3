// The JSON:API requests service (seed 003) over the core: resource documents with `jsonapi` and
// `links`, JSON:API 1.1 content negotiation, and every refusal as an `errors` array.
#include <reqstore/auth/keys.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/http/header_text.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/http/validators.hpp>
#include <reqstore/surfaces/jsonapi.hpp>
#include <reqstore/surfaces/support.hpp>

#include <boost/json/serialize.hpp>
#include <boost/url/params_encoded_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <vector>

namespace reqstore::surfaces
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::string_view prefix = "/api/public/v1";
constexpr std::string_view resource_type = "requests";
constexpr std::string_view jsonapi_media = "application/vnd.api+json";
constexpr std::string_view fieldset_parameter = "fields[requests]";

// The attributes of a request resource in the order of the seed's example, then completed_at,
// which the type sets when COMPLETED is entered and which the seed's schema does not list. Only
// status and note_id may be written; the type itself already refuses changes to the others.
constexpr std::array<field, 16> fields{{
    {"request_id", "request_id", false},
    {"requested_by", "requested_by", false},
    {"status", "status", true},
    {"note_id", "note_id", true},
    {"community_server_id", "community_server_id", false},
    {"requested_at", "requested_at", false},
    {"created_at", "created_at", false},
    {"updated_at", "updated_at", false},
    {"content", "content", false},
    {"platform_message_id", "platform_message_id", false},
    {"platform_channel_id", "platform_channel_id", false},
    {"metadata", "metadata", false},
    {"similarity_score", "similarity_score", false},
    {"dataset_name", "dataset_name", false},
    {"dataset_item_id", "dataset_item_id", false},
    {"completed_at", "completed_at", false},
}};

// ---------------------------------------------------------------------------------------------
// Error documents

// One member of an `errors` array.
struct api_error
{
    unsigned status = 400;
    std::string code;
    std::string title;
    std::string detail;
    std::string pointer;   // source.pointer; empty: none
    std::string parameter; // source.parameter (a query parameter); empty: none
    json::object meta;
};

json::object jsonapi_member()
{
    return {{"version", "1.1"}};
}

std::string member_pointer(std::string_view parent, std::string_view name)
{
    return std::string(parent) + "/" + core::escape_pointer_token(name);
}

// A pointer into the record ("/status") as a pointer into the request document.
std::string attribute_pointer(std::string_view record_pointer)
{
    return "/data/attributes" + wire_pointer(record_pointer, fields);
}

api_error error_at(unsigned status, std::string_view code, std::string_view title, std::string detail,
                   std::string pointer)
{
    return {status, std::string(code), std::string(title), std::move(detail), std::move(pointer), {}, {}};
}

api_error document_error(std::string pointer, std::string detail)
{
    return error_at(400, "invalid-document", "Invalid document", std::move(detail), std::move(pointer));
}

http::response errors_answer(const std::vector<api_error>& errors)
{
    // JSON:API: with several problems, the answer takes the most generally applicable status.
    unsigned status = errors.front().status;
    for (const auto& e : errors)
        if (e.status != status)
            status = std::max(e.status, status) >= 500 ? 500 : 400;
    json::array list;
    for (const auto& e : errors)
    {
        json::object o{{"status", std::to_string(e.status)}, {"code", e.code}, {"title", e.title}};
        // A detail or a parameter may quote the query string's bytes: keep the body JSON.
        if (!e.detail.empty())
            o["detail"] = http::valid_utf8(e.detail);
        if (!e.pointer.empty())
            o["source"] = json::object{{"pointer", e.pointer}};
        else if (!e.parameter.empty())
            o["source"] = json::object{{"parameter", http::valid_utf8(e.parameter)}};
        if (!e.meta.empty())
            o["meta"] = e.meta;
        list.push_back(std::move(o));
    }
    return json_response(status, json::object{{"errors", std::move(list)}, {"jsonapi", jsonapi_member()}},
                         jsonapi_media);
}

// The JSON:API form of a core failure, also the surface's render_failure. A failure naming
// offending members becomes one error object per member, with its pointer into the document;
// the failure's other extensions (allowed targets, current_etag, ...) go to `meta`.
http::response error_answer(const failure& f, const http::request& req)
{
    const auto described = http::describe_failure(f.code);
    const bool server_side = described.status >= 500;
    api_error base{described.status,
                   std::string(described.slug),
                   std::string(described.title),
                   client_message(f, req),
                   {},
                   {},
                   {}};
    if (!server_side)
        for (const auto& member : f.extensions)
            if (member.key() != "errors")
                base.meta[member.key()] = member.value();

    std::vector<api_error> errors;
    const json::value* offending = f.extensions.if_contains("errors");
    if (!server_side && offending && offending->is_object() && !offending->get_object().empty())
    {
        for (const auto& member : offending->get_object())
        {
            api_error e = base;
            const std::string wire = wire_pointer(member.key(), fields);
            const std::string message = member.value().is_string() ? std::string(member.value().get_string())
                                                                   : json::serialize(member.value());
            e.detail = (wire.size() > 1 ? wire.substr(1) + " " : std::string()) + message;
            e.pointer = attribute_pointer(member.key());
            errors.push_back(std::move(e));
        }
    }
    else if (f.code == errc::invalid_transition)
    {
        base.pointer = "/data/attributes/status";
        errors.push_back(std::move(base));
    }
    else
        errors.push_back(std::move(base));

    http::response r = errors_answer(errors);
    http::set_current_etag(r, f);
    if (f.code == errc::unsupported_media_type)
        r.set("Accept-Patch", std::string(jsonapi_media) + ", application/json");
    return r;
}

// ---------------------------------------------------------------------------------------------
// Content negotiation

// Splits at `separator` where it is not inside a quoted string (a profile URI list may hold one).
std::vector<std::string_view> split_unquoted(std::string_view s, char separator)
{
    std::vector<std::string_view> parts;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
    {
        if (s[i] == '\\' && quoted)
            ++i;
        else if (s[i] == '"')
            quoted = !quoted;
        else if (s[i] == separator && !quoted)
        {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    parts.push_back(s.substr(start));
    return parts;
}

struct media_range
{
    std::string type;                                            // lower-case, without parameters
    std::vector<std::pair<std::string, std::string>> parameters; // name lower-case, value unquoted
};

media_range parse_media_range(std::string_view text)
{
    const auto parts = split_unquoted(text, ';');
    media_range m;
    m.type = http::lowercase(http::trim(parts.front()));
    for (std::size_t i = 1; i < parts.size(); ++i)
    {
        const std::string_view p = http::trim(parts[i]);
        if (p.empty())
            continue;
        const auto eq = p.find('=');
        std::string_view value =
            eq == std::string_view::npos ? std::string_view() : http::trim(p.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        m.parameters.emplace_back(http::lowercase(http::trim(p.substr(0, eq))), std::string(value));
    }
    return m;
}

// Why an instance of the JSON:API media type asks for something this server cannot do ("" when
// it does not): JSON:API 1.1 allows only `ext` and `profile`, and this server implements no
// extension. Profiles are ignorable by definition, so any is fine.
std::string jsonapi_parameter_problem(const media_range& m)
{
    for (const auto& [name, value] : m.parameters)
    {
        if (name == "profile")
            continue;
        if (name == "ext")
        {
            if (!http::trim(value).empty())
                return "this server implements no JSON:API extension (ext=\"" + value + "\")";
            continue;
        }
        return "the media type parameter \"" + name + "\" is not allowed with " + std::string(jsonapi_media);
    }
    return {};
}

// 406 when Accept names the JSON:API media type only with parameters it cannot honour.
std::optional<api_error> accept_problem(const http::request& req)
{
    const auto accept = req.header_list("accept");
    if (!accept)
        return std::nullopt;
    std::string problem;
    for (const std::string_view element : split_unquoted(*accept, ','))
    {
        media_range m = parse_media_range(element);
        if (m.type != jsonapi_media)
            continue;
        // `q` and what follows it are accept parameters, not the media type's.
        const auto q = std::find_if(m.parameters.begin(), m.parameters.end(),
                                    [](const auto& p) { return p.first == "q"; });
        m.parameters.erase(q, m.parameters.end());
        std::string why = jsonapi_parameter_problem(m);
        if (why.empty())
            return std::nullopt;
        problem = std::move(why);
    }
    if (problem.empty())
        return std::nullopt;
    return error_at(406, "not-acceptable", "Not acceptable", std::move(problem), {});
}

// 415 unless the body is labelled application/json or the plain JSON:API media type.
std::optional<failure> content_type_problem(const http::request& req)
{
    const auto value = req.header("content-type");
    if (!value)
        return failure(errc::unsupported_media_type,
                       "send the document with Content-Type: " + std::string(jsonapi_media));
    const media_range m = parse_media_range(*value);
    if (m.type == "application/json")
        return std::nullopt;
    if (m.type == jsonapi_media)
    {
        std::string why = jsonapi_parameter_problem(m);
        if (why.empty())
            return std::nullopt;
        return failure(errc::unsupported_media_type, std::move(why));
    }
    return failure(errc::unsupported_media_type, (m.type.empty() ? std::string("this media type") : m.type) +
                                                     " is not accepted; send " + std::string(jsonapi_media) +
                                                     " or application/json");
}

// ---------------------------------------------------------------------------------------------
// Query parameters

// The attributes an answer shows: every one, or the sparse fieldset of `fields[requests]`.
struct answer_shape
{
    std::optional<std::vector<std::string>> fieldset;
};

bool reserved_name(std::string_view name)
{
    // JSON:API 1.1: a parameter name made only of a-z belongs to the specification.
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

api_error parameter_error(std::string parameter, std::string detail)
{
    return {400,
            "invalid-query-parameter",
            "Invalid query parameter",
            std::move(detail),
            {},
            std::move(parameter),
            {}};
}

// Reads the query: `fields[requests]` is honoured; `include`, `sort`, `page[...]`, `filter[...]`
// and other names the specification reserves are refused, as JSON:API requires of a server that
// does not implement them; implementation-specific names (with a character outside a-z) are ignored.
// Returns the problems found (none: `shape` is set).
std::vector<api_error> read_query(const http::request& req, answer_shape& shape)
{
    if (req.query().empty())
        return {};
    // Boost.URL 1.81 reads its argument up to a NUL, so it gets a NUL-terminated copy.
    const std::string query(req.query());
    std::optional<boost::urls::params_encoded_view> params;
    try
    {
        params.emplace(std::string_view(query));
    }
    catch (const boost::system::system_error&)
    {
        return {parameter_error({}, "the query string cannot be parsed")};
    }
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    std::vector<api_error> errors;
    for (const boost::urls::param_pct_view param : *params)
    {
        std::string name = param.key.decode(form);
        const std::string value = param.has_value ? param.value.decode(form) : std::string();
        const std::string family = name.substr(0, name.find('['));
        if (name == fieldset_parameter)
        {
            std::vector<std::string> names;
            for (const std::string_view item : split_unquoted(value, ','))
            {
                const std::string_view attribute = http::trim(item);
                if (attribute.empty())
                    continue;
                if (!find_wire(fields, attribute))
                    errors.push_back(parameter_error(name, "\"" + std::string(attribute) +
                                                               "\" is not an attribute of " +
                                                               std::string(resource_type)));
                names.emplace_back(attribute);
            }
            shape.fieldset = std::move(names);
        }
        else if (family == "fields")
            continue; // a fieldset for a type this document never includes
        else if (family == "include")
            errors.push_back(parameter_error(name, "requests have no relationships to include"));
        else if (family == "sort" || family == "page" || family == "filter")
            errors.push_back(parameter_error(name, "a single resource cannot be sorted, paged or filtered"));
        else if (reserved_name(family))
            errors.push_back(parameter_error(name, "\"" + name + "\" is not a query parameter of this API"));
    }
    return errors;
}

// ---------------------------------------------------------------------------------------------
// Documents

std::string self_link(std::string_view id)
{
    return std::string(prefix) + "/requests/" + std::string(id);
}

http::response resource_answer(const loaded_record& loaded, const answer_shape& shape)
{
    const std::string id = string_member(loaded.record, "id");
    json::object attributes = wire_fields(loaded.record, fields);
    if (shape.fieldset)
    {
        json::object kept;
        for (const auto& member : attributes)
            if (std::find(shape.fieldset->begin(), shape.fieldset->end(), member.key()) !=
                shape.fieldset->end())
                kept[member.key()] = member.value();
        attributes = std::move(kept);
    }
    json::object resource{{"id", id}, {"type", resource_type}, {"attributes", std::move(attributes)}};
    json::object document{{"data", std::move(resource)},
                          {"jsonapi", jsonapi_member()},
                          {"links", json::object{{"self", self_link(id)}}}};
    http::response r = json_response(200, document, jsonapi_media);
    http::set_validators(r, loaded.version.version, loaded.version.updated_at);
    return r;
}

bool ignorable_member(std::string_view name)
{
    // JSON:API 1.1 @-Members carry no specification meaning and are to be ignored.
    return name.starts_with("@");
}

// The record members an update document sets. A document aimed at another resource is refused
// alone (400 for its shape, 409 for another type or id); otherwise every attribute problem is
// reported at once: 403 for a read-only attribute, 400 for one the resource does not have.
json::object read_document(const json::object& document, std::string_view id, std::vector<api_error>& errors)
{
    for (const auto& member : document)
    {
        const std::string_view name = member.key();
        if (name != "data" && name != "meta" && name != "jsonapi" && name != "links" &&
            !ignorable_member(name))
            errors.push_back(
                document_error(member_pointer("", name),
                               "\"" + std::string(name) + "\" is not a member of an update document"));
    }
    const json::value* data = document.if_contains("data");
    if (!data || !data->is_object())
    {
        errors.push_back(document_error("/data", "the document's data must be a resource object"));
        return {};
    }
    const json::object& resource = data->get_object();

    const json::value* type = resource.if_contains("type");
    if (!type)
        errors.push_back(document_error("/data", "the resource object needs a type"));
    else if (!type->is_string())
        errors.push_back(document_error("/data/type", "type must be a string"));
    else if (type->get_string() != resource_type)
        errors.push_back(error_at(409, "type-conflict", "Resource type conflict",
                                  "this endpoint updates resources of type " + std::string(resource_type) +
                                      ", not \"" + std::string(type->get_string()) + "\"",
                                  "/data/type"));
    if (const json::value* given = resource.if_contains("id"))
    {
        if (!given->is_string())
            errors.push_back(document_error("/data/id", "id must be a string"));
        else if (given->get_string() != id)
            errors.push_back(error_at(409, "id-conflict", "Resource id conflict",
                                      "the document's id \"" + std::string(given->get_string()) +
                                          "\" is not the id in the path, " + std::string(id),
                                      "/data/id"));
    }
    if (!errors.empty())
        return {};

    json::object changes;
    for (const auto& member : resource)
    {
        const std::string_view name = member.key();
        if (name == "type" || name == "id" || name == "meta" || name == "links" || ignorable_member(name))
            continue;
        if (name == "relationships")
        {
            if (!member.value().is_object())
                errors.push_back(document_error("/data/relationships", "relationships must be an object"));
            else
                for (const auto& relationship : member.value().get_object())
                    errors.push_back(error_at(403, "unsupported-relationship", "Unsupported relationship",
                                              "requests have no relationship \"" +
                                                  std::string(relationship.key()) +
                                                  "\"; note_id is an attribute",
                                              member_pointer("/data/relationships", relationship.key())));
            continue;
        }
        if (name != "attributes")
        {
            errors.push_back(
                document_error(member_pointer("/data", name),
                               "\"" + std::string(name) + "\" is not a member of a resource object"));
            continue;
        }
        if (!member.value().is_object())
        {
            errors.push_back(document_error("/data/attributes", "attributes must be an object"));
            continue;
        }
        for (const auto& attribute : member.value().get_object())
        {
            const std::string_view wire = attribute.key();
            const field* f = find_wire(fields, wire);
            const std::string pointer = member_pointer("/data/attributes", wire);
            if (!f)
                errors.push_back(error_at(400, "unknown-attribute", "Unknown attribute",
                                          "requests have no attribute \"" + std::string(wire) + "\"",
                                          pointer));
            else if (!f->writable)
                errors.push_back(error_at(
                    403, "read-only-attribute", "Read-only attribute",
                    std::string(wire) + " is read-only; only status and note_id can be updated", pointer));
            else
                changes[f->record] = attribute.value();
        }
    }
    return changes;
}

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

        // The contract's order (API.md section 5): the record exists and the preconditions hold
        // before the body is judged. The core judges both again, atomically, when it writes.
        auto current = co_await read_record(service_, id, jsonapi_type);
        if (!current)
            co_return error_answer(current.error(), ctx.req);
        core::conditional_headers conditions = write_conditions(ctx.req);
        const auto outcome = core::evaluate_preconditions(
            conditions, {current->version.version, current->version.updated_at}, core::request_kind::write,
            service_.require_if_match_for(jsonapi_type));
        if (auto problem = refused_by_preconditions(outcome, current->version))
            co_return error_answer(*problem, ctx.req);

        if (auto problem = content_type_problem(ctx.req))
            co_return error_answer(*problem, ctx.req);
        auto body = object_body(ctx.req, service_.options().max_json_depth);
        if (!body)
            co_return error_answer(body.error(), ctx.req);
        std::vector<api_error> errors;
        json::object changes = read_document(*body, id, errors);
        if (!errors.empty())
            co_return errors_answer(errors);

        update_request update{std::move(id), jsonapi_type, std::move(changes), ctx.key->id,
                              std::move(conditions)};
        auto updated = co_await update_record(service_, std::move(update));
        if (!updated)
            co_return error_answer(with_allowed_targets(updated.error()), ctx.req);
        co_return resource_answer(*updated, shape);
    }

private:
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
