// Internal to hooks: what one webhook POST is, fixed before its first byte is sent, and the
// sentences its failures are reported with.
#pragma once

#include <reqstore/hooks/http_client.hpp>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "target_url.hpp"

namespace reqstore::hooks::outbound
{

using clock_type = std::chrono::steady_clock;

// Everything one post needs, shared by its (at most two) tries: a reused connection, then a new one.
struct attempt_plan
{
    target_url target;
    boost::beast::http::request<boost::beast::http::string_body> message;
    clock_type::time_point deadline;
    std::chrono::milliseconds timeout;
    std::size_t max_body = 0;
};

// A failed post_result with `error` as its sentence.
inline post_result failure(std::string error)
{
    post_result r;
    r.what = post_result::outcome::failed;
    r.error = std::move(error);
    return r;
}

// The failure of an attempt whose deadline passed `while_doing` something ("sending the request").
inline post_result timed_out(const attempt_plan& plan, std::string_view while_doing)
{
    return failure("timed out after " + std::to_string(plan.timeout.count()) + " ms " +
                   std::string(while_doing));
}

// Whether an operation failed because the attempt's deadline passed. The TLS layer may report the
// closed socket under its own code, so the clock is asked too.
inline bool expired(const boost::system::error_code& ec, const attempt_plan& plan)
{
    return ec == boost::beast::error::timeout || clock_type::now() >= plan.deadline;
}

} // namespace reqstore::hooks::outbound
