// JSON Merge Patch (RFC 7396), JSON Patch (RFC 6902) and JSON Pointer (RFC 6901) over boost::json.
#include <reqstore/core/patch.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace reqstore::core
{

namespace
{

namespace json = boost::json;

using tokens = std::vector<std::string>;

// The unescaped reference tokens of an RFC 6901 pointer; nothing if the text is not pointer syntax.
std::optional<tokens> parse_pointer(std::string_view text)
{
    tokens result;
    if (text.empty())
    {
        return result;
    }
    if (text.front() != '/')
    {
        return std::nullopt;
    }
    std::string token;
    for (std::size_t i = 1; i <= text.size(); ++i)
    {
        if (i == text.size() || text[i] == '/')
        {
            result.push_back(std::move(token));
            token.clear();
        }
        else if (text[i] == '~')
        {
            // "~0" is '~' and "~1" is '/'; decoding left to right makes "~01" the name "~1".
            if (i + 1 == text.size() || (text[i + 1] != '0' && text[i + 1] != '1'))
            {
                return std::nullopt;
            }
            token += text[i + 1] == '0' ? '~' : '/';
            ++i;
        }
        else
        {
            token += text[i];
        }
    }
    return result;
}

// An RFC 6901 array index: "0" or digits without a leading zero, fitting std::size_t. "-" is not one.
std::optional<std::size_t> parse_index(std::string_view token)
{
    if (token.empty() || (token.size() > 1 && token.front() == '0'))
    {
        return std::nullopt;
    }
    std::size_t index = 0;
    for (char c : token)
    {
        if (c < '0' || c > '9')
        {
            return std::nullopt;
        }
        const auto digit = static_cast<std::size_t>(c - '0');
        if (index > (std::numeric_limits<std::size_t>::max() - digit) / 10)
        {
            return std::nullopt;
        }
        index = index * 10 + digit;
    }
    return index;
}

// The member or element of parent a token names, or nullptr. Value is json::value, const or not.
template <class Value>
Value* child(Value& parent, const std::string& token)
{
    if (auto* object = parent.if_object())
    {
        return object->if_contains(token);
    }
    if (auto* array = parent.if_array())
    {
        const auto index = parse_index(token);
        if (!index || *index >= array->size())
        {
            return nullptr;
        }
        return &(*array)[*index];
    }
    return nullptr;
}

// The value a token sequence names inside doc, or nullptr.
template <class Value>
Value* resolve(Value& doc, std::span<const std::string> path)
{
    Value* current = &doc;
    for (const auto& token : path)
    {
        current = child(*current, token);
        if (!current)
        {
            return nullptr;
        }
    }
    return current;
}

// Whether a double holds exactly the integer i.
bool double_equals_integer(double d, std::int64_t i)
{
    // -2^63 and 2^63 are exact doubles; every integral double in [-2^63, 2^63) converts exactly.
    constexpr double lower = -9223372036854775808.0;
    constexpr double upper = 9223372036854775808.0;
    if (!std::isfinite(d) || d != std::trunc(d) || d < lower || d >= upper)
    {
        return false;
    }
    return static_cast<std::int64_t>(d) == i;
}

bool double_equals_unsigned(double d, std::uint64_t u)
{
    constexpr double upper = 18446744073709551616.0; // 2^64
    if (!std::isfinite(d) || d != std::trunc(d) || d < 0 || d >= upper)
    {
        return false;
    }
    return static_cast<std::uint64_t>(d) == u;
}

// Numeric equality by mathematical value across int64, uint64 and double.
bool numbers_equal(const json::value& a, const json::value& b)
{
    switch (a.kind())
    {
    case json::kind::int64:
        switch (b.kind())
        {
        case json::kind::int64:
            return a.get_int64() == b.get_int64();
        case json::kind::uint64:
            return a.get_int64() >= 0 && static_cast<std::uint64_t>(a.get_int64()) == b.get_uint64();
        default:
            return double_equals_integer(b.get_double(), a.get_int64());
        }
    case json::kind::uint64:
        switch (b.kind())
        {
        case json::kind::uint64:
            return a.get_uint64() == b.get_uint64();
        case json::kind::int64:
            return numbers_equal(b, a);
        default:
            return double_equals_unsigned(b.get_double(), a.get_uint64());
        }
    default:
        switch (b.kind())
        {
        case json::kind::double_:
            return a.get_double() == b.get_double();
        default:
            return numbers_equal(b, a);
        }
    }
}

// RFC 6902 section 4.6 equality: same JSON type, numbers by value, arrays in order, objects by member.
bool json_equal(const json::value& a, const json::value& b)
{
    if (a.is_number() && b.is_number())
    {
        return numbers_equal(a, b);
    }
    if (a.kind() != b.kind())
    {
        return false;
    }
    switch (a.kind())
    {
    case json::kind::null:
        return true;
    case json::kind::bool_:
        return a.get_bool() == b.get_bool();
    case json::kind::string:
        return a.get_string() == b.get_string();
    case json::kind::array:
    {
        const auto& x = a.get_array();
        const auto& y = b.get_array();
        if (x.size() != y.size())
        {
            return false;
        }
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            if (!json_equal(x[i], y[i]))
            {
                return false;
            }
        }
        return true;
    }
    case json::kind::object:
    {
        const auto& x = a.get_object();
        const auto& y = b.get_object();
        if (x.size() != y.size())
        {
            return false;
        }
        for (const auto& member : x)
        {
            const auto* other = y.if_contains(member.key());
            if (!other || !json_equal(member.value(), *other))
            {
                return false;
            }
        }
        return true;
    }
    default:
        return false; // numbers were handled above
    }
}

// RFC 7396 MergePatch, applied in place.
void merge_into(json::value& target, const json::value& patch)
{
    const auto* patch_object = patch.if_object();
    if (!patch_object)
    {
        target = patch;
        return;
    }
    if (!target.is_object())
    {
        target.emplace_object();
    }
    auto& target_object = target.get_object();
    for (const auto& member : *patch_object)
    {
        if (member.value().is_null())
        {
            target_object.erase(member.key());
        }
        else
        {
            // A missing member starts as null, which is not an object, as MergePatch(undefined, ...).
            merge_into(target_object[member.key()], member.value());
        }
    }
}

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
    auto* parent = resolve(doc, std::span(path).first(path.size() - 1));
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
        const auto index = last == "-" ? std::optional<std::size_t>(array->size()) : parse_index(last);
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
    auto* parent = resolve(doc, std::span(path).first(path.size() - 1));
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
        const auto index = parse_index(last);
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
        auto* target = resolve(doc, std::span(op.path));
        if (!target)
        {
            return path_error("path does not exist");
        }
        *target = *op.value;
        return std::nullopt;
    }
    case op_kind::move:
    {
        if (!resolve(doc, std::span(op.from)))
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
        const auto* source = resolve(doc, std::span(op.from));
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
        const auto* target = resolve(doc, std::span(op.path));
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
        added = resolve(doc, std::span(op.from));
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

json::value apply_merge_patch(const json::value& target, const json::value& patch)
{
    json::value result(target, json::storage_ptr());
    merge_into(result, patch);
    return result;
}

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

const json::value* find_pointer(const json::value& doc, std::string_view pointer)
{
    const auto path = parse_pointer(pointer);
    if (!path)
    {
        return nullptr;
    }
    return resolve(doc, std::span(*path));
}

std::string escape_pointer_token(std::string_view name)
{
    std::string escaped;
    escaped.reserve(name.size());
    for (char c : name)
    {
        if (c == '~')
        {
            escaped += "~0";
        }
        else if (c == '/')
        {
            escaped += "~1";
        }
        else
        {
            escaped += c;
        }
    }
    return escaped;
}

} // namespace reqstore::core
