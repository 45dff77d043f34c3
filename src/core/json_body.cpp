// Strict JSON body parsing with a byte offset in every error.
#include <reqstore/core/json_body.hpp>

#include <boost/json/stream_parser.hpp>

#include <cmath>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

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
    json::stream_parser parser({}, options);
    boost::system::error_code ec;
    const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
    if (!ec && consumed < text.size())
        ec = json::error::extra_data;
    if (!ec)
        parser.finish(ec);
    if (ec)
    {
        if (text.empty())
            return failure(errc::malformed_json, "the body is empty; a JSON value was expected");
        // The parser reports bytes that are not UTF-8 as a syntax error; say which it is.
        const bool not_utf8 = consumed < text.size() && static_cast<unsigned char>(text[consumed]) >= 0x80;
        return failure(errc::malformed_json, "invalid JSON at byte " + std::to_string(consumed) + ": " +
                                                 (not_utf8 ? std::string("invalid UTF-8") : ec.message()));
    }
    json::value value = parser.release();
    if (!all_numbers_finite(value))
        return failure(errc::malformed_json,
                       "a number in the body is out of range (beyond a double's range)");
    return value;
}

} // namespace reqstore::core
