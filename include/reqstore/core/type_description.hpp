// A request type as GET /v1/types shows it (contract section 15): what a client needs to build a
// form or validate before it writes, with each attribute's value rules as a JSON Schema (2020-12).
#pragma once

#include <reqstore/core/request_type.hpp>

#include <boost/json/object.hpp>

namespace reqstore::core
{

// `type` as JSON: name, id_format (with its prefix and a pattern a fitting id matches), states,
// initial, transitions, final, updatable_in, requires, timestamps, expires, require_if_match (the
// type's own, or `default_require_if_match` when it sets none), additional_attributes, attributes
// (name → {"schema", "required", "read_only", "mutable_in"}) and, for data-subject types, dsr_types.
boost::json::object describe_type(const request_type& type, bool default_require_if_match);

// An attribute's value rules as a JSON Schema (2020-12): type, format, enum, maxLength, minimum,
// maximum, default, readOnly.
boost::json::object attribute_schema(const attribute_spec& attribute);

} // namespace reqstore::core
