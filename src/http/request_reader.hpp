// Internal to the http module: reading one request off a connection within the limits, and what
// the session needs to know of it before dispatch (its method, its id, why it could not be read).
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/http/message.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace reqstore::http
{

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Parses into `parser` what `buffer` holds, consuming what it used, and returns how many bytes that
// was: the header section only, unless the parser is eager. Running out of bytes is no error.
std::size_t parse_buffered(request_parser& parser, boost::beast::flat_buffer& buffer,
                           boost::system::error_code& ec);

// Reads a request's header section into `parser`, under the deadline already set on `stream`
// (a plain_stream or a tls_stream).
// Beast's header_limit bounds only the part of the header not yet parsed (complete fields are
// consumed as they arrive), so the total is counted here: past `limit` bytes the result is
// http::error::header_limit, whatever the fields' sizes. Otherwise the transport's or the
// parser's error, or none once the header section is complete. Runs on the connection's strand.
template <class Stream>
boost::asio::awaitable<boost::system::error_code>
read_header(Stream& stream, boost::beast::flat_buffer& buffer, request_parser& parser, std::size_t limit);

// Why a request could not be read, from the error of reading its `stage` ("header section",
// "body"): 413, 431, 408, or 400 naming the parser's complaint. The answer closes the connection.
core::failure read_failure(const boost::system::error_code& ec, std::string_view stage);

// RFC 9112 section 6.3: false when the request's Transfer-Encoding cannot be framed (its last
// coding is not chunked, or the field appears more than once); true when it has none.
bool transfer_encoding_acceptable(const request_parser& parser);

// Whether the request asks for "100 Continue" before it sends its body.
bool expects_continue(const request_parser& parser);

// The client's X-Request-Id when it has a safe form (at most 128 letters, digits and "-_.:"),
// else "" (the server then makes one).
std::string client_request_id(const request_parser& parser);

// A process-unique request id: a random prefix chosen at startup and a counter. Thread-safe.
std::string generate_request_id();

method to_method(boost::beast::http::verb v) noexcept;

} // namespace reqstore::http
