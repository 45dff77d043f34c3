// Applying JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902) to a JSON document. The JSON
// Pointers (RFC 6901) a patch addresses values with are in json_pointer.hpp, included here.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/json_pointer.hpp>

#include <boost/json/value.hpp>

#include <cstddef>

namespace reqstore::core
{

// RFC 7396 section 2: returns the patched copy of target. Never fails. A patch that is not an object
// replaces the whole document; a null member removes that member; an object member merges recursively.
// The result uses the default memory resource, whatever the storage of target and patch.
boost::json::value apply_merge_patch(const boost::json::value& target, const boost::json::value& patch);

// RFC 6902: applies every operation in order to a copy of target and returns it; on any failure the
// target is untouched (atomic) and the failure says which operation (index) failed and why:
//   errc::malformed_patch    - patch is not an array, an element is not an object, unknown "op",
//                              a missing/ill-typed "path"/"from"/"value", a pointer that is not valid
//                              RFC 6901 syntax (not empty and not starting with '/', bad ~ escape)
//   errc::invalid_patch_path - the path (or from) does not exist where it must, an array index out of
//                              range or not a valid index ("01", "-" where not allowed), "move" into its
//                              own child, adding under a parent that is not a container, removing ""
//   errc::patch_test_failed  - a "test" operation whose value differs (JSON equality: numbers compare by
//                              value, so 1 == 1.0; objects ignore member order)
// Every operation is checked for malformation before any is applied, so a malformed document is reported
// as malformed_patch even when an earlier operation would have failed on the document.
// detail: a human sentence like "operation 2 (replace /a/b): path does not exist"; extensions:
// {"operation": index}, except when the patch is not an array at all (no operation to name).
// Members an operation does not define are ignored (RFC 6902 section 4). The result uses the default
// memory resource.
//   errc::record_too_large   - the document would grow past `limits`: nesting deeper than max_depth
//                              (checked for every value added, copied or moved), or "copy" operations
//                              adding more than max_copied_bytes of serialized JSON in all (without it a
//                              few hundred bytes of copies could double a document again and again)
struct json_patch_limits
{
    unsigned max_depth = 1000;
    std::size_t max_copied_bytes = std::size_t(-1);
};
[[nodiscard]] result<boost::json::value> apply_json_patch(const boost::json::value& target,
                                                          const boost::json::value& patch,
                                                          const json_patch_limits& limits = {});

// The nesting depth of a JSON value: 0 for a scalar, 1 for an empty container, 1 + its deepest
// child otherwise (as Boost.JSON's parse_options::max_depth counts it).
unsigned json_depth(const boost::json::value& v);

} // namespace reqstore::core
