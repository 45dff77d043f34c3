// Where webhooks may go (API.md section 6, "Safety"): public unicast addresses always; loopback,
// private, link-local, multicast, unspecified and other special-purpose ranges only when
// `webhooks.allow_networks` lists a network that contains the address.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::hooks
{

struct cidr
{
    boost::asio::ip::address network;
    unsigned prefix_length = 0;

    // "127.0.0.0/8", "::1/128", "10.0.0.0/8"; a bare address means the single host. nullopt when
    // malformed (bad address, prefix out of range, host bits set).
    static std::optional<cidr> parse(std::string_view text);
    bool contains(const boost::asio::ip::address& a) const noexcept;
};

class network_policy
{
public:
    network_policy() = default;
    explicit network_policy(std::vector<cidr> allowed) : allowed_(std::move(allowed)) {}

    // Whether a webhook may be sent to `a`. IPv4-mapped IPv6 addresses are judged as the IPv4
    // address they carry.
    bool permits(const boost::asio::ip::address& a) const noexcept;

    // Why `a` is refused ("loopback", "private", "link-local", "multicast", ...), or "" if permitted.
    std::string refusal_reason(const boost::asio::ip::address& a) const;

private:
    std::vector<cidr> allowed_; // constant after construction
};

} // namespace reqstore::hooks
