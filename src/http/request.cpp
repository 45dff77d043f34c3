// The request as handlers see it, reading the fields of the Beast message it wraps.
#include <reqstore/http/message.hpp>

#include <utility>

#include "native_request.hpp"

namespace reqstore::http
{

request::request(const detail::native_request& native, method verb, std::string_view target, std::string body,
                 std::string request_id, auth::verified_credentials* verified)
    : native_(native), verb_(verb), target_(target), body_(std::move(body)),
      request_id_(std::move(request_id)), verified_(verified)
{
    const auto q = target_.find('?');
    path_ = target_.substr(0, q);
    query_ = q == std::string_view::npos ? std::string_view() : target_.substr(q + 1);
}

std::string_view request::method_text() const noexcept
{
    return native_.message.method_string();
}

std::optional<std::string_view> request::header(std::string_view name) const
{
    const auto it = native_.message.find(name);
    if (it == native_.message.end())
        return std::nullopt;
    return std::string_view(it->value());
}

std::optional<std::string> request::header_list(std::string_view name) const
{
    auto [first, last] = native_.message.equal_range(name);
    if (first == last)
        return std::nullopt;
    std::string joined;
    for (auto it = first; it != last; ++it)
    {
        if (!joined.empty())
            joined += ", ";
        joined += std::string_view(it->value());
    }
    return joined;
}

} // namespace reqstore::http
