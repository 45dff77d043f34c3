// Internal to hooks: a webhook URL read into what the client connects to and sends, with the URLs
// and headers it refuses before anything is resolved.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace reqstore::hooks::outbound
{

struct target_url
{
    bool tls = false;
    bool host_is_name = false; // false for an IP literal: no SNI then (RFC 6066 section 3)
    std::string host;          // without brackets: what is resolved and what the certificate must name
    std::string port;
    std::string host_header;
    std::string target; // path and query
    std::string pool_key;
};

// The target of an absolute http or https URL; nullopt, with `error` set to a sentence for the
// delivery log, for another scheme, user information, an unusable or implausible host, or a port
// outside 1-65535. The host is lower-cased.
std::optional<target_url> parse_target(std::string_view url, std::string& error);

// Whether a header may be sent as it is: a non-empty name without ':', and neither name nor value
// holding CR, LF or NUL.
bool safe_header(std::string_view name, std::string_view value);

} // namespace reqstore::hooks::outbound
