// Strict JSON body parsing with a byte offset in every error, and numbers read exactly.
#include <reqstore/core/json_body.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

// Builds the value as Boost.JSON's own parser does (a value_stack), except for numbers with a fraction
// or an exponent: Boost.JSON 1.81 reads those to within a few units in the last place, so that "6e69"
// became 6.0000000000000004e69, a number the client never sent, and a stored body read back could
// differ from what was acknowledged. std::from_chars rounds correctly, so a number is the double
// nearest to what was sent, and serializing it gives a text that reads back as the same double.
struct precise_handler
{
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack stack;
    std::string number; // the digits of a number split across parts (not with one whole buffer)
    // The member names of each object being read, innermost last (the vectors are reused): a name
    // given twice is refused, since a body that says two things for one member is ambiguous (RFC
    // 8259 leaves it to the reader, and readers differ on which one wins).
    struct member_names
    {
        std::vector<std::string> few;         // searched in turn while an object is small
        std::unordered_set<std::string> many; // then hashed, so that a large object stays linear
        // Adds `name`; false when it was there already.
        bool add(const std::string& name)
        {
            if (many.empty())
            {
                if (std::find(few.begin(), few.end(), name) != few.end())
                    return false;
                few.push_back(name);
                if (few.size() > 16)
                    many.insert(few.begin(), few.end());
                return true;
            }
            return many.insert(name).second;
        }
        void clear()
        {
            few.clear();
            // Dropped, not cleared: clearing keeps the bucket array of the largest object seen and
            // walks it every time, which a body of one large object and many small ones would repeat.
            if (!many.empty())
                std::unordered_set<std::string>().swap(many);
        }
    };
    std::vector<member_names> names;
    std::size_t open_objects = 0;
    std::string key;                      // the parts of a key read so far
    std::optional<std::string> duplicate; // the first name given twice, when parsing stopped for it

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&)
    {
        if (names.size() <= open_objects)
            names.emplace_back();
        names[open_objects++].clear();
        return true;
    }
    bool on_object_end(std::size_t n, boost::system::error_code&)
    {
        --open_objects;
        stack.push_object(n);
        return true;
    }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t n, boost::system::error_code&)
    {
        stack.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&)
    {
        key.append(s.data(), s.size());
        stack.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec)
    {
        key.append(s.data(), s.size());
        if (!names[open_objects - 1].add(key))
        {
            duplicate = std::move(key);
            key.clear();
            ec = json::error::syntax;
            return false;
        }
        key.clear();
        stack.push_key(s);
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&)
    {
        stack.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code&)
    {
        stack.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, boost::system::error_code&)
    {
        number.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&)
    {
        number.clear();
        stack.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&)
    {
        number.clear();
        stack.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view s, boost::system::error_code&)
    {
        number.append(s.data(), s.size());
        double exact = 0;
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), exact);
        // Out of range (1e999): keep Boost's value, an infinity that the caller refuses.
        if (ec == std::errc() && end == number.data() + number.size())
            d = exact;
        number.clear();
        stack.push_double(d);
        return true;
    }
    bool on_bool(bool b, boost::system::error_code&)
    {
        stack.push_bool(b);
        return true;
    }
    bool on_null(boost::system::error_code&)
    {
        stack.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

// Boost.JSON reads 1e999 as infinity without complaint; such a number could never be written
// back as JSON, so it is refused like any other malformed body.
bool all_numbers_finite(const json::value& v)
{
    switch (v.kind())
    {
    case json::kind::double_:
        return std::isfinite(v.get_double());
    case json::kind::array:
        for (const auto& item : v.get_array())
            if (!all_numbers_finite(item))
                return false;
        return true;
    case json::kind::object:
        for (const auto& member : v.get_object())
            if (!all_numbers_finite(member.value()))
                return false;
        return true;
    default:
        return true;
    }
}

} // namespace

result<json::value> parse_json_body(std::string_view text, unsigned max_depth)
{
    json::parse_options options;
    options.max_depth = max_depth;
    json::basic_parser<precise_handler> parser(options);
    parser.handler().stack.reset(json::storage_ptr());
    boost::system::error_code ec;
    // As json::stream_parser does: parse what is there, then finish; text after the value is an error.
    const std::size_t consumed = parser.write_some(true, text.data(), text.size(), ec);
    if (!ec && consumed < text.size())
        ec = json::error::extra_data;
    if (!ec)
        parser.write_some(false, nullptr, 0, ec);
    if (!ec && !parser.done())
        ec = json::error::incomplete;
    if (ec)
    {
        if (text.empty())
            return failure(errc::malformed_json, "the body is empty; a JSON value was expected");
        if (const auto& name = parser.handler().duplicate)
            return failure(errc::malformed_json, "invalid JSON at byte " + std::to_string(consumed) +
                                                     ": the member name \"" + *name + "\" is given twice");
        // The parser reports bytes that are not UTF-8 as a syntax error; say which it is.
        const bool not_utf8 = consumed < text.size() && static_cast<unsigned char>(text[consumed]) >= 0x80;
        return failure(errc::malformed_json, "invalid JSON at byte " + std::to_string(consumed) + ": " +
                                                 (not_utf8 ? std::string("invalid UTF-8") : ec.message()));
    }
    json::value value = parser.handler().stack.release();
    if (!all_numbers_finite(value))
        return failure(errc::malformed_json,
                       "a number in the body is out of range (beyond a double's range)");
    return value;
}

} // namespace reqstore::core
