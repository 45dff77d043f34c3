// PostgreSQL's binary format, for connection.hpp's parameters, arrays and result rows: big-endian
// integers, one-byte booleans, text and bytea as they are, and one-dimensional arrays.
#include <reqstore/store/pg/connection.hpp>

#include <charconv>
#include <cstring>
#include <libpq-fe.h>
#include <limits>
#include <stdexcept>
#include <utility>

namespace reqstore::store::pg
{

namespace
{

// PostgreSQL's binary format is big-endian throughout.
void put_be32(std::string& out, std::uint32_t value)
{
    const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                           static_cast<char>(value >> 8), static_cast<char>(value)};
    out.append(bytes, 4);
}

void put_be64(std::string& out, std::uint64_t value)
{
    put_be32(out, static_cast<std::uint32_t>(value >> 32));
    put_be32(out, static_cast<std::uint32_t>(value));
}

std::uint32_t get_be32(const char* at)
{
    const auto* b = reinterpret_cast<const unsigned char*>(at);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
}

std::uint64_t get_be64(const char* at)
{
    return (std::uint64_t{get_be32(at)} << 32) | get_be32(at + 4);
}

std::uint32_t array_type_of(std::uint32_t element_type)
{
    switch (element_type)
    {
    case oid::text:
        return oid::text_array;
    case oid::int8:
        return oid::int8_array;
    case oid::bytea:
        return oid::bytea_array;
    case oid::boolean:
        return oid::bool_array;
    case oid::int4:
        return oid::int4_array;
    default:
        throw std::invalid_argument("array_builder: no array type known for element type " +
                                    std::to_string(element_type));
    }
}

} // namespace

// ---- parameters ----

param text_param(std::string_view text)
{
    return {oid::text, std::string(text)};
}

param bytea_param(std::string_view bytes)
{
    return {oid::bytea, std::string(bytes)};
}

param int8_param(std::int64_t value)
{
    param p{oid::int8, std::string()};
    put_be64(*p.value, static_cast<std::uint64_t>(value));
    return p;
}

param int4_param(std::int32_t value)
{
    param p{oid::int4, std::string()};
    put_be32(*p.value, static_cast<std::uint32_t>(value));
    return p;
}

param bool_param(bool value)
{
    return {oid::boolean, std::string(1, value ? '\1' : '\0')};
}

param null_param(std::uint32_t type)
{
    return {type, std::nullopt};
}

// ---- array_builder ----

array_builder::array_builder(std::uint32_t element_type) : element_type_(element_type)
{
    array_type_of(element_type_); // refuses an element type without an array type now, not at finish()
}

namespace
{
void require_element_type(std::uint32_t actual, std::initializer_list<std::uint32_t> allowed,
                          const char* adder)
{
    for (const auto type : allowed)
        if (type == actual)
            return;
    throw std::logic_error(std::string("array_builder: ") + adder + " on an array of element type " +
                           std::to_string(actual));
}
} // namespace

void array_builder::add_text(std::string_view text)
{
    require_element_type(element_type_, {oid::text, oid::bytea}, "add_text");
    if (text.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        throw std::length_error("array_builder: an element longer than PostgreSQL's 1 GB limit");
    put_be32(elements_, static_cast<std::uint32_t>(text.size()));
    elements_.append(text);
    ++count_;
}

void array_builder::add_int8(std::int64_t value)
{
    require_element_type(element_type_, {oid::int8}, "add_int8");
    put_be32(elements_, 8);
    put_be64(elements_, static_cast<std::uint64_t>(value));
    ++count_;
}

void array_builder::add_int4(std::int32_t value)
{
    require_element_type(element_type_, {oid::int4}, "add_int4");
    put_be32(elements_, 4);
    put_be32(elements_, static_cast<std::uint32_t>(value));
    ++count_;
}

void array_builder::add_bool(bool value)
{
    require_element_type(element_type_, {oid::boolean}, "add_bool");
    put_be32(elements_, 1);
    elements_.push_back(value ? '\1' : '\0');
    ++count_;
}

void array_builder::add_null()
{
    put_be32(elements_, static_cast<std::uint32_t>(-1));
    has_null_ = true;
    ++count_;
}

std::size_t array_builder::size() const noexcept
{
    return count_;
}

param array_builder::finish() &&
{
    // The header of array_recv (arrayfuncs.c): dimensions, has-null flag, element type, then
    // size and lower bound per dimension. An empty array has no dimensions.
    std::string out;
    out.reserve(20 + elements_.size());
    put_be32(out, count_ == 0 ? 0 : 1);
    put_be32(out, has_null_ ? 1 : 0);
    put_be32(out, element_type_);
    if (count_ != 0)
    {
        put_be32(out, static_cast<std::uint32_t>(count_));
        put_be32(out, 1);
        out += elements_;
    }
    return {array_type_of(element_type_), std::move(out)};
}

// ---- rows ----

namespace
{
const PGresult* as_result(void* r)
{
    return static_cast<const PGresult*>(r);
}

[[noreturn]] void refuse(std::string what)
{
    throw std::runtime_error("pg::rows: " + what);
}

// The cell at (row, column), after checking that it exists, has one of `types`, and is not NULL.
std::string_view typed_cell(void* result, std::size_t row, std::size_t column,
                            std::initializer_list<std::uint32_t> types, const char* reader)
{
    const PGresult* r = as_result(result);
    if (r == nullptr || row >= static_cast<std::size_t>(PQntuples(r)) ||
        column >= static_cast<std::size_t>(PQnfields(r)))
        refuse(std::string(reader) + ": no cell at row " + std::to_string(row) + ", column " +
               std::to_string(column));
    const int c = static_cast<int>(column);
    const auto type = static_cast<std::uint32_t>(PQftype(r, c));
    bool known = false;
    for (const auto t : types)
        known = known || t == type;
    if (!known)
        refuse(std::string(reader) + ": column " + std::to_string(column) + " has type " +
               std::to_string(type));
    if (PQgetisnull(r, static_cast<int>(row), c) != 0)
        refuse(std::string(reader) + ": NULL at row " + std::to_string(row) + ", column " +
               std::to_string(column));
    return {PQgetvalue(r, static_cast<int>(row), c),
            static_cast<std::size_t>(PQgetlength(r, static_cast<int>(row), c))};
}

std::string_view fixed_cell(void* result, std::size_t row, std::size_t column, std::uint32_t type,
                            std::size_t length, const char* reader)
{
    const auto cell = typed_cell(result, row, column, {type}, reader);
    if (cell.size() != length)
        refuse(std::string(reader) + ": " + std::to_string(cell.size()) + " bytes, not " +
               std::to_string(length));
    return cell;
}

// The text-like types whose binary format is their bytes as they are.
constexpr std::uint32_t varchar_oid = 1043;
constexpr std::uint32_t bpchar_oid = 1042;
constexpr std::uint32_t name_oid = 19;
constexpr std::uint32_t json_oid = 114;
constexpr std::uint32_t varchar_array_oid = 1015;
} // namespace

rows::rows(void* pg_result) : result_(pg_result) {}

rows::rows(rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

rows& rows::operator=(rows&& other) noexcept
{
    if (this != &other)
    {
        PQclear(static_cast<PGresult*>(result_));
        result_ = std::exchange(other.result_, nullptr);
    }
    return *this;
}

rows::~rows()
{
    PQclear(static_cast<PGresult*>(result_));
}

std::size_t rows::size() const noexcept
{
    return result_ == nullptr ? 0 : static_cast<std::size_t>(PQntuples(as_result(result_)));
}

std::size_t rows::affected() const noexcept
{
    if (result_ == nullptr)
        return 0;
    // Empty for statements that touch no rows by nature (CREATE, SET, ...).
    const std::string_view count = PQcmdTuples(static_cast<PGresult*>(result_));
    std::size_t n = 0;
    std::from_chars(count.data(), count.data() + count.size(), n);
    return n;
}

bool rows::is_null(std::size_t row, std::size_t column) const
{
    const PGresult* r = as_result(result_);
    if (r == nullptr || row >= static_cast<std::size_t>(PQntuples(r)) ||
        column >= static_cast<std::size_t>(PQnfields(r)))
        refuse("is_null: no cell at row " + std::to_string(row) + ", column " + std::to_string(column));
    return PQgetisnull(r, static_cast<int>(row), static_cast<int>(column)) != 0;
}

std::string_view rows::bytes(std::size_t row, std::size_t column) const
{
    return typed_cell(result_, row, column,
                      {oid::text, oid::bytea, varchar_oid, bpchar_oid, name_oid, json_oid}, "bytes");
}

std::int64_t rows::int8(std::size_t row, std::size_t column) const
{
    return static_cast<std::int64_t>(get_be64(fixed_cell(result_, row, column, oid::int8, 8, "int8").data()));
}

std::int32_t rows::int4(std::size_t row, std::size_t column) const
{
    return static_cast<std::int32_t>(get_be32(fixed_cell(result_, row, column, oid::int4, 4, "int4").data()));
}

bool rows::boolean(std::size_t row, std::size_t column) const
{
    return fixed_cell(result_, row, column, oid::boolean, 1, "boolean")[0] != 0;
}

std::vector<std::string> rows::text_array(std::size_t row, std::size_t column) const
{
    const auto cell = typed_cell(result_, row, column, {oid::text_array, oid::bytea_array, varchar_array_oid},
                                 "text_array");
    std::size_t at = 0;
    const auto be32 = [&]() -> std::uint32_t
    {
        if (cell.size() - at < 4)
            refuse("text_array: the array ends inside its header or an element's length");
        const auto v = get_be32(cell.data() + at);
        at += 4;
        return v;
    };
    const auto dimensions = be32();
    be32();             // has-null flag: each element's length says it again
    be32();             // element type: the column's type already said which
    if (dimensions > 6) // PostgreSQL's MAXDIM
        refuse("text_array: " + std::to_string(dimensions) + " dimensions");
    // A multidimensional array reads as its elements in storage order.
    std::uint64_t count = dimensions == 0 ? 0 : 1;
    for (std::uint32_t d = 0; d < dimensions; ++d)
    {
        count *= be32();
        be32(); // lower bound
    }
    // Every element takes at least its four bytes of length.
    if (count > (cell.size() - at) / 4)
        refuse("text_array: more elements than bytes");
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i)
    {
        const auto length = static_cast<std::int32_t>(be32());
        if (length < 0)
        {
            out.emplace_back();
            continue;
        }
        if (cell.size() - at < static_cast<std::size_t>(length))
            refuse("text_array: an element runs past the array's end");
        out.emplace_back(cell.substr(at, static_cast<std::size_t>(length)));
        at += static_cast<std::size_t>(length);
    }
    if (at != cell.size())
        refuse("text_array: bytes after the last element");
    return out;
}

} // namespace reqstore::store::pg
