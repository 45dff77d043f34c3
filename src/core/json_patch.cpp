// JSON Patch (RFC 6902) over boost::json: every operation read and checked for form first, then
// applied in order to a copy, within growth limits, so that a failing patch changes nothing.
#include <reqstore/core/patch.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "json_equal.hpp"
#include "pointer_path.hpp"

namespace reqstore::core
{

namespace
{

namespace json = boost::json;

using tokens = pointer_tokens;

enum class op_kind
{
    add,
    remove,
    replace,
    move,
    copy,
    test,
};

std::optional<op_kind> op_kind_from_name(std::string_view name)
{
    static constexpr std::pair<std::string_view, op_kind> names[] = {
        {"add", op_kind::add},   {"remove", op_kind::remove}, {"replace", op_kind::replace},
        {"move", op_kind::move}, {"copy", op_kind::copy},     {"test", op_kind::test},
    };
    for (const auto& [known, kind] : names)
    {
        if (name == known)
        {
            return kind;
        }
    }
    return std::nullopt;
}

// One operation of a patch document, checked for form but not yet applied.
struct operation
{
    op_kind kind = op_kind::test;
    std::optional<std::string> name;      // "add", "remove", ... once known
    std::optional<std::string> path_text; // as written, once read
    tokens path;
    std::optional<std::string> from_text; // move and copy only
    tokens from;                          // move and copy only
    const json::value* value = nullptr;   // add, replace and test only; points into the patch
};

// Why one operation could not be read or applied, before it is tied to the operation's index.
struct op_error
{
    errc code;
    std::string reason;
};

// Reads a pointer member ("path" or "from") of an operation object.
std::optional<op_error> read_pointer(const json::object& op, std::string_view member,
                                     std::optional<std::string>& text, tokens& parsed)
{
    const auto* value = op.if_contains(member);
    if (!value || !value->is_string())
    {
        // Built with append(): GCC 12 warns falsely (-Wrestrict) on "literal" + std::string here.
        return op_error{errc::malformed_patch,
                        std::string("\"").append(member).append("\" is missing or not a string")};
    }
    text = std::string(value->get_string());
    auto pointer = parse_pointer(*text);
    if (!pointer)
    {
        return op_error{errc::malformed_patch,
                        std::string("\"").append(member).append("\" is not a JSON Pointer (RFC 6901)")};
    }
    parsed = std::move(*pointer);
    return std::nullopt;
}

// Reads the members an operation needs; an error leaves `out` partly filled, with name set once known.
std::optional<op_error> read_operation(const json::value& element, operation& out)
{
    const auto* op = element.if_object();
    if (!op)
    {
        return op_error{errc::malformed_patch, "is not an object"};
    }
    const auto* name = op->if_contains("op");
    if (!name || !name->is_string())
    {
        return op_error{errc::malformed_patch, "\"op\" is missing or not a string"};
    }
    const auto kind = op_kind_from_name(name->get_string());
    if (!kind)
    {
        return op_error{errc::malformed_patch, "unknown op \"" + std::string(name->get_string()) + "\""};
    }
    out.kind = *kind;
    out.name = std::string(name->get_string());
    if (auto error = read_pointer(*op, "path", out.path_text, out.path))
    {
        return error;
    }
    if (out.kind == op_kind::move || out.kind == op_kind::copy)
    {
        if (auto error = read_pointer(*op, "from", out.from_text, out.from))
        {
            return error;
        }
    }
    if (out.kind == op_kind::add || out.kind == op_kind::replace || out.kind == op_kind::test)
    {
        out.value = op->if_contains("value");
        if (!out.value)
        {
            return op_error{errc::malformed_patch, "\"value\" is missing"};
        }
    }
    return std::nullopt;
}

op_error path_error(std::string reason)
{
    return op_error{errc::invalid_patch_path, std::move(reason)};
}

// RFC 6902 section 4.1: puts value at path, inserting into arrays and adding or replacing members.
std::optional<op_error> add_at(json::value& doc, const tokens& path, json::value value)
{
    if (path.empty())
    {
        doc = std::move(value);
        return std::nullopt;
    }
    auto* parent = resolve_pointer(doc, std::span(path).first(path.size() - 1));
    if (!parent)
    {
        return path_error("the parent of the path does not exist");
    }
    const auto& last = path.back();
    if (auto* object = parent->if_object())
    {
        (*object)[last] = std::move(value);
        return std::nullopt;
    }
    if (auto* array = parent->if_array())
    {
        const auto index = last == "-" ? std::optional<std::size_t>(array->size()) : parse_array_index(last);
        if (!index)
        {
            return path_error("\"" + last + "\" is not a valid array index");
        }
        if (*index > array->size())
        {
            return path_error("array index " + last + " is out of range");
        }
        array->insert(array->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
        return std::nullopt;
    }
    return path_error("the parent of the path is not an object or array");
}

// RFC 6902 section 4.2: takes the value at path out of doc into `removed`.
std::optional<op_error> remove_at(json::value& doc, const tokens& path, json::value& removed)
{
    if (path.empty())
    {
        return path_error("the whole document cannot be removed");
    }
    auto* parent = resolve_pointer(doc, std::span(path).first(path.size() - 1));
    if (!parent)
    {
        return path_error("path does not exist");
    }
    const auto& last = path.back();
    if (auto* object = parent->if_object())
    {
        const auto it = object->find(last);
        if (it == object->end())
        {
            return path_error("path does not exist");
        }
        removed = std::move(it->value());
        object->erase(it);
        return std::nullopt;
    }
    if (auto* array = parent->if_array())
    {
        const auto index = parse_array_index(last);
        if (!index)
        {
            return path_error("\"" + last + "\" is not a valid array index");
        }
        if (*index >= array->size())
        {
            return path_error("array index " + last + " is out of range");
        }
        removed = std::move((*array)[*index]);
        array->erase(array->begin() + static_cast<std::ptrdiff_t>(*index));
        return std::nullopt;
    }
    return path_error("path does not exist");
}

bool is_proper_prefix(const tokens& prefix, const tokens& path)
{
    return prefix.size() < path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

// Applies one well-formed operation to doc; doc may be left half-changed on error (the caller discards it).
std::optional<op_error> apply_operation(json::value& doc, const operation& op)
{
    switch (op.kind)
    {
    case op_kind::add:
        return add_at(doc, op.path, *op.value);
    case op_kind::remove:
    {
        json::value removed;
        return remove_at(doc, op.path, removed);
    }
    case op_kind::replace:
    {
        auto* target = resolve_pointer(doc, std::span(op.path));
        if (!target)
        {
            return path_error("path does not exist");
        }
        *target = *op.value;
        return std::nullopt;
    }
    case op_kind::move:
    {
        if (!resolve_pointer(doc, std::span(op.from)))
        {
            return path_error("\"from\" does not exist");
        }
        if (is_proper_prefix(op.from, op.path))
        {
            return path_error("a value cannot be moved into one of its own children");
        }
        if (op.from == op.path)
        {
            return std::nullopt;
        }
        json::value moved;
        if (auto error = remove_at(doc, op.from, moved))
        {
            return error;
        }
        return add_at(doc, op.path, std::move(moved));
    }
    case op_kind::copy:
    {
        const auto* source = resolve_pointer(doc, std::span(op.from));
        if (!source)
        {
            return path_error("\"from\" does not exist");
        }
        // Copy first: adding may reallocate the container the source lives in.
        json::value copied(*source, doc.storage());
        return add_at(doc, op.path, std::move(copied));
    }
    case op_kind::test:
    {
        const auto* target = resolve_pointer(doc, std::span(op.path));
        if (!target)
        {
            return path_error("path does not exist");
        }
        if (!json_equal(*target, *op.value))
        {
            return op_error{errc::patch_test_failed, "the value differs"};
        }
        return std::nullopt;
    }
    }
    return std::nullopt;
}

// Refuses an operation whose result would nest deeper than limits.max_depth, or a copy that would
// bring the bytes copied so far past limits.max_copied_bytes. Sizes are measured before anything is
// copied, so the work done here is bounded by the limit itself.
std::optional<op_error> check_growth(const json::value& doc, const operation& op,
                                     const json_patch_limits& limits, std::size_t& copied_bytes)
{
    const json::value* added = nullptr;
    if (op.kind == op_kind::add || op.kind == op_kind::replace)
        added = op.value;
    else if (op.kind == op_kind::copy || op.kind == op_kind::move)
        added = resolve_pointer(doc, std::span(op.from));
    if (!added)
        return std::nullopt; // nothing is added, or apply_operation reports the missing source
    if (op.path.size() + json_depth(*added) > limits.max_depth)
        return op_error{errc::record_too_large,
                        "the result would nest deeper than " + std::to_string(limits.max_depth) + " levels"};
    if (op.kind == op_kind::copy && limits.max_copied_bytes != std::size_t(-1))
    {
        copied_bytes += json::serialize(*added).size();
        if (copied_bytes > limits.max_copied_bytes)
            return op_error{errc::record_too_large, "the copies would make the document larger than " +
                                                        std::to_string(limits.max_copied_bytes) + " bytes"};
    }
    return std::nullopt;
}

// A pointer as it reads in a sentence: "" for the whole document.
std::string quote_if_empty(const std::string& pointer)
{
    return pointer.empty() ? "\"\"" : pointer;
}

// The failure for operation `index`: "operation 2 (replace /a/b): path does not exist".
failure operation_failure(std::size_t index, const operation& op, const op_error& error)
{
    std::string detail = "operation " + std::to_string(index);
    if (op.name)
    {
        detail.append(" (").append(*op.name);
        if (op.path_text)
        {
            detail.append(" ").append(quote_if_empty(*op.path_text));
        }
        if (op.from_text)
        {
            detail.append(" from ").append(quote_if_empty(*op.from_text));
        }
        detail.append(")");
    }
    detail += ": " + error.reason;
    return failure{error.code, std::move(detail),
                   json::object{{"operation", static_cast<std::int64_t>(index)}}};
}

} // namespace

unsigned json_depth(const json::value& v)
{
    unsigned deepest = 0;
    if (const auto* array = v.if_array())
    {
        for (const auto& item : *array)
            deepest = std::max(deepest, json_depth(item));
        return deepest + 1;
    }
    if (const auto* object = v.if_object())
    {
        for (const auto& member : *object)
            deepest = std::max(deepest, json_depth(member.value()));
        return deepest + 1;
    }
    return 0;
}

result<json::value> apply_json_patch(const json::value& target, const json::value& patch,
                                     const json_patch_limits& limits)
{
    const auto* elements = patch.if_array();
    if (!elements)
    {
        return failure{errc::malformed_patch, "the JSON Patch document is not an array of operations"};
    }

    std::vector<operation> operations(elements->size());
    for (std::size_t i = 0; i < elements->size(); ++i)
    {
        if (auto error = read_operation((*elements)[i], operations[i]))
        {
            return operation_failure(i, operations[i], *error);
        }
    }

    json::value doc(target, json::storage_ptr());
    std::size_t copied_bytes = 0;
    for (std::size_t i = 0; i < operations.size(); ++i)
    {
        if (auto error = check_growth(doc, operations[i], limits, copied_bytes))
        {
            return operation_failure(i, operations[i], *error);
        }
        if (auto error = apply_operation(doc, operations[i]))
        {
            return operation_failure(i, operations[i], *error);
        }
    }
    return doc;
}

} // namespace reqstore::core
