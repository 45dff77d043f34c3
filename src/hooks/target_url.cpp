// Reading a webhook URL into the client's target, and the header check that keeps a request whole.
#include "target_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace reqstore::hooks::outbound
{
namespace urls = boost::urls;

namespace
{

// Host names are letters, digits, '-', '.' and (in practice) '_'; anything else, decoded from a
// percent-escape, could smuggle bytes into the Host header.
bool plausible_host_name(std::string_view name)
{
    return !name.empty() && std::all_of(name.begin(), name.end(),
                                        [](char c) {
                                            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                                   c == '-' || c == '.' || c == '_';
                                        });
}

// Reads the host of `u` into t.host (and t.host_is_name); sets `bracketed` for an IPv6 literal.
// Returns the refusal's sentence, or "".
std::string read_host(const urls::url_view& u, target_url& t, bool& bracketed)
{
    switch (u.host_type())
    {
    case urls::host_type::ipv4:
        t.host = u.host_ipv4_address().to_string();
        return {};
    case urls::host_type::ipv6:
        t.host = u.host_ipv6_address().to_string();
        bracketed = true;
        return {};
    case urls::host_type::name:
        t.host = u.host_name();
        std::transform(t.host.begin(), t.host.end(), t.host.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        t.host_is_name = true;
        if (t.host.empty())
            return "URL without a usable host";
        if (!plausible_host_name(t.host))
            return "invalid host name in URL";
        return {};
    default:
        return "URL without a usable host";
    }
}

// Reads the port of `u` into t.port, `default_port` when it has none. Returns the refusal's
// sentence, or "".
std::string read_port(const urls::url_view& u, target_url& t, const std::string& default_port)
{
    t.port = default_port;
    if (u.has_port() && !u.port().empty())
    {
        // url_view::port_number() does not reject numbers beyond 65535, so the digits are read here.
        unsigned number = 0;
        const std::string_view digits = u.port();
        const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
        if (err != std::errc() || end != digits.data() + digits.size() || number == 0 || number > 65535)
            return "invalid port in URL";
        t.port = std::to_string(number);
    }
    return {};
}

} // namespace

std::optional<target_url> parse_target(std::string_view url, std::string& error)
{
    const auto parsed = urls::parse_absolute_uri(url);
    if (!parsed)
    {
        // Boost.URL's own messages ("mismatch") would not help the reader of a delivery log.
        error = "not an absolute URL";
        return std::nullopt;
    }
    const urls::url_view& u = *parsed;
    target_url t;
    std::string default_port;
    switch (u.scheme_id())
    {
    case urls::scheme::http:
        default_port = "80";
        break;
    case urls::scheme::https:
        t.tls = true;
        default_port = "443";
        break;
    default:
        error = "unsupported URL scheme (only http and https)";
        return std::nullopt;
    }
    if (u.has_userinfo())
    {
        error = "URLs with user information are not supported";
        return std::nullopt;
    }

    bool bracketed = false;
    error = read_host(u, t, bracketed);
    if (error.empty())
        error = read_port(u, t, default_port);
    if (!error.empty())
        return std::nullopt;

    const std::string host_part = bracketed ? "[" + t.host + "]" : t.host;
    t.host_header = t.port == default_port ? host_part : host_part + ":" + t.port;
    t.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query())
        t.target += "?" + std::string(u.encoded_query());
    t.pool_key = std::string(u.scheme()) + "://" + host_part + ":" + t.port;
    return t;
}

// Header names and values come from our own code, but a CR or LF would split the request.
bool safe_header(std::string_view name, std::string_view value)
{
    const auto bad = [](char c)
    {
        return c == '\r' || c == '\n' || c == '\0';
    };
    return !name.empty() && std::none_of(name.begin(), name.end(), bad) &&
           name.find(':') == std::string_view::npos && std::none_of(value.begin(), value.end(), bad);
}

} // namespace reqstore::hooks::outbound
