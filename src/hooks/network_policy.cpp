// Which addresses a webhook may reach: special-purpose ranges (IANA's IPv4 and IPv6 special-purpose
// registries) are refused unless `webhooks.allow_networks` lists them; addresses that carry an IPv4
// address inside IPv6 (mapped, NAT64, 6to4) are judged by the IPv4 address they lead to.
#include <reqstore/hooks/network_policy.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>

namespace reqstore::hooks
{
namespace ip = boost::asio::ip;

namespace
{

// Whether the first `prefix` bits of `a` and `network` agree; both hold at least `prefix` bits.
bool same_prefix(const unsigned char* a, const unsigned char* network, unsigned prefix) noexcept
{
    const unsigned whole = prefix / 8;
    if (!std::equal(a, a + whole, network))
        return false;
    const unsigned rest = prefix % 8;
    if (rest == 0)
        return true;
    const auto mask = static_cast<unsigned char>(0xFFu << (8 - rest));
    return (a[whole] & mask) == (network[whole] & mask);
}

struct special_v4
{
    ip::address_v4::bytes_type network;
    unsigned prefix;
    const char* reason;
};

struct special_v6
{
    ip::address_v6::bytes_type network;
    unsigned prefix;
    const char* reason;
};

// First match wins, so the broadcast address comes before the reserved block that contains it.
constexpr std::array<special_v4, 16> special_v4_ranges{{
    {{255, 255, 255, 255}, 32, "broadcast"},
    {{0, 0, 0, 0}, 8, "unspecified"},
    {{127, 0, 0, 0}, 8, "loopback"},
    {{10, 0, 0, 0}, 8, "private"},
    {{172, 16, 0, 0}, 12, "private"},
    {{192, 168, 0, 0}, 16, "private"},
    {{169, 254, 0, 0}, 16, "link-local"},
    {{224, 0, 0, 0}, 4, "multicast"},
    {{100, 64, 0, 0}, 10, "carrier-grade NAT"},
    {{192, 0, 0, 0}, 24, "IETF protocol assignments"},
    {{192, 0, 2, 0}, 24, "documentation"},
    {{198, 51, 100, 0}, 24, "documentation"},
    {{203, 0, 113, 0}, 24, "documentation"},
    {{192, 88, 99, 0}, 24, "6to4 relay anycast"},
    {{198, 18, 0, 0}, 15, "benchmarking"},
    {{240, 0, 0, 0}, 4, "reserved"},
}};

constexpr std::array<special_v6, 14> special_v6_ranges{{
    {{}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0xfc}, 7, "private"},
    {{0xfe, 0x80}, 10, "link-local"},
    {{0xfe, 0xc0}, 10, "site-local"},
    {{0xff}, 8, "multicast"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local-use NAT64"},
    {{0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64, "discard-only"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"},
    // Teredo hides the client's IPv4 address (obfuscated), so it cannot be judged; refuse it.
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo"},
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, "benchmarking"},
    // The rest of 2001::/23 is not globally reachable either, but for a few anycast and overlay blocks
    // (AMT, AS112, ORCHIDv2, drone remote ID) that no webhook receiver lives in.
    {{0x20, 0x01, 0x00, 0x00}, 23, "IETF protocol assignments"},
    {{0x3f, 0xff, 0x00}, 20, "documentation"},
    {{0x5f, 0x00}, 16, "segment routing"},
}};

constexpr ip::address_v6::bytes_type nat64_prefix{0x00, 0x64, 0xff, 0x9b}; // 64:ff9b::/96
constexpr ip::address_v6::bytes_type six_to_four_prefix{0x20, 0x02};       // 2002::/16
constexpr ip::address_v6::bytes_type global_unicast{0x20};                 // 2000::/3

bool listed(const std::vector<cidr>& allowed, const ip::address& a) noexcept
{
    return std::any_of(allowed.begin(), allowed.end(), [&](const cidr& c) { return c.contains(a); });
}

// The refusal reason (a static string) or nullptr when `a` may be reached.
const char* reason_for(const std::vector<cidr>& allowed, const ip::address& a) noexcept
{
    if (listed(allowed, a))
        return nullptr;
    if (a.is_v4())
    {
        const auto bytes = a.to_v4().to_bytes();
        for (const auto& r : special_v4_ranges)
            if (same_prefix(bytes.data(), r.network.data(), r.prefix))
                return r.reason;
        return nullptr;
    }

    const auto v6 = a.to_v6();
    const auto bytes = v6.to_bytes();
    // Traffic to these ends up at the IPv4 address they carry, so that address is what counts.
    if (v6.is_v4_mapped())
        return reason_for(allowed, ip::make_address_v4(ip::v4_mapped, v6));
    if (same_prefix(bytes.data(), nat64_prefix.data(), 96))
        return reason_for(allowed, ip::address_v4({bytes[12], bytes[13], bytes[14], bytes[15]}));
    if (same_prefix(bytes.data(), six_to_four_prefix.data(), 16))
        return reason_for(allowed, ip::address_v4({bytes[2], bytes[3], bytes[4], bytes[5]}));

    for (const auto& r : special_v6_ranges)
        if (same_prefix(bytes.data(), r.network.data(), r.prefix))
            return r.reason;
    // Outside 2000::/3 nothing is allocated for global unicast (IPv4-compatible ::a.b.c.d included).
    if (!same_prefix(bytes.data(), global_unicast.data(), 3))
        return "reserved";
    return nullptr;
}

} // namespace

std::optional<cidr> cidr::parse(std::string_view text)
{
    const auto slash = text.find('/');
    const std::string address_text(text.substr(0, slash));
    boost::system::error_code ec;
    const ip::address network = ip::make_address(address_text, ec);
    // A zone index ("fe80::1%eth0") names an interface of this host, not a network.
    if (ec || (network.is_v6() && network.to_v6().scope_id() != 0))
        return std::nullopt;
    const unsigned max_prefix = network.is_v4() ? 32 : 128;

    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos)
    {
        const std::string_view digits = text.substr(slash + 1);
        // At most three digits: from_chars would otherwise accept any run of leading zeros.
        if (digits.empty() || digits.size() > 3)
            return std::nullopt;
        const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (err != std::errc() || end != digits.data() + digits.size() || prefix > max_prefix)
            return std::nullopt;
    }

    // Host bits set ("10.0.0.1/8") usually mean a typo in the config; refuse rather than guess.
    const cidr candidate{network, prefix};
    const auto check_host_bits = [&](const auto& bytes)
    {
        auto masked = bytes;
        for (std::size_t i = 0; i < masked.size(); ++i)
        {
            const unsigned bit = static_cast<unsigned>(i) * 8;
            if (bit >= prefix)
                masked[i] = 0;
            else if (prefix - bit < 8)
                masked[i] &= static_cast<unsigned char>(0xFFu << (8 - (prefix - bit)));
        }
        return masked == bytes;
    };
    const bool clean = network.is_v4() ? check_host_bits(network.to_v4().to_bytes())
                                       : check_host_bits(network.to_v6().to_bytes());
    if (!clean)
        return std::nullopt;
    return candidate;
}

bool cidr::contains(const ip::address& a) const noexcept
{
    if (network.is_v4() && a.is_v4())
        return same_prefix(a.to_v4().to_bytes().data(), network.to_v4().to_bytes().data(), prefix_length);
    if (network.is_v6() && a.is_v6())
        return same_prefix(a.to_v6().to_bytes().data(), network.to_v6().to_bytes().data(), prefix_length);
    return false;
}

bool network_policy::permits(const ip::address& a) const noexcept
{
    return reason_for(allowed_, a) == nullptr;
}

std::string network_policy::refusal_reason(const ip::address& a) const
{
    const char* reason = reason_for(allowed_, a);
    return reason ? reason : "";
}

} // namespace reqstore::hooks
