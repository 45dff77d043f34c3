// Unit tests for where webhooks may go (network_policy.hpp, API.md section 6, "Safety"): CIDR parsing,
// every special-purpose range, the allow list, and IPv4 carried inside IPv6.
#include <reqstore/hooks/network_policy.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace
{

using boost::asio::ip::make_address;
using reqstore::hooks::cidr;
using reqstore::hooks::network_policy;

network_policy allowing(std::initializer_list<const char*> networks)
{
    std::vector<cidr> list;
    for (const char* text : networks)
    {
        auto c = cidr::parse(text);
        if (!c)
            throw std::invalid_argument(std::string("bad test CIDR ") + text);
        list.push_back(*c);
    }
    return network_policy(std::move(list));
}

std::string reason(const network_policy& policy, const char* address)
{
    return policy.refusal_reason(make_address(address));
}

// --- cidr -------------------------------------------------------------------------------------------------

TEST(Cidr, ParsesIpv4AndIpv6Networks)
{
    const auto v4 = cidr::parse("127.0.0.0/8");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->network, make_address("127.0.0.0"));
    EXPECT_EQ(v4->prefix_length, 8u);

    const auto v6 = cidr::parse("fd00::/8");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->network, make_address("fd00::"));
    EXPECT_EQ(v6->prefix_length, 8u);

    EXPECT_TRUE(cidr::parse("0.0.0.0/0"));
    EXPECT_TRUE(cidr::parse("::/0"));
    EXPECT_TRUE(cidr::parse("10.1.2.3/32"));
    EXPECT_TRUE(cidr::parse("::1/128"));
    EXPECT_TRUE(cidr::parse("172.16.0.0/12"));
}

TEST(Cidr, BareAddressIsOneHost)
{
    const auto v4 = cidr::parse("192.168.1.7");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->prefix_length, 32u);
    EXPECT_TRUE(v4->contains(make_address("192.168.1.7")));
    EXPECT_FALSE(v4->contains(make_address("192.168.1.8")));

    const auto v6 = cidr::parse("::1");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->prefix_length, 128u);
    EXPECT_TRUE(v6->contains(make_address("::1")));
}

TEST(Cidr, RejectsMalformedText)
{
    for (const char* text :
         {"", "/8", "127.0.0.0/", "127.0.0.0/33", "::/129", "127.0.0.0/-1", "127.0.0.0/+8", "127.0.0.0/8/8",
          "127.0.0.0/ 8", "127.0.0.0/8 ", " 127.0.0.0/8", "127.0.0/8", "127.0.0.256/32", "localhost/8",
          "10.0.0.0/0008", "10.0.0.0/x", "fe80::1%1/128", "[::1]/128"})
        EXPECT_FALSE(cidr::parse(text)) << text;
}

TEST(Cidr, RejectsHostBitsSet)
{
    EXPECT_FALSE(cidr::parse("10.0.0.1/8"));
    EXPECT_FALSE(cidr::parse("172.17.0.0/12"));
    EXPECT_FALSE(cidr::parse("192.168.1.1/31"));
    EXPECT_FALSE(cidr::parse("::1/127"));
    EXPECT_FALSE(cidr::parse("fe80::1/10"));
    EXPECT_FALSE(cidr::parse("0.0.0.1/0"));
    EXPECT_TRUE(cidr::parse("172.16.0.0/12"));
    EXPECT_TRUE(cidr::parse("192.168.1.0/31"));
}

TEST(Cidr, ContainsChecksThePrefixOnly)
{
    const auto c = cidr::parse("172.16.0.0/12");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->contains(make_address("172.16.0.0")));
    EXPECT_TRUE(c->contains(make_address("172.31.255.255")));
    EXPECT_FALSE(c->contains(make_address("172.32.0.0")));
    EXPECT_FALSE(c->contains(make_address("172.15.255.255")));

    const auto v6 = cidr::parse("fe80::/10");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains(make_address("fe80::1")));
    EXPECT_TRUE(v6->contains(make_address("febf:ffff::1")));
    EXPECT_FALSE(v6->contains(make_address("fec0::1")));

    const auto everything = cidr::parse("0.0.0.0/0");
    ASSERT_TRUE(everything);
    EXPECT_TRUE(everything->contains(make_address("8.8.8.8")));
}

TEST(Cidr, FamiliesNeverMix)
{
    const auto v4 = cidr::parse("0.0.0.0/0");
    const auto v6 = cidr::parse("::/0");
    ASSERT_TRUE(v4 && v6);
    EXPECT_FALSE(v4->contains(make_address("::1")));
    EXPECT_FALSE(v6->contains(make_address("127.0.0.1")));
}

// --- the special ranges -----------------------------------------------------------------------------------

TEST(NetworkPolicy, PublicAddressesArePermitted)
{
    const network_policy policy;
    for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "172.15.255.255",
                          "100.63.255.255", "100.128.0.1", "192.169.0.1", "169.255.0.1", "198.17.255.255",
                          "198.20.0.1", "223.255.255.255", "11.0.0.1", "126.255.255.255", "128.0.0.1",
                          "2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "2001:4860:4860::8888"})
    {
        EXPECT_TRUE(policy.permits(make_address(a))) << a;
        EXPECT_EQ(policy.refusal_reason(make_address(a)), "") << a;
    }
}

TEST(NetworkPolicy, RefusesEverySpecialIpv4Range)
{
    const network_policy policy;
    const std::vector<std::pair<const char*, const char*>> cases = {
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"10.0.0.1", "private"},
        {"10.255.255.255", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"192.168.0.1", "private"},
        {"192.168.255.255", "private"},
        {"169.254.169.254", "link-local"},
        {"169.254.0.1", "link-local"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},
        {"100.64.0.1", "carrier-grade NAT"},
        {"100.127.255.255", "carrier-grade NAT"},
        {"192.0.0.8", "IETF protocol assignments"},
        {"198.18.0.1", "benchmarking"},
        {"198.19.255.255", "benchmarking"},
        {"240.0.0.1", "reserved"},
        {"254.255.255.255", "reserved"},
        {"255.255.255.255", "broadcast"},
        {"192.0.2.1", "documentation"},
        {"198.51.100.1", "documentation"},
        {"203.0.113.1", "documentation"},
        {"192.88.99.1", "6to4 relay anycast"},
    };
    for (const auto& [address, expected] : cases)
    {
        EXPECT_FALSE(policy.permits(make_address(address))) << address;
        EXPECT_EQ(reason(policy, address), expected) << address;
    }
}

TEST(NetworkPolicy, RefusesEverySpecialIpv6Range)
{
    const network_policy policy;
    const std::vector<std::pair<const char*, const char*>> cases = {
        {"::1", "loopback"},
        {"::", "unspecified"},
        {"fc00::1", "private"},
        {"fd12:3456:789a::1", "private"},
        {"fe80::1", "link-local"},
        {"febf::1", "link-local"},
        {"ff02::1", "multicast"},
        {"ff0e::1", "multicast"},
        {"2001:db8::1", "documentation"},
        {"100::1", "discard-only"},
        {"fec0::1", "site-local"},
        {"64:ff9b:1::a00:1", "local-use NAT64"},
        {"2001::5efe:c000:201", "Teredo"},
        {"2001:2::1", "benchmarking"},
        {"::127.0.0.1", "reserved"}, // IPv4-compatible, deprecated
        {"4000::1", "reserved"},     // outside global unicast 2000::/3
    };
    for (const auto& [address, expected] : cases)
    {
        EXPECT_FALSE(policy.permits(make_address(address))) << address;
        EXPECT_EQ(reason(policy, address), expected) << address;
    }
}

TEST(NetworkPolicy, Ipv4MappedIpv6IsJudgedAsTheIpv4Address)
{
    const network_policy policy;
    EXPECT_EQ(reason(policy, "::ffff:127.0.0.1"), "loopback");
    EXPECT_EQ(reason(policy, "::ffff:10.1.2.3"), "private");
    EXPECT_EQ(reason(policy, "::ffff:169.254.169.254"), "link-local");
    EXPECT_TRUE(policy.permits(make_address("::ffff:8.8.8.8")));

    const network_policy loopback_allowed = allowing({"127.0.0.0/8"});
    EXPECT_TRUE(loopback_allowed.permits(make_address("::ffff:127.0.0.1")));
    EXPECT_FALSE(loopback_allowed.permits(make_address("::ffff:10.0.0.1")));
}

TEST(NetworkPolicy, Nat64IsJudgedAsTheEmbeddedIpv4Address)
{
    const network_policy policy;
    EXPECT_EQ(reason(policy, "64:ff9b::7f00:1"), "loopback");      // 127.0.0.1
    EXPECT_EQ(reason(policy, "64:ff9b::a00:1"), "private");        // 10.0.0.1
    EXPECT_EQ(reason(policy, "64:ff9b::a9fe:a9fe"), "link-local"); // 169.254.169.254
    EXPECT_TRUE(policy.permits(make_address("64:ff9b::808:808"))); // 8.8.8.8
    EXPECT_TRUE(allowing({"127.0.0.0/8"}).permits(make_address("64:ff9b::7f00:1")));
}

TEST(NetworkPolicy, SixToFourIsJudgedByTheEmbeddedIpv4Address)
{
    const network_policy policy;
    EXPECT_EQ(reason(policy, "2002:7f00:1::1"), "loopback");      // 127.0.0.1
    EXPECT_EQ(reason(policy, "2002:c0a8:101::1"), "private");     // 192.168.1.1
    EXPECT_EQ(reason(policy, "2002:a9fe:a9fe::"), "link-local");  // 169.254.169.254
    EXPECT_TRUE(policy.permits(make_address("2002:808:808::1"))); // 8.8.8.8
}

// --- the allow list ---------------------------------------------------------------------------------------

TEST(NetworkPolicy, AllowListOpensOnlyWhatItLists)
{
    const network_policy policy = allowing({"127.0.0.0/8", "10.1.0.0/16", "fd00::/8"});
    EXPECT_TRUE(policy.permits(make_address("127.0.0.1")));
    EXPECT_TRUE(policy.permits(make_address("127.1.2.3")));
    EXPECT_TRUE(policy.permits(make_address("10.1.200.3")));
    EXPECT_TRUE(policy.permits(make_address("fd00::5")));
    EXPECT_EQ(reason(policy, "10.2.0.1"), "private");
    EXPECT_EQ(reason(policy, "::1"), "loopback");
    EXPECT_EQ(reason(policy, "fc00::1"), "private");
    EXPECT_EQ(reason(policy, "169.254.169.254"), "link-local");
    EXPECT_TRUE(policy.permits(make_address("8.8.8.8")));
}

TEST(NetworkPolicy, EmptyPolicyRefusesLoopback)
{
    const network_policy policy;
    EXPECT_FALSE(policy.permits(make_address("127.0.0.1")));
    EXPECT_FALSE(policy.permits(make_address("::1")));
}

TEST(NetworkPolicy, SingleHostAllowListEntry)
{
    const network_policy policy = allowing({"::1"});
    EXPECT_TRUE(policy.permits(make_address("::1")));
    EXPECT_FALSE(policy.permits(make_address("127.0.0.1")));
}

TEST(NetworkPolicy, RefusesTheRestOfTheIetfBlockAndNewSpecialRanges)
{
    const network_policy policy;
    EXPECT_EQ(reason(policy, "2001:2:2400::1"), "IETF protocol assignments");
    EXPECT_EQ(reason(policy, "2001:1ff::1"), "IETF protocol assignments");
    EXPECT_TRUE(policy.permits(make_address("2001:200::1"))); // just past 2001::/23
    EXPECT_EQ(reason(policy, "3fff:fff::1"), "documentation");
    EXPECT_EQ(reason(policy, "5f00::1"), "segment routing");
}

} // namespace
