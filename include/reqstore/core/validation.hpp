// Judging a record against its type: the shape of each member (API.md section 4, step 5 of the
// write order). Every offending member is reported, keyed by its JSON Pointer.
#pragma once

#include <reqstore/core/request_type.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace reqstore::core
{

// Why `value` does not fit `spec` ("must be an integer", "must be at most 10"), or nullopt.
// A null value fits every attribute; whether it may be null is the `required` rule's question.
std::optional<std::string> check_value(const attribute_spec& spec, const boost::json::value& value);

// Adds one entry per offending member of `record` to `errors`: the common members' shapes
// (status, metadata, callback_url), every declared attribute, required attributes that are
// absent or null, and members the type does not declare (unless additional_attributes).
void validate_record(const request_type& type, const boost::json::object& record,
                     boost::json::object& errors);

// Stores every integer attribute (and integer field of a DSR type's `data`) given as a whole
// double (3.0) as an integer (3), so that it reads back as one. Call after validate_record found
// no errors.
void normalize_integers(const request_type& type, boost::json::object& record);

// Unicode code points in a valid UTF-8 string: what `max_length` counts.
std::size_t code_points(std::string_view s);

// The JSON Pointer of a top-level member: "/" and the escaped name.
std::string member_pointer(std::string_view member);

// Whether `text` is an absolute http or https URL with a host.
bool is_absolute_http_url(std::string_view text);

} // namespace reqstore::core
