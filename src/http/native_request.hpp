// Internal to the http module: the Beast message behind an http::request, so that the request can
// read its fields while the API and the surfaces compile without Beast.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace reqstore::http::detail
{

struct native_request
{
    const boost::beast::http::request<boost::beast::http::string_body>& message;
};

} // namespace reqstore::http::detail
