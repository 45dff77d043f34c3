// The one map from the core's failures to the wire: each core::errc becomes exactly one HTTP
// status and one problem type (RFC 9457). Every surface words its refusals from this table.
#pragma once

#include <reqstore/core/errc.hpp>

#include <string_view>

namespace reqstore::http
{

// How a failure appears on the wire.
struct failure_description
{
    unsigned status;
    std::string_view slug;  // problem type is "/problems/<slug>"
    std::string_view title; // short, constant, human-readable summary
};

// The status, slug and title of `code`. Never fails: a value outside the enum is described as
// 500 internal-error. The views refer to static storage. Safe on any thread.
failure_description describe_failure(core::errc code) noexcept;

// The one sentence a client gets as the detail of a 5xx (the failure's own detail, which may name
// internals, goes only to the log). For a code that is not a 5xx, the generic sentence of a 500.
// The view refers to static storage. Safe on any thread.
std::string_view server_failure_detail(core::errc code) noexcept;

} // namespace reqstore::http
