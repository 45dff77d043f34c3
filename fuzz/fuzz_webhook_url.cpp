// Fuzzes where a webhook may go: a URL, a fake resolver's answers for its host, and the network policy
// of hooks/network_policy. The input is the URL on the first line, then binary records, each a tag byte
// and its bytes:
//   tag % 4 == 0: the resolver answers an IPv4 address (4 bytes)
//   tag % 4 == 1: the resolver answers an IPv6 address (16 bytes)
//   tag % 4 == 2: webhooks.allow_networks lists an IPv4 network (4 bytes, then a prefix-length byte)
//   tag % 4 == 3: webhooks.allow_networks lists an IPv6 network (16 bytes, then a prefix-length byte)
// The URL is read as the webhook client reads it (Boost.URL, http and https only). An IP literal host
// resolves to itself; a host name resolves as the system resolver would: a numeric form inet_aton reads
// ("127.1", "0x7f000001") to that address, anything else to the fake answers.
//
// Every address is judged by three policies: the production example's (allow_networks empty), the
// local default's (127.0.0.0/8 and ::1/128) and the fuzzed allow list's. Oracle: an address a policy
// permits is, by the reference below, either outside every blocked range or inside a listed network,
// where an address that carries an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16,
// IPv4-compatible ::/96) is judged by what it carries, as that is where its traffic goes. The
// reference is written from IANA's special-purpose registries (the entries "globally reachable: false")
// and the multicast ranges, with 128-bit integer arithmetic, independently of the policy's tables.
// Also: permits() agrees with refusal_reason(), and cidr::parse accepts a network exactly when its host
// bits are clear, and then contains it.
#include <reqstore/hooks/network_policy.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"

namespace
{

namespace ip = boost::asio::ip;
using reqstore::fuzz::check;
using reqstore::fuzz::oracle_failed;
// __extension__: GCC's -Wpedantic otherwise warns that ISO C++ has no 128-bit integer.
__extension__ typedef unsigned __int128 u128;

// ---- the reference ------------------------------------------------------------------------------

struct network
{
    bool v6;
    u128 bits; // an IPv4 network in the low 32 bits
    unsigned prefix;
};

u128 mask(bool v6, unsigned prefix)
{
    const unsigned width = v6 ? 128 : 32;
    if (prefix == 0)
        return 0;
    const u128 all = v6 ? ~u128(0) : u128(0xffffffffu);
    return (all << (width - prefix)) & all;
}

bool inside(const network& n, bool v6, u128 bits)
{
    return n.v6 == v6 && (bits & mask(v6, n.prefix)) == (n.bits & mask(v6, n.prefix));
}

constexpr network v4(std::uint32_t a, unsigned prefix)
{
    return {false, a, prefix};
}

constexpr u128 v6_bits(std::uint64_t high, std::uint64_t low)
{
    return (u128(high) << 64) | low;
}

network v6(std::uint64_t high, std::uint64_t low, unsigned prefix)
{
    return {true, v6_bits(high, low), prefix};
}

// IANA IPv4 Special-Purpose Address Registry, globally reachable = false, and 224.0.0.0/4 (multicast).
const std::vector<network> blocked_v4{
    v4(0x00000000, 8),  // "this network"
    v4(0x0a000000, 8),  // private
    v4(0x64400000, 10), // shared address space (carrier-grade NAT)
    v4(0x7f000000, 8),  // loopback
    v4(0xa9fe0000, 16), // link-local
    v4(0xac100000, 12), // private
    v4(0xc0000000, 29), // IETF protocol assignments: DS-Lite, ... (192.0.0.9 and .10 are global)
    v4(0xc0000008, 32), v4(0xc00000aa, 31), v4(0xc0000200, 24), // documentation TEST-NET-1
    v4(0xc0a80000, 16),                                         // private
    v4(0xc6120000, 15),                                         // benchmarking
    v4(0xc6336400, 24),                                         // documentation TEST-NET-2
    v4(0xcb007100, 24),                                         // documentation TEST-NET-3
    v4(0xe0000000, 4),                                          // multicast
    v4(0xf0000000, 4),                                          // reserved, limited broadcast included
};

// IANA IPv6 Special-Purpose Address Registry, globally reachable = false, site-local (deprecated but
// still routed by some stacks) and ff00::/8 (multicast). 2001::/23 is not global except the entries the
// registry lists as global, which are the holes below.
const std::vector<network> blocked_v6{
    v6(0, 0, 128),                 // unspecified
    v6(0, 1, 128),                 // loopback
    v6(0x0064ff9b00010000, 0, 48), // local-use IPv4/IPv6 translation
    v6(0x0100000000000000, 0, 64), // discard-only
    v6(0x0100000000000001, 0, 64), // dummy prefix
    v6(0x2001000000000000, 0, 23), // IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)
    v6(0x20010db800000000, 0, 32), // documentation
    v6(0x3fff000000000000, 0, 20), // documentation
    v6(0x5f00000000000000, 0, 16), // segment routing SIDs
    v6(0xfc00000000000000, 0, 7),  // unique local
    v6(0xfe80000000000000, 0, 10), // link-local
    v6(0xfec0000000000000, 0, 10), // site-local
    v6(0xff00000000000000, 0, 8),  // multicast
};
const std::vector<network> global_inside_2001_23{
    v6(0x2001000100000000, 1, 128), v6(0x2001000100000000, 2, 128),
    v6(0x2001000100000000, 3, 128), v6(0x2001000300000000, 0, 32), // AMT
    v6(0x2001000401120000, 0, 48),                                 // AS112-v6
    v6(0x2001002000000000, 0, 28),                                 // ORCHIDv2
    v6(0x2001003000000000, 0, 28),                                 // drone remote ID
};

bool listed(const std::vector<network>& allowed, bool is_v6, u128 bits)
{
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const network& n) { return inside(n, is_v6, bits); });
}

bool v4_reachable_safely(const std::vector<network>& allowed, std::uint32_t a)
{
    return listed(allowed, false, a) || !listed(blocked_v4, false, a);
}

// Whether traffic to the IPv6 address may go where the operator did not allow.
bool v6_reachable_safely(const std::vector<network>& allowed, u128 a)
{
    if (listed(allowed, true, a))
        return true;
    if (listed(blocked_v6, true, a) && !listed(global_inside_2001_23, true, a))
        return false;
    const auto high = static_cast<std::uint64_t>(a >> 64);
    const auto low = static_cast<std::uint64_t>(a);
    const auto carried_low32 = static_cast<std::uint32_t>(low);
    if (high == 0 && (low >> 32) == 0xffff) // ::ffff:a.b.c.d
        return v4_reachable_safely(allowed, carried_low32);
    if (high == 0 && (low >> 32) == 0) // ::a.b.c.d (IPv4-compatible, deprecated)
        return v4_reachable_safely(allowed, carried_low32);
    if (high == 0x0064ff9b00000000 && (low >> 32) == 0) // 64:ff9b::a.b.c.d
        return v4_reachable_safely(allowed, carried_low32);
    if ((high >> 48) == 0x2002) // 2002:aabb:ccdd::/48
        return v4_reachable_safely(allowed, static_cast<std::uint32_t>(high >> 16));
    return true;
}

u128 bits_of(const ip::address& a)
{
    u128 bits = 0;
    if (a.is_v4())
        return a.to_v4().to_uint();
    for (const auto byte : a.to_v6().to_bytes())
        bits = (bits << 8) | byte;
    return bits;
}

bool reachable_safely(const std::vector<network>& allowed, const ip::address& a)
{
    return a.is_v4() ? v4_reachable_safely(allowed, a.to_v4().to_uint())
                     : v6_reachable_safely(allowed, bits_of(a));
}

// ---- the input ----------------------------------------------------------------------------------

struct judged_policy
{
    const char* name;
    reqstore::hooks::network_policy policy;
    std::vector<network> reference;
};

std::vector<reqstore::hooks::cidr> parsed_networks(std::initializer_list<const char*> texts)
{
    std::vector<reqstore::hooks::cidr> out;
    for (const char* text : texts)
        out.push_back(*reqstore::hooks::cidr::parse(text));
    return out;
}

const judged_policy& production_policy()
{
    static const judged_policy p{"production (allow_networks: [])", reqstore::hooks::network_policy(), {}};
    return p;
}

const judged_policy& local_policy()
{
    static const judged_policy p{"local default (127.0.0.0/8, ::1/128)",
                                 reqstore::hooks::network_policy(parsed_networks({"127.0.0.0/8", "::1/128"})),
                                 {v4(0x7f000000, 8), v6(0, 1, 128)}};
    return p;
}

// Reads a fuzzed allow-list entry, checks cidr::parse on it, and adds it to both lists when accepted.
void read_network(std::string_view bytes, unsigned prefix_byte,
                  std::vector<reqstore::hooks::cidr>& policy_list, std::vector<network>& reference)
{
    const bool is_v6 = bytes.size() == 16;
    u128 bits = 0;
    for (const char c : bytes)
        bits = (bits << 8) | static_cast<unsigned char>(c);
    const unsigned width = is_v6 ? 128 : 32;
    const unsigned prefix = prefix_byte % (width + 1);
    const ip::address address = is_v6 ? ip::address(ip::address_v6(
                                            [&]
                                            {
                                                ip::address_v6::bytes_type b{};
                                                std::copy(bytes.begin(), bytes.end(), b.begin());
                                                return b;
                                            }()))
                                      : ip::address(ip::address_v4(static_cast<std::uint32_t>(bits)));
    const std::string text = address.to_string() + "/" + std::to_string(prefix);
    const auto parsed = reqstore::hooks::cidr::parse(text);
    const bool host_bits_clear = (bits & ~mask(is_v6, prefix)) == 0;
    check(parsed.has_value() == host_bits_clear,
          "cidr::parse accepts a network exactly when its host bits are clear", text);
    if (!parsed)
        return;
    check(parsed->prefix_length == prefix && parsed->network == address, "cidr::parse keeps the network",
          text);
    check(parsed->contains(address), "a network contains its own address", text);
    policy_list.push_back(*parsed);
    reference.push_back({is_v6, bits, prefix});
}

// The addresses a URL's host stands for without asking the fake resolver: an IP literal, or a name the
// system resolver reads as a number. Nothing for a URL the webhook client refuses.
std::vector<ip::address> resolve(std::string_view url)
{
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed)
        return {};
    const auto scheme = parsed->scheme_id();
    if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https)
        return {};
    switch (parsed->host_type())
    {
    case boost::urls::host_type::ipv4:
        return {ip::address(ip::make_address_v4(parsed->host_ipv4_address().to_bytes()))};
    case boost::urls::host_type::ipv6:
        return {ip::address(ip::make_address_v6(parsed->host_ipv6_address().to_bytes()))};
    case boost::urls::host_type::name:
    {
        std::string host = parsed->host_name();
        std::transform(host.begin(), host.end(), host.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        in_addr numeric{};
        if (host.find('\0') == std::string::npos && inet_aton(host.c_str(), &numeric) != 0)
            return {ip::address(ip::address_v4(ntohl(numeric.s_addr)))};
        return {}; // the fake answers, judged anyway
    }
    default:
        return {};
    }
}

void judge(const judged_policy& p, const ip::address& a)
{
    const bool permitted = p.policy.permits(a);
    check(permitted == p.policy.refusal_reason(a).empty(), "permits() agrees with refusal_reason()",
          a.to_string());
    if (permitted && !reachable_safely(p.reference, a))
        oracle_failed("a permitted address is outside every blocked range or listed",
                      std::string(p.name) + " permits " + a.to_string());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const std::string_view url = input.substr(0, newline);
    std::string_view records =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

    std::vector<ip::address> answers;
    std::vector<reqstore::hooks::cidr> fuzzed_list;
    std::vector<network> fuzzed_reference;
    while (!records.empty())
    {
        const auto tag = static_cast<unsigned char>(records[0]) % 4;
        const std::size_t length = tag % 2 == 0 ? 4 : 16;
        const std::size_t needed = 1 + length + (tag >= 2 ? 1 : 0);
        if (records.size() < needed)
            break;
        const std::string_view bytes = records.substr(1, length);
        if (tag < 2)
        {
            if (length == 4)
            {
                ip::address_v4::bytes_type b{};
                std::copy_n(bytes.begin(), b.size(), b.begin());
                answers.emplace_back(ip::address_v4(b));
            }
            else
            {
                ip::address_v6::bytes_type b{};
                std::copy_n(bytes.begin(), b.size(), b.begin());
                answers.emplace_back(ip::address_v6(b));
            }
        }
        else
            read_network(bytes, static_cast<unsigned char>(records[1 + length]), fuzzed_list,
                         fuzzed_reference);
        records.remove_prefix(needed);
    }
    const judged_policy fuzzed{"the fuzzed allow list", reqstore::hooks::network_policy(fuzzed_list),
                               fuzzed_reference};

    // Every answer is judged, whatever the URL: the policy must hold for any address a name resolves to.
    std::vector<ip::address> judged = answers;
    for (const auto& a : resolve(url))
        judged.push_back(a);
    for (const auto& a : judged)
        for (const judged_policy* p : {&production_policy(), &local_policy(), &fuzzed})
            judge(*p, a);
    return 0;
}
