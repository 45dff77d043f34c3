// The domain failures of reqstore: every way a request can be refused, as a code, a detail and
// extension members. The core knows no HTTP: http/status_map.hpp gives each code its one status and
// problem type (RFC 9457); the statuses named beside the codes below are that map, for the reader.
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
    unauthorized,           // 401 no credentials, or none that a key matches
    forbidden,              // 403 the caller's key lacks the scope the route needs
    not_found,              // 404 no such record, or none within the caller's reach
    method_not_allowed,     // 405 the route does not take this method
    request_timeout,        // 408 the request did not arrive within its deadline
    patch_test_failed,      // 409 a JSON Patch `test` operation did not hold
    invalid_transition,     // 409 the type's state machine does not allow this move
    not_updatable_in_state, // 409 the record's state takes no update
    idempotency_in_flight,  // 409 a request with the same Idempotency-Key is still being handled
    gone,                   // 410 the record was deleted
    precondition_failed,    // 412 a precondition does not hold; `current_etag` names the current version
    payload_too_large,      // 413 the body is larger than the limit
    record_too_large,       // 413 the record a write would produce exceeds limits.max_record_bytes or depth
    unsupported_media_type, // 415 the body is labelled with a media type the route does not take
    invalid_patch_path,     // 422 a JSON Patch path that does not exist in the document
    requirements_missing,   // 422 the record lacks what the state it moves to requires
    idempotency_conflict,   // 422 an Idempotency-Key reused for a different request
    precondition_required,  // 428 a write without the precondition its type requires
    rate_limited,           // 429 the caller's key has used up its rate
    headers_too_large,      // 431 the header section is larger than the limit
    internal,               // 500 never carries internal detail to the client
    not_implemented,        // 501 the configured store engine cannot do this (a backup on PostgreSQL)
    unavailable,            // 503 the store is closed or the server is draining
    writes_stopped,         // 503 a write failed to become durable: no write until a restart
    store_unavailable,      // 503 a remote engine cannot be reached now (or was lost during the call)
};

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
