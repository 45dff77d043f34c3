// Internal to the http module: writing answers on a connection, whole (the status line and header
// section formatted in one string, then the body) or streamed with chunked transfer coding.
#pragma once

#include <reqstore/http/message.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace reqstore::http
{

// The status line and header section of `r` (Server, Date, X-Request-Id, Content-Type, its own
// headers, Connection: close unless `keep_alive`, and Content-Length where the status allows
// one), ending with the blank line. Cheaper than Beast's serializer, whose buffer sequences cost
// more than the rest of a small answer's formatting. Thread-safe.
std::string answer_head(const response& r, const std::string& request_id, bool keep_alive);

// Writes `r` on `stream` (a plain_stream or a tls_stream) whole: its head and, unless `head_only` (a HEAD
// request) or the status has none, its body, under `write_timeout`. Returns the transport's error, or none
// once everything is written. Runs on the connection's strand.
template <class Stream>
boost::asio::awaitable<boost::system::error_code>
write_answer(Stream& stream, const response& r, const std::string& request_id, bool keep_alive,
             bool head_only, std::chrono::milliseconds write_timeout);

// Writes a streamed answer (r.stream set): the head with chunked transfer coding and
// Connection: close, then, unless `head_only`, each write of r.stream as a chunk under
// `write_timeout`, then the last chunk. The stream sees `stopping()` as its writer's stopping().
// Completes when the stream returns or the client is gone; the connection must then close.
// Runs on the connection's strand.
template <class Stream>
boost::asio::awaitable<void> stream_answer(Stream& stream, response& r, const std::string& request_id,
                                           bool head_only, std::chrono::milliseconds write_timeout,
                                           std::function<bool()> stopping);

} // namespace reqstore::http
