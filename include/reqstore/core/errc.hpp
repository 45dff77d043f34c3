// The domain failures of reqstore: every way a request can be refused, each mapped to exactly
// one HTTP status and one problem type (RFC 9457) in one place, describe_failure().
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace reqstore::core
{

enum class errc
{
    bad_request = 1,        // 400 a malformed header, query or request line
    malformed_json,         // 400 the body is not a JSON object we accept
    malformed_patch,        // 400 a JSON Patch document that is not a list of valid operations
    validation_failed,      // 400 members that do not fit the type; `errors` names each one
    read_only_field,        // 400 a write that changes a system field
    invalid_id,             // 400 a path id that fits no type's id format
    unauthorized,           // 401
    forbidden,              // 403
    not_found,              // 404
    method_not_allowed,     // 405
    request_timeout,        // 408
    patch_test_failed,      // 409 a JSON Patch `test` operation did not hold
    invalid_transition,     // 409 the type's state machine does not allow this move
    not_updatable_in_state, // 409
    idempotency_in_flight,  // 409
    gone,                   // 410 the record was deleted
    precondition_failed,    // 412
    payload_too_large,      // 413
    record_too_large,       // 413 the record a write would produce exceeds limits.max_record_bytes or depth
    unsupported_media_type, // 415
    invalid_patch_path,     // 422 a JSON Patch path that does not exist in the document
    requirements_missing,   // 422
    idempotency_conflict,   // 422
    precondition_required,  // 428
    rate_limited,           // 429
    headers_too_large,      // 431
    internal,               // 500 never carries internal detail to the client
    unavailable,            // 503 the store is closed or the server is draining
    writes_stopped,         // 503 a write failed to become durable: no write until a restart
};

// How a failure appears on the wire.
struct failure_description
{
    unsigned status;
    std::string_view slug;  // problem type is "/problems/<slug>"
    std::string_view title; // short, constant, human-readable summary
};

// The one mapping from errc to status, slug and title.
failure_description describe_failure(errc code) noexcept;

// The one sentence a client gets as the detail of a 5xx (the failure's own detail, which may name
// internals, goes only to the log).
std::string_view server_failure_detail(errc code);

// A refused request: the reason, a human-readable detail for this occurrence, and problem
// extension members (`errors`, `allowed`, `current_etag`, ...) copied into the answer as they are.
struct failure
{
    errc code = errc::internal;
    std::string detail;
    boost::json::object extensions;

    failure() = default;
    failure(errc c, std::string d = {}, boost::json::object ext = {})
        : code(c), detail(std::move(d)), extensions(std::move(ext))
    {
    }
};

template <class T>
using result = boost::system::result<T, failure>;

} // namespace reqstore::core

// Lets boost::system::result<T, failure> throw something meaningful if value() is misused.
namespace reqstore::core
{
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);
} // namespace reqstore::core
