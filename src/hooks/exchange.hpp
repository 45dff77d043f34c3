// Internal to hooks: one request and its answer on an open connection to a webhook target.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "attempt_plan.hpp"

namespace reqstore::hooks::outbound
{

struct exchange_result
{
    post_result result;
    bool keep = false;               // a complete keep-alive answer: the connection may be reused
    bool dead_before_answer = false; // a reused connection failed before any byte of the answer
};

// Sends plan.message and reads the answer on `stream` (`buffer` is the connection's read buffer),
// all by plan.deadline. Skips up to four interim (1xx) answers, reads a header of at most 16 KiB,
// then at most plan.max_body bytes of the body. Every outcome is a result: an answer cut off at
// max_body (or by an error after its header) still counts as responded, but `keep` is false; a
// `reused` connection that fails before any byte of the answer (and not by the deadline) is
// `dead_before_answer`, so that the caller may try a new one. Runs on the stream's strand.
boost::asio::awaitable<exchange_result> exchange_on(boost::beast::tcp_stream& stream,
                                                    boost::beast::flat_buffer& buffer,
                                                    const attempt_plan& plan, bool reused);
boost::asio::awaitable<exchange_result>
exchange_on(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream, boost::beast::flat_buffer& buffer,
            const attempt_plan& plan, bool reused);

} // namespace reqstore::hooks::outbound
