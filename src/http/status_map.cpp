// The single table that turns a domain failure into an HTTP status and a problem type.
#include <reqstore/http/status_map.hpp>

namespace reqstore::http
{
using core::errc;

failure_description describe_failure(core::errc code) noexcept
{
    switch (code)
    {
    case errc::bad_request:
        return {400, "bad-request", "Bad request"};
    case errc::malformed_json:
        return {400, "malformed-json", "Malformed JSON body"};
    case errc::malformed_patch:
        return {400, "malformed-patch", "Malformed JSON Patch document"};
    case errc::validation_failed:
        return {400, "validation-failed", "Validation failed"};
    case errc::read_only_field:
        return {400, "read-only-field", "Read-only field"};
    case errc::invalid_id:
        return {400, "invalid-id", "Invalid id"};
    case errc::unauthorized:
        return {401, "unauthorized", "Unauthorized"};
    case errc::forbidden:
        return {403, "forbidden", "Forbidden"};
    case errc::not_found:
        return {404, "not-found", "Not found"};
    case errc::method_not_allowed:
        return {405, "method-not-allowed", "Method not allowed"};
    case errc::request_timeout:
        return {408, "request-timeout", "Request timeout"};
    case errc::patch_test_failed:
        return {409, "patch-test-failed", "JSON Patch test failed"};
    case errc::invalid_transition:
        return {409, "invalid-transition", "Invalid state transition"};
    case errc::not_updatable_in_state:
        return {409, "not-updatable-in-state", "Not updatable in this state"};
    case errc::idempotency_in_flight:
        return {409, "idempotency-conflict", "A request with this idempotency key is in flight"};
    case errc::gone:
        return {410, "gone", "Gone"};
    case errc::precondition_failed:
        return {412, "precondition-failed", "Precondition failed"};
    case errc::payload_too_large:
        return {413, "payload-too-large", "Payload too large"};
    case errc::record_too_large:
        return {413, "record-too-large", "Record too large"};
    case errc::unsupported_media_type:
        return {415, "unsupported-media-type", "Unsupported media type"};
    case errc::invalid_patch_path:
        return {422, "invalid-patch-path", "Invalid JSON Patch path"};
    case errc::requirements_missing:
        return {422, "requirements-missing", "Requirements missing"};
    case errc::idempotency_conflict:
        return {422, "idempotency-conflict", "Idempotency key reused for another request"};
    case errc::precondition_required:
        return {428, "precondition-required", "Precondition required"};
    case errc::rate_limited:
        return {429, "rate-limited", "Rate limited"};
    case errc::headers_too_large:
        return {431, "headers-too-large", "Request header fields too large"};
    case errc::internal:
        return {500, "internal-error", "Internal server error"};
    case errc::not_implemented:
        return {501, "not-implemented", "Not implemented"};
    case errc::unavailable:
    case errc::writes_stopped:
        return {503, "unavailable", "Service unavailable"};
    case errc::store_unavailable:
        return {503, "store-unavailable", "Store unavailable"};
    }
    return {500, "internal-error", "Internal server error"};
}

std::string_view server_failure_detail(core::errc code) noexcept
{
    switch (code)
    {
    case errc::unavailable:
        return "the server cannot take this request now; try again shortly";
    case errc::writes_stopped:
        return "the store failed to make a write durable, so it refuses writes until the server is "
               "restarted; "
               "reads still work";
    case errc::store_unavailable:
        return "the server cannot reach its database now; try again shortly (a write that was under way "
               "may or may not have been applied: retry it with the same Idempotency-Key)";
    case errc::not_implemented:
        return "this server's store engine does not do this; docs/OPERATIONS.md says what to use instead";
    default:
        return "the server failed to handle this request; it has been logged";
    }
}

} // namespace reqstore::http
