// The request and response as the handlers see them. Beast's message types stay inside the http
// module's own sources, so that the API and surfaces compile without Beast.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reqstore::auth
{
class verified_credentials; // auth/keys.hpp
} // namespace reqstore::auth

namespace reqstore::http
{

enum class method
{
    get,
    head,
    post,
    put,
    patch,
    delete_,
    options,
    other
};

std::string_view method_name(method m) noexcept;

namespace detail
{
struct native_request; // Beast's request message (src/http/native_request.hpp)
} // namespace detail

// A parsed request. Valid only while the session that read it is handling it.
class request
{
public:
    // `verified`: the credentials the connection last proved (auth::key_registry::authenticate), or
    // nullptr.
    request(const detail::native_request& native, method verb, std::string_view target, std::string body,
            std::string request_id, auth::verified_credentials* verified = nullptr);

    method verb() const noexcept { return verb_; }
    std::string_view method_text() const noexcept;
    std::string_view target() const noexcept { return target_; }
    std::string_view path() const noexcept { return path_; }
    std::string_view query() const noexcept { return query_; } // without the '?'
    const std::string& body() const noexcept { return body_; }
    const std::string& request_id() const noexcept { return request_id_; }
    // The connection's memo of proved credentials, for key_registry::authenticate; may be nullptr.
    auth::verified_credentials* verified_credentials() const noexcept { return verified_; }

    // The value of the first field called `name` (case-insensitive), or nullopt.
    std::optional<std::string_view> header(std::string_view name) const;
    // Every field called `name`, joined with ", " as RFC 9110 section 5.3 allows for list fields.
    std::optional<std::string> header_list(std::string_view name) const;

private:
    const detail::native_request& native_;
    method verb_;
    std::string_view target_;
    std::string_view path_;
    std::string_view query_;
    std::string body_;
    std::string request_id_;
    auth::verified_credentials* verified_;
};

// Writes the body of a streamed answer (Server-Sent Events), chunk by chunk.
class stream_writer
{
public:
    virtual ~stream_writer() = default;
    // Sends one chunk; false once the client is gone or a write timed out (then stop writing).
    virtual boost::asio::awaitable<bool> write(std::string_view chunk) = 0;
    // True once the server drains: a stream should end soon.
    virtual bool stopping() const noexcept = 0;
};

struct response
{
    unsigned status = 200;
    std::string content_type; // empty: no Content-Type
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool close = false; // end the connection after this answer
    // When set, the answer is streamed: the status and headers are sent with chunked transfer
    // coding, then `stream` writes the body; the connection closes when it returns.
    std::function<boost::asio::awaitable<void>(stream_writer&)> stream;

    void set(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

} // namespace reqstore::http
