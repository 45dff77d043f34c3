// Internal to surfaces: the JSON:API surface's documents (the resource document with its `jsonapi`
// and `links` members, update documents, `errors` documents) and what a request asks of them
// (content negotiation, sparse fieldsets, the query parameters the specification reserves).
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/message.hpp>
#include <reqstore/surfaces/support.hpp>

#include <boost/json/object.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::surfaces::jsonapi
{

inline constexpr std::string_view prefix = "/api/public/v1";
inline constexpr std::string_view resource_type = "requests";
inline constexpr std::string_view jsonapi_media = "application/vnd.api+json";
inline constexpr std::string_view fieldset_parameter = "fields[requests]";

// The attributes of a request resource in the order of the seed's example, then completed_at,
// which the type sets when COMPLETED is entered and which the seed's schema does not list. Only
// status and note_id may be written; the type itself already refuses changes to the others.
inline constexpr std::array<field, 16> fields{{
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

// ---- error documents (jsonapi_document.cpp) ----

// One member of an `errors` array.
struct api_error
{
    unsigned status = 400;
    std::string code;
    std::string title;
    std::string detail;
    std::string pointer;   // source.pointer; empty: none
    std::string parameter; // source.parameter (a query parameter); empty: none
    boost::json::object meta;
};

// An error whose source is `pointer` into the request document ("" for none).
api_error error_at(unsigned status, std::string_view code, std::string_view title, std::string detail,
                   std::string pointer);

// The `errors` document of one or more problems (not empty), with the most generally applicable
// status: theirs if they agree, else 400, or 500 if any is a server error.
http::response errors_answer(const std::vector<api_error>& errors);

// Problems of a request's document as one core failure, so that they can travel through the core
// as the refusal of a write's body and come back (error_answer renders them as they are).
core::failure as_refusal(std::vector<api_error> errors);

// The JSON:API form of a core failure, also the surface's render_failure. A failure made by
// as_refusal is answered with its own errors document. A failure naming
// offending members becomes one error object per member, with its pointer into the document;
// the failure's other extensions (allowed targets, current_etag, ...) go to `meta`, except for a
// server error, whose detail is generic. A 412 carries the current ETag, a 415 Accept-Patch.
http::response error_answer(const core::failure& f, const http::request& req);

// ---- what the request asks (jsonapi_negotiation.cpp) ----

// The attributes an answer shows: every one, or the sparse fieldset of `fields[requests]`.
struct answer_shape
{
    std::optional<std::vector<std::string>> fieldset;
};

// 406 when Accept names the JSON:API media type only with parameters it cannot honour; nullopt
// otherwise (no Accept, or any acceptable range).
std::optional<api_error> accept_problem(const http::request& req);

// 415 unless the body is labelled application/json or the JSON:API media type without an
// extension or a parameter other than `profile`; nullopt when it is.
std::optional<core::failure> content_type_problem(const http::request& req);

// Reads the query: `fields[requests]` is honoured; `include`, `sort`, `page[...]`, `filter[...]`
// and other names the specification reserves are refused, as JSON:API requires of a server that
// does not implement them; implementation-specific names (with a character outside a-z) are ignored.
// Returns the problems found (none: `shape` is set).
std::vector<api_error> read_query(const http::request& req, answer_shape& shape);

// ---- resource and update documents (jsonapi_document.cpp) ----

// 200 with the resource document of `loaded` in `shape`, its ETag and Last-Modified.
http::response resource_answer(const loaded_record& loaded, const answer_shape& shape);

// The record members an update document sets. A document aimed at another resource is refused
// alone (400 for its shape, 409 for another type or id); otherwise every attribute problem is
// reported at once: 403 for a read-only attribute, 400 for one the resource does not have.
// Problems are appended to `errors`; the changes are meaningful only when none were.
boost::json::object read_document(const boost::json::object& document, std::string_view id,
                                  std::vector<api_error>& errors);

} // namespace reqstore::surfaces::jsonapi
