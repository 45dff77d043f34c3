// Unit tests for the byte formats of scheduled transitions and idempotency entries: `timers` keys (keys.hpp)
// and stored idempotent answers (codec.hpp).
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>

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

using reqstore::core::idempotency_entry;
using reqstore::store::append_be64;
using reqstore::store::decode_idempotency;
using reqstore::store::encode_idempotency;
using reqstore::store::parse_timer_key;
using reqstore::store::timer_key_bytes;

using reqstore::test::bytewise_less;
using reqstore::test::hex;

// A heap copy of exactly `bytes.size()` bytes, so that a read past its end is a read of memory the decoder
// does not own (reported by a sanitizer build).
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

// --- timer keys ------------------------------------------------------------------------------------------

TEST(TimerKey, IsBigEndianDueThenId)
{
    EXPECT_EQ(hex(timer_key_bytes(0x0102, "req_A"), {8}), "0000000000000102 7265715f41");
    EXPECT_EQ(hex(timer_key_bytes(1577836800000, "1"), {8}), "0000016f5e66e800 31");
}

TEST(TimerKey, RoundTrips)
{
    for (const std::int64_t due : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1577836800000},
                                   std::int64_t{32503680000000}, std::numeric_limits<std::int64_t>::max()})
        for (const std::string_view id :
             {"req_01ARZ3NDEKTSV4RRFFQ69G5FAV", "1", "f47ac10b-58cc-4372-a567-0e02b2c3d479"})
        {
            const std::string key = timer_key_bytes(due, id);
            const auto parts = parse_timer_key(key);
            ASSERT_TRUE(parts.has_value()) << due << " " << id;
            EXPECT_EQ(parts->due, due);
            EXPECT_EQ(parts->id, id);
        }
}

TEST(TimerKey, OrdersByDueTimeFirst)
{
    const std::vector<std::int64_t> ascending = {0,
                                                 1,
                                                 255,
                                                 256,
                                                 65536,
                                                 1ll << 40,
                                                 1577836800000,
                                                 1577836800001,
                                                 std::numeric_limits<std::int64_t>::max()};
    for (std::size_t i = 1; i < ascending.size(); ++i)
    {
        // An earlier timer sorts first whatever the ids.
        EXPECT_TRUE(
            bytewise_less(timer_key_bytes(ascending[i - 1], "zzzz"), timer_key_bytes(ascending[i], "a")))
            << ascending[i - 1] << " vs " << ascending[i];
        EXPECT_TRUE(
            bytewise_less(timer_key_bytes(ascending[i - 1], "a"), timer_key_bytes(ascending[i], "a")));
    }
}

TEST(TimerKey, TimersDueAtTheSameTimeOrderById)
{
    EXPECT_TRUE(bytewise_less(timer_key_bytes(1000, "req_A"), timer_key_bytes(1000, "req_B")));
    EXPECT_TRUE(bytewise_less(timer_key_bytes(1000, "req_A"), timer_key_bytes(1000, "req_AA")));
    EXPECT_NE(timer_key_bytes(1000, "req_A"), timer_key_bytes(1000, "req_B"));
}

TEST(ParseTimerKey, RejectsKeysWithoutAnId)
{
    EXPECT_EQ(parse_timer_key(""), std::nullopt);
    EXPECT_EQ(parse_timer_key(std::string_view("\0\0\0\0\0\0\0", 7)), std::nullopt);
    EXPECT_EQ(parse_timer_key(std::string_view("\0\0\0\0\0\0\0\x01", 8)), std::nullopt);
}

TEST(ParseTimerKey, RejectsADueTimePastTheLargestSignedValue)
{
    std::string key;
    append_be64(key, 0x8000000000000000ull);
    key += "req_A";
    EXPECT_EQ(parse_timer_key(key), std::nullopt);
}

TEST(ParseTimerKey, EveryTruncationIsNothingOrAShorterId)
{
    const std::string key = timer_key_bytes(1577836800000, "req_A");
    for (std::size_t n = 0; n < key.size(); ++n)
    {
        const exact_copy prefix(std::string_view(key).substr(0, n));
        const auto parts = parse_timer_key(prefix.view());
        if (n <= 8)
            EXPECT_EQ(parts, std::nullopt) << n << " bytes";
        else
        {
            ASSERT_TRUE(parts.has_value()) << n << " bytes";
            EXPECT_EQ(parts->due, 1577836800000);
            EXPECT_EQ(parts->id, std::string_view("req_A").substr(0, n - 8));
        }
    }
}

// --- idempotency entries ---------------------------------------------------------------------------------

idempotency_entry sample_entry()
{
    idempotency_entry e;
    e.key = "dev:abc";
    e.fingerprint = "POST /v1/requests sha256:0f1e";
    e.created_at = 1795322791991;
    e.answer = R"({"status":201,"content_type":"application/json","headers":[],"body":"{}"})";
    return e;
}

void expect_same(const idempotency_entry& actual, const idempotency_entry& expected)
{
    EXPECT_EQ(actual.key, expected.key);
    EXPECT_EQ(actual.fingerprint, expected.fingerprint);
    EXPECT_EQ(actual.created_at, expected.created_at);
    EXPECT_EQ(actual.answer, expected.answer);
}

TEST(EncodeIdempotency, FollowsTheFormat1Layout)
{
    const idempotency_entry e{.key = "not stored", .fingerprint = "fp", .created_at = 1, .answer = "A"};
    // format | created_at | fingerprint length | fingerprint | answer
    EXPECT_EQ(hex(encode_idempotency(e), {1, 8, 2, 2}), "01 0000000000000001 0002 6670 41");
}

TEST(DecodeIdempotency, RoundTripsAndTakesTheKeyFromTheCaller)
{
    const idempotency_entry e = sample_entry();
    const auto decoded = decode_idempotency(e.key, encode_idempotency(e));
    ASSERT_TRUE(decoded.has_value());
    expect_same(*decoded, e);
    const auto other_key = decode_idempotency("other", encode_idempotency(e));
    ASSERT_TRUE(other_key.has_value());
    EXPECT_EQ(other_key->key, "other");
}

TEST(DecodeIdempotency, RoundTripsEmptyFieldsAndAnyBytes)
{
    idempotency_entry e;
    e.key = "k";
    const auto empty = decode_idempotency("k", encode_idempotency(e));
    ASSERT_TRUE(empty.has_value());
    expect_same(*empty, e);

    e.fingerprint = std::string("\0\xff\n", 3);
    e.answer = std::string("\0\x01\"quoted\"\n\xc3\xa9", 14);
    e.created_at = -1;
    const auto binary = decode_idempotency("k", encode_idempotency(e));
    ASSERT_TRUE(binary.has_value());
    expect_same(*binary, e);
}

TEST(DecodeIdempotency, RejectsAnotherFormatByte)
{
    for (const char format : {'\x00', '\x02', '\xff'})
    {
        std::string bytes = encode_idempotency(sample_entry());
        bytes[0] = format;
        EXPECT_EQ(decode_idempotency("k", bytes), std::nullopt) << int(static_cast<unsigned char>(format));
    }
}

TEST(DecodeIdempotency, RejectsAFingerprintLengthThatRunsPastTheEnd)
{
    std::string bytes = encode_idempotency(sample_entry());
    bytes[9] = '\x7f'; // the fingerprint's length follows format and created_at
    bytes[10] = '\xff';
    EXPECT_EQ(decode_idempotency("k", exact_copy(bytes).view()), std::nullopt);
}

TEST(DecodeIdempotency, EveryTruncationIsNothingOrAShorterAnswer)
{
    const idempotency_entry e = sample_entry();
    const std::string bytes = encode_idempotency(e);
    const std::size_t header_size = bytes.size() - e.answer.size();
    for (std::size_t n = 0; n < bytes.size(); ++n)
    {
        const exact_copy prefix(std::string_view(bytes).substr(0, n));
        const auto decoded = decode_idempotency(e.key, prefix.view());
        if (n < header_size)
        {
            EXPECT_EQ(decoded, std::nullopt) << n << " of " << bytes.size() << " bytes";
            continue;
        }
        // Only the answer, the rest of the value, can be cut short without the layout noticing.
        ASSERT_TRUE(decoded.has_value()) << n << " of " << bytes.size() << " bytes";
        idempotency_entry expected = e;
        expected.answer = e.answer.substr(0, n - header_size);
        expect_same(*decoded, expected);
    }
}

} // namespace
