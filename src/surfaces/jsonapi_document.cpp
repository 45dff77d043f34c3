// The JSON:API surface's documents: `errors` documents (from a core failure too), the resource
// document with its `jsonapi` and `links` members, and reading an update document.
#include "jsonapi_document.hpp"

#include <reqstore/core/json_pointer.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/http/validators.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace reqstore::surfaces::jsonapi
{
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

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

api_error document_error(std::string pointer, std::string detail)
{
    return error_at(400, "invalid-document", "Invalid document", std::move(detail), std::move(pointer));
}

std::string self_link(std::string_view id)
{
    return std::string(prefix) + "/requests/" + std::string(id);
}

bool ignorable_member(std::string_view name)
{
    // JSON:API 1.1 @-Members carry no specification meaning and are to be ignored.
    return name.starts_with("@");
}

// Besides `data`, an update document may hold only JSON:API's own members and @-Members.
void check_top_level(const json::object& document, std::vector<api_error>& errors)
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
}

// The resource object must be the one the path names: its type, and its id when it gives one.
void check_identity(const json::object& resource, std::string_view id, std::vector<api_error>& errors)
{
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
}

// Requests have no relationships: each one a document names is refused on its own.
void refuse_relationships(const json::value& relationships, std::vector<api_error>& errors)
{
    if (!relationships.is_object())
    {
        errors.push_back(document_error("/data/relationships", "relationships must be an object"));
        return;
    }
    for (const auto& relationship : relationships.get_object())
        errors.push_back(error_at(403, "unsupported-relationship", "Unsupported relationship",
                                  "requests have no relationship \"" + std::string(relationship.key()) +
                                      "\"; note_id is an attribute",
                                  member_pointer("/data/relationships", relationship.key())));
}

// The writable attributes go to `changes` under their record names; every other one is refused.
void read_attributes(const json::object& attributes, json::object& changes, std::vector<api_error>& errors)
{
    for (const auto& attribute : attributes)
    {
        const std::string_view wire = attribute.key();
        const field* f = find_wire(fields, wire);
        const std::string pointer = member_pointer("/data/attributes", wire);
        if (!f)
            errors.push_back(error_at(400, "unknown-attribute", "Unknown attribute",
                                      "requests have no attribute \"" + std::string(wire) + "\"", pointer));
        else if (!f->writable)
            errors.push_back(error_at(
                403, "read-only-attribute", "Read-only attribute",
                std::string(wire) + " is read-only; only status and note_id can be updated", pointer));
        else
            changes[f->record] = attribute.value();
    }
}

} // namespace

api_error error_at(unsigned status, std::string_view code, std::string_view title, std::string detail,
                   std::string pointer)
{
    return {status, std::string(code), std::string(title), std::move(detail), std::move(pointer), {}, {}};
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

namespace
{

// The extension member as_refusal keeps the errors document in.
constexpr std::string_view carried_errors = "jsonapi_errors";

} // namespace

failure as_refusal(std::vector<api_error> errors)
{
    json::array list;
    for (auto& e : errors)
        list.push_back(json::object{{"status", e.status},
                                    {"code", std::move(e.code)},
                                    {"title", std::move(e.title)},
                                    {"detail", std::move(e.detail)},
                                    {"pointer", std::move(e.pointer)},
                                    {"parameter", std::move(e.parameter)},
                                    {"meta", std::move(e.meta)}});
    return failure(errc::bad_request, "the update document was refused", {{carried_errors, std::move(list)}});
}

http::response error_answer(const failure& f, const http::request& req)
{
    if (const auto* carried = f.extensions.if_contains(carried_errors); carried && carried->is_array())
    {
        std::vector<api_error> errors;
        for (const auto& item : carried->get_array())
        {
            const json::object& o = item.as_object();
            errors.push_back({static_cast<unsigned>(o.at("status").to_number<std::uint64_t>()),
                              std::string(o.at("code").as_string()), std::string(o.at("title").as_string()),
                              std::string(o.at("detail").as_string()),
                              std::string(o.at("pointer").as_string()),
                              std::string(o.at("parameter").as_string()), o.at("meta").as_object()});
        }
        if (!errors.empty())
            return errors_answer(errors);
    }
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

json::object read_document(const json::object& document, std::string_view id, std::vector<api_error>& errors)
{
    check_top_level(document, errors);
    const json::value* data = document.if_contains("data");
    if (!data || !data->is_object())
    {
        errors.push_back(document_error("/data", "the document's data must be a resource object"));
        return {};
    }
    const json::object& resource = data->get_object();
    check_identity(resource, id, errors);
    if (!errors.empty())
        return {};

    json::object changes;
    for (const auto& member : resource)
    {
        const std::string_view name = member.key();
        if (name == "type" || name == "id" || name == "meta" || name == "links" || ignorable_member(name))
            continue;
        if (name == "relationships")
            refuse_relationships(member.value(), errors);
        else if (name != "attributes")
            errors.push_back(
                document_error(member_pointer("/data", name),
                               "\"" + std::string(name) + "\" is not a member of a resource object"));
        else if (!member.value().is_object())
            errors.push_back(document_error("/data/attributes", "attributes must be an object"));
        else
            read_attributes(member.value().get_object(), changes, errors);
    }
    return changes;
}

} // namespace reqstore::surfaces::jsonapi
