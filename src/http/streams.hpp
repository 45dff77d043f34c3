// Internal to the http module: the two kinds of connection a session serves. Code that reads or
// writes a connection is a template over them, instantiated in its own file for both.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace reqstore::http
{

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

} // namespace reqstore::http
