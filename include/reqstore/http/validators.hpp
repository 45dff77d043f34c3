// The validators of an answer (RFC 9110 section 8.8): the ETag and Last-Modified that name the
// version a representation shows, set the same way by the native API and every surface.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/time.hpp>
#include <reqstore/http/message.hpp>

#include <cstdint>

namespace reqstore::http
{

// Adds to `r` the ETag of `version` (core::etag_for_version) and Last-Modified, `updated_at` as
// an HTTP-date.
void set_validators(response& r, std::uint64_t version, core::unix_millis updated_at);

// A 304 Not Modified with no body, carrying the validators of the version the client has.
response not_modified(std::uint64_t version, core::unix_millis updated_at);

// When `f` is precondition_failed and names the current version's entity-tag (the string
// extension `current_etag`), adds it to `r` as the ETag, so that a client can retry against it.
// Leaves `r` as it is otherwise.
void set_current_etag(response& r, const core::failure& f);

} // namespace reqstore::http
