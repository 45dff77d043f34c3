// Unit tests for the store's byte formats: RocksDB keys (keys.hpp) and stored values (codec.hpp).
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bytes.hpp"

namespace
{

using reqstore::core::event_draft;
using reqstore::core::stored_version;
using reqstore::store::append_be64;
using reqstore::store::decode_version;
using reqstore::store::decode_version_head;
using reqstore::store::encode_event;
using reqstore::store::encode_version;
using reqstore::store::parse_version_key;
using reqstore::store::read_be64;
using reqstore::store::sequence_key;
using reqstore::store::version_key;
using reqstore::store::version_key_end;

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

using reqstore::test::bytewise_less;
using reqstore::test::hex;

stored_version sample_version(bool with_body = true)
{
    stored_version v;
    v.version = 7;
    v.updated_at = 784111777123;
    v.deleted = false;
    v.type = "request";
    v.status = "active";
    v.updated_by = "dev";
    v.changed = {"status", "metadata", "priority"};
    if (with_body)
        v.body = R"({"id":"req_01","type":"request","status":"active","version":7})";
    return v;
}

void expect_same(const stored_version& actual, const stored_version& expected)
{
    EXPECT_EQ(actual.version, expected.version);
    EXPECT_EQ(actual.updated_at, expected.updated_at);
    EXPECT_EQ(actual.deleted, expected.deleted);
    EXPECT_EQ(actual.type, expected.type);
    EXPECT_EQ(actual.status, expected.status);
    EXPECT_EQ(actual.updated_by, expected.updated_by);
    EXPECT_EQ(actual.changed, expected.changed);
    EXPECT_EQ(actual.body, expected.body);
}

// Copies `bytes` into a heap block of exactly that size, so that a read past the end touches memory
// the decoder does not own (and a sanitizer build reports it).
struct exact_copy
{
    explicit exact_copy(std::string_view bytes)
        : size(bytes.size()), data(new char[bytes.size() ? bytes.size() : 1])
    {
        if (size)
            std::memcpy(data.get(), bytes.data(), size);
    }
    std::string_view view() const { return {data.get(), size}; }
    std::size_t size;
    std::unique_ptr<char[]> data;
};

// --- big-endian integers ---------------------------------------------------------------------------------

TEST(Be64, IsEightBigEndianBytes)
{
    std::string out;
    append_be64(out, 0x0102030405060708ull);
    EXPECT_EQ(hex(out), "0102030405060708");
    out.clear();
    append_be64(out, 256);
    EXPECT_EQ(hex(out), "0000000000000100");
}

TEST(Be64, AppendsToWhatIsThere)
{
    std::string out = "k";
    append_be64(out, 1);
    EXPECT_EQ(hex(out), "6b0000000000000001");
}

TEST(Be64, ReadsBackWhatWasWritten)
{
    for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256},
                                  std::uint64_t{0x8000000000000000ull}, max_u64})
    {
        std::string out;
        append_be64(out, v);
        EXPECT_EQ(read_be64(out), v);
    }
}

TEST(Be64, ReadsOnlyTheFirstEightBytes)
{
    EXPECT_EQ(read_be64(std::string_view("\0\0\0\0\0\0\0\x05rest", 12)), 5u);
}

TEST(Be64, ShortInputIsNothing)
{
    EXPECT_EQ(read_be64(""), std::nullopt);
    EXPECT_EQ(read_be64(std::string_view("\0\0\0\0\0\0\x01", 7)), std::nullopt);
}

// --- version keys ----------------------------------------------------------------------------------------

TEST(VersionKey, IsIdNulAndBigEndianVersion)
{
    EXPECT_EQ(hex(version_key("req_A", 2), {5, 1}), "7265715f41 00 0000000000000002");
}

TEST(VersionKey, SortsVersionsNumerically)
{
    EXPECT_TRUE(bytewise_less(version_key("req_A", 2), version_key("req_A", 256)));
    EXPECT_TRUE(bytewise_less(version_key("req_A", 9), version_key("req_A", 10)));
    EXPECT_TRUE(bytewise_less(version_key("req_A", 255), version_key("req_A", 256)));
    EXPECT_TRUE(bytewise_less(version_key("req_A", 0x7fffffffffffffffull), version_key("req_A", 1ull << 63)));
    EXPECT_TRUE(bytewise_less(version_key("req_A", 1ull << 63), version_key("req_A", max_u64)));
}

TEST(VersionKey, VersionsOfAnIdAndOfALongerIdDoNotInterleave)
{
    const std::vector<std::uint64_t> versions = {0, 1, 2, 255, 256, 1ull << 32, max_u64};
    for (const std::uint64_t va : versions)
        for (const std::uint64_t vb : versions)
            EXPECT_TRUE(bytewise_less(version_key("a", va), version_key("a1", vb)))
                << "a@" << va << " vs a1@" << vb;
}

TEST(VersionKey, VersionsOfAnIdAndOfAShorterIdDoNotInterleave)
{
    // "a" < "a\x01..." ids would be unusual, but "req_A" against "req_" + version bytes is not.
    for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, max_u64})
    {
        EXPECT_TRUE(bytewise_less(version_key("req_", max_u64), version_key("req_A", v)));
        EXPECT_TRUE(bytewise_less(version_key("req_", v), version_key("req_A", 0)));
    }
}

TEST(VersionKeyEnd, FollowsEveryVersionOfTheIdAndPrecedesTheNextId)
{
    const std::string end = version_key_end("a");
    EXPECT_TRUE(bytewise_less(version_key("a", 0), end));
    EXPECT_TRUE(bytewise_less(version_key("a", max_u64), end));
    EXPECT_TRUE(bytewise_less(end, version_key("a1", 0)));
    EXPECT_TRUE(bytewise_less(end, version_key("a0", 0)));
    EXPECT_TRUE(bytewise_less(end, version_key("b", 0)));
}

TEST(ParseVersionKey, RoundTrips)
{
    for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{256}, max_u64})
    {
        const std::string key = version_key("req_01ARZ3NDEKTSV4RRFFQ69G5FAV", v);
        const auto parts = parse_version_key(key);
        ASSERT_TRUE(parts.has_value());
        EXPECT_EQ(parts->id, "req_01ARZ3NDEKTSV4RRFFQ69G5FAV");
        EXPECT_EQ(parts->version, v);
    }
}

TEST(ParseVersionKey, EmptyIdRoundTrips)
{
    const auto parts = parse_version_key(version_key("", 3));
    ASSERT_TRUE(parts.has_value());
    EXPECT_EQ(parts->id, "");
    EXPECT_EQ(parts->version, 3u);
}

TEST(ParseVersionKey, RejectsKeysThatAreTooShort)
{
    EXPECT_EQ(parse_version_key(""), std::nullopt);
    const std::string key = version_key("", 3);
    EXPECT_EQ(parse_version_key(std::string_view(key).substr(0, 8)), std::nullopt);
    EXPECT_EQ(parse_version_key(std::string_view(key).substr(1)), std::nullopt);
}

TEST(ParseVersionKey, RejectsAKeyWithoutTheSeparator)
{
    EXPECT_EQ(parse_version_key("req_A12345678"), std::nullopt);
    EXPECT_EQ(parse_version_key(version_key_end("req_A")), std::nullopt);
    std::string key = version_key("req_A", 1);
    key[5] = '\x01';
    EXPECT_EQ(parse_version_key(key), std::nullopt);
}

TEST(ParseVersionKey, RejectsATruncatedKey)
{
    const std::string key = version_key("req_A", 0x0102030405060708ull);
    EXPECT_EQ(parse_version_key(std::string_view(key).substr(0, key.size() - 1)), std::nullopt);
}

// --- sequence keys ---------------------------------------------------------------------------------------

TEST(SequenceKey, IsTheBigEndianSequence)
{
    EXPECT_EQ(hex(sequence_key(1)), "0000000000000001");
    EXPECT_EQ(hex(sequence_key(0x1234)), "0000000000001234");
}

TEST(SequenceKey, SortsNumerically)
{
    const std::vector<std::uint64_t> ascending = {0,   1,     2,     9,          10,     255,
                                                  256, 65535, 65536, 1ull << 40, max_u64};
    for (std::size_t i = 1; i < ascending.size(); ++i)
        EXPECT_TRUE(bytewise_less(sequence_key(ascending[i - 1]), sequence_key(ascending[i])))
            << ascending[i - 1] << " vs " << ascending[i];
}

// --- stored versions -------------------------------------------------------------------------------------

TEST(EncodeVersion, FollowsTheFormat1Layout)
{
    stored_version v;
    v.version = 2;
    v.updated_at = 1;
    v.deleted = true;
    v.type = "t";
    v.status = "s";
    v.updated_by = "u";
    v.changed = {"a"};
    v.body = "{}";
    // format | flags | version | updated_at | type | status | updated_by | count | changed[0] | body
    EXPECT_EQ(hex(encode_version(v), {1, 1, 8, 8, 3, 3, 3, 2, 3}),
              "01 01 0000000000000002 0000000000000001 000174 000173 000175 0001 000161 7b7d");
}

TEST(EncodeVersion, LiveVersionHasNoFlags)
{
    stored_version v;
    v.version = 1;
    EXPECT_EQ(hex(encode_version(v), {1, 1, 8, 8, 2, 2, 2, 2}),
              "01 00 0000000000000001 0000000000000000 0000 0000 0000 0000");
}

TEST(DecodeVersion, RoundTripsWithBody)
{
    const stored_version v = sample_version();
    const auto decoded = decode_version(encode_version(v));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, v);
}

TEST(DecodeVersion, RoundTripsATombstone)
{
    stored_version v = sample_version();
    v.deleted = true;
    v.changed.clear();
    const auto decoded = decode_version(encode_version(v));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, v);
}

TEST(DecodeVersion, RoundTripsEmptyFields)
{
    const stored_version v;
    const auto decoded = decode_version(encode_version(v));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, v);
}

TEST(DecodeVersion, RoundTripsANegativeTimeAndTheLargestVersion)
{
    stored_version v = sample_version();
    v.updated_at = -2208988800000;
    v.version = max_u64;
    const auto decoded = decode_version(encode_version(v));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, v);
}

TEST(DecodeVersion, BodyMayContainAnyBytes)
{
    stored_version v = sample_version();
    v.body = std::string("\0\x01\xff{\"a\":\"\xc3\xa9\"}", 14);
    const auto decoded = decode_version(encode_version(v));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(hex(decoded->body), hex(v.body));
}

TEST(DecodeVersion, WithoutBodyLeavesTheBodyEmpty)
{
    const stored_version v = sample_version();
    const auto decoded = decode_version(encode_version(v), false);
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, sample_version(false));
}

TEST(DecodeVersion, RejectsAnotherFormatByte)
{
    for (const char format : {'\x00', '\x02', '\xff'})
    {
        std::string bytes = encode_version(sample_version());
        bytes[0] = format;
        EXPECT_EQ(decode_version(bytes), std::nullopt)
            << "format " << int(static_cast<unsigned char>(format));
        EXPECT_EQ(decode_version(bytes, false), std::nullopt);
        EXPECT_EQ(decode_version_head(bytes), std::nullopt);
    }
}

TEST(DecodeVersion, RejectsAStringLengthThatRunsPastTheEnd)
{
    std::string bytes = encode_version(sample_version(false));
    // The type's length field follows format, flags, version and updated_at.
    bytes[18] = '\x7f';
    bytes[19] = '\xff';
    EXPECT_EQ(decode_version(exact_copy(bytes).view()), std::nullopt);
}

TEST(DecodeVersion, RejectsAChangedCountThatRunsPastTheEnd)
{
    stored_version v = sample_version(false);
    v.changed.clear();
    std::string bytes = encode_version(v);
    // No body: the count is the last two bytes.
    bytes[bytes.size() - 2] = '\xff';
    bytes[bytes.size() - 1] = '\xff';
    EXPECT_EQ(decode_version(exact_copy(bytes).view()), std::nullopt);
}

TEST(DecodeVersion, EveryTruncationIsNothingOrAConsistentPrefix)
{
    const stored_version v = sample_version();
    const std::string bytes = encode_version(v);
    const std::size_t header_size = bytes.size() - v.body.size();
    for (std::size_t n = 0; n < bytes.size(); ++n)
    {
        const exact_copy prefix(std::string_view(bytes).substr(0, n));
        for (const bool with_body : {true, false})
        {
            const auto decoded = decode_version(prefix.view(), with_body);
            if (n < header_size)
            {
                EXPECT_EQ(decoded, std::nullopt) << n << " of " << bytes.size() << " bytes";
                continue;
            }
            // Only the body, the rest of the value, can be cut short without the layout noticing.
            ASSERT_TRUE(decoded.has_value()) << n << " of " << bytes.size() << " bytes";
            stored_version expected = v;
            expected.body = with_body ? v.body.substr(0, n - header_size) : "";
            expect_same(*decoded, expected);
        }
    }
}

TEST(DecodeVersion, EveryTruncationOfAValueWithoutBodyIsNothing)
{
    const std::string bytes = encode_version(sample_version(false));
    for (std::size_t n = 0; n < bytes.size(); ++n)
        EXPECT_EQ(decode_version(exact_copy(std::string_view(bytes).substr(0, n)).view()), std::nullopt)
            << n << " of " << bytes.size() << " bytes";
}

TEST(DecodeVersionHead, ReadsVersionAndDeletedFlag)
{
    stored_version v = sample_version();
    auto head = decode_version_head(encode_version(v));
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->version, 7u);
    EXPECT_FALSE(head->deleted);

    v.deleted = true;
    v.version = 8;
    head = decode_version_head(encode_version(v));
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->version, 8u);
    EXPECT_TRUE(head->deleted);
}

TEST(DecodeVersionHead, EveryTruncationIsNothingOrTheRightHead)
{
    const std::string bytes = encode_version(sample_version());
    for (std::size_t n = 0; n < bytes.size(); ++n)
    {
        const exact_copy prefix(std::string_view(bytes).substr(0, n));
        const auto head = decode_version_head(prefix.view());
        if (n < 10)
        {
            EXPECT_EQ(head, std::nullopt) << n << " bytes";
            continue;
        }
        ASSERT_TRUE(head.has_value()) << n << " bytes";
        EXPECT_EQ(head->version, 7u);
        EXPECT_FALSE(head->deleted);
    }
}

// --- events ----------------------------------------------------------------------------------------------

TEST(EncodeEvent, IsTheJsonObjectOfTheHeader)
{
    event_draft e;
    e.name = "request.created";
    e.id = "req_01";
    e.type = "request";
    e.version = 1;
    e.status = "pending";
    e.at = 784111777123;
    const auto encoded = boost::json::parse(encode_event(e, 42));
    EXPECT_EQ(encoded,
              boost::json::parse(R"({"seq":42,"event":"request.created","id":"req_01","type":"request",)"
                                 R"("version":1,"status":"pending","at":"1994-11-06T08:49:37.123Z"})"))
        << encoded;
}

TEST(EncodeEvent, StatusChangeCarriesFrom)
{
    event_draft e;
    e.name = "request.status_changed";
    e.id = "req_01";
    e.type = "request";
    e.version = 3;
    e.status = "active";
    e.from_status = "pending";
    e.at = 0;
    const auto encoded = boost::json::parse(encode_event(e, 7));
    EXPECT_EQ(encoded,
              boost::json::parse(R"({"seq":7,"event":"request.status_changed","id":"req_01",)"
                                 R"("type":"request","version":3,"status":"active","from":"pending",)"
                                 R"("at":"1970-01-01T00:00:00.000Z"})"))
        << encoded;
}

TEST(EncodeEvent, KeepsTheLargestSequenceNumberExact)
{
    event_draft e;
    e.name = "request.deleted";
    e.id = "req_01";
    const auto encoded = boost::json::parse(encode_event(e, max_u64));
    ASSERT_TRUE(encoded.at("seq").is_uint64()) << encoded;
    EXPECT_EQ(encoded.at("seq").as_uint64(), max_u64);
}

TEST(EncodeEvent, EscapesStringsAsJson)
{
    event_draft e;
    e.name = "request.updated";
    e.id = "req_\"quoted\"";
    e.type = "a\\b";
    e.status = "line\nbreak";
    const auto encoded = boost::json::parse(encode_event(e, 1));
    EXPECT_EQ(encoded.at("id"), "req_\"quoted\"");
    EXPECT_EQ(encoded.at("type"), "a\\b");
    EXPECT_EQ(encoded.at("status"), "line\nbreak");
}

} // namespace
