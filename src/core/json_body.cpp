// Strict JSON body parsing with a byte offset in every error.
#include <reqstore/core/json_body.hpp>

#include <boost/json/stream_parser.hpp>

namespace reqstore::core
{
namespace json = boost::json;

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
        return failure(errc::malformed_json,
                       "invalid JSON at byte " + std::to_string(consumed) + ": " + ec.message());
    }
    return parser.release();
}

} // namespace reqstore::core
