// Unit tests for Standard Webhooks secrets and signatures (API.md section 6), starting from the
// specification's own test vector.
#include <reqstore/hooks/signer.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace
{

using reqstore::hooks::decode_secret;
using reqstore::hooks::generate_secret;
using reqstore::hooks::sign;
using reqstore::hooks::verify;

// The vector every Standard Webhooks library checks its sign() against (standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go TestWebhookSign and libraries/javascript/src/webhook.test.ts "sign function
// works").
constexpr std::string_view vector_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view vector_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t vector_timestamp = 1614265330;
constexpr std::string_view vector_body = R"({"test": 2432232314})";
constexpr std::string_view vector_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::vector<unsigned char> key_of(std::string_view secret)
{
    auto key = decode_secret(secret);
    if (!key)
        throw std::runtime_error("not a secret: " + std::string(secret));
    return *key;
}

// --- the specification's vector ----------------------------------------------------------------------------

TEST(StandardWebhooksVector, SignProducesTheSpecificationsSignature)
{
    EXPECT_EQ(sign(key_of(vector_secret), vector_id, vector_timestamp, vector_body), vector_signature);
}

TEST(StandardWebhooksVector, VerifyAcceptsTheSpecificationsSignature)
{
    EXPECT_TRUE(verify(key_of(vector_secret), vector_id, "1614265330", vector_body, vector_signature));
}

TEST(StandardWebhooksVector, SecretDecodesToTwentyFourBytes)
{
    EXPECT_EQ(key_of(vector_secret).size(), 24u);
}

// --- verify ------------------------------------------------------------------------------------------------

TEST(SignatureVerify, AcceptsTheValidEntryAmongSeveralSpaceSeparatedOnes)
{
    // The multi-signature case of the libraries' tests: wrong v1, unknown v2, the valid one, wrong v1.
    const std::string header = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
                               "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " +
                               std::string(vector_signature) +
                               " v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    EXPECT_TRUE(verify(key_of(vector_secret), vector_id, "1614265330", vector_body, header));
}

TEST(SignatureVerify, AcceptsASignatureMadeWithTheSecondOfTwoKeysDuringRotation)
{
    const auto old_key = key_of(generate_secret());
    const auto new_key = key_of(generate_secret());
    const std::string header =
        sign(old_key, "msg_1", 1700000000, "{}") + " " + sign(new_key, "msg_1", 1700000000, "{}");
    EXPECT_TRUE(verify(new_key, "msg_1", "1700000000", "{}", header));
    EXPECT_TRUE(verify(old_key, "msg_1", "1700000000", "{}", header));
}

TEST(SignatureVerify, RejectsAWrongKey)
{
    const auto other = key_of(generate_secret());
    EXPECT_FALSE(verify(other, vector_id, "1614265330", vector_body, vector_signature));
}

TEST(SignatureVerify, RejectsAnotherId)
{
    EXPECT_FALSE(verify(key_of(vector_secret), "msg_p5jXN8AQM9LWM0D4loKWxJel", "1614265330", vector_body,
                        vector_signature));
}

TEST(SignatureVerify, RejectsAnotherTimestamp)
{
    EXPECT_FALSE(verify(key_of(vector_secret), vector_id, "1614265331", vector_body, vector_signature));
}

TEST(SignatureVerify, RejectsAnotherBody)
{
    EXPECT_FALSE(
        verify(key_of(vector_secret), vector_id, "1614265330", R"({"test": 2432232315})", vector_signature));
    EXPECT_FALSE(
        verify(key_of(vector_secret), vector_id, "1614265330", R"({"test":2432232314})", vector_signature));
}

TEST(SignatureVerify, RejectsTheRightSignatureUnderAnotherVersionTag)
{
    std::string v2(vector_signature);
    v2[1] = '2';
    EXPECT_FALSE(verify(key_of(vector_secret), vector_id, "1614265330", vector_body, v2));
}

TEST(SignatureVerify, RejectsEmptyPartialAndGarbageHeaders)
{
    const auto key = key_of(vector_secret);
    for (std::string_view header :
         {"", " ", "v1,", "v1,g0hM9SsE", "v1,dawfeoifkpqwoekfpqoekf",
          "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1, g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="})
        EXPECT_FALSE(verify(key, vector_id, "1614265330", vector_body, header)) << '"' << header << '"';
}

TEST(SignatureVerify, ToleratesRepeatedSpacesBetweenEntries)
{
    const std::string header =
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=  " + std::string(vector_signature) + " ";
    EXPECT_TRUE(verify(key_of(vector_secret), vector_id, "1614265330", vector_body, header));
}

TEST(SignatureVerify, RejectsATimestampThatIsNotDigitsEvenWhenSignedSo)
{
    // "msg.1" + "2" and "msg" + "1.2" sign the same bytes: such headers must never verify.
    const auto key = key_of(vector_secret);
    EXPECT_FALSE(verify(key, "msg", "hello", "{}", "v1,AAAA"));
    EXPECT_FALSE(verify(key, "msg", "", "{}", "v1,AAAA"));
    const std::string forged = sign(key, "msg.1", 2, "{}");
    EXPECT_FALSE(verify(key, "msg", "1.2", "{}", forged));
    EXPECT_FALSE(verify(key, "msg.1", "2", "{}", forged));
}

TEST(SignatureVerify, RejectsAnEmptyId)
{
    const auto key = key_of(vector_secret);
    EXPECT_FALSE(verify(key, "", "1614265330", vector_body, sign(key, "", vector_timestamp, vector_body)));
}

// --- round trips -------------------------------------------------------------------------------------------

TEST(SignatureRoundTrip, SignThenVerifyHoldsForEmptyLargeAndBinaryBodies)
{
    const auto key = key_of(generate_secret());
    std::string binary;
    for (int i = 0; i < 256; ++i)
        binary.push_back(static_cast<char>(i));
    for (const std::string& body : {std::string(), std::string(1 << 20, 'x'), binary})
    {
        const std::string signature = sign(key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, body);
        EXPECT_TRUE(signature.starts_with("v1,"));
        EXPECT_EQ(signature.size(), 3u + 44u); // base64 of 32 bytes
        EXPECT_TRUE(verify(key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231", body, signature));
    }
}

TEST(SignatureRoundTrip, SignIsDeterministic)
{
    const auto key = key_of(vector_secret);
    EXPECT_EQ(sign(key, "a", 1, "b"), sign(key, "a", 1, "b"));
    EXPECT_NE(sign(key, "a", 1, "b"), sign(key, "a", 1, "c"));
}

// --- secrets -----------------------------------------------------------------------------------------------

TEST(GenerateSecret, IsWhsecAndBase64OfThirtyTwoRandomBytes)
{
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i)
    {
        const std::string secret = generate_secret();
        ASSERT_TRUE(secret.starts_with("whsec_")) << secret;
        EXPECT_EQ(secret.size(), 6u + 44u) << secret;
        auto key = decode_secret(secret);
        ASSERT_TRUE(key) << secret;
        EXPECT_EQ(key->size(), 32u);
        seen.insert(secret);
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST(DecodeSecret, AcceptsPaddedBase64AndStripsThePadding)
{
    // 16 bytes (two '=') and 17 bytes (one '=').
    auto sixteen = decode_secret("whsec_AAECAwQFBgcICQoLDA0ODw==");
    ASSERT_TRUE(sixteen);
    EXPECT_EQ(*sixteen, (std::vector<unsigned char>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
    auto seventeen = decode_secret("whsec_AAECAwQFBgcICQoLDA0ODxA=");
    ASSERT_TRUE(seventeen);
    EXPECT_EQ(seventeen->size(), 17u);
    EXPECT_EQ(seventeen->back(), 16);
}

TEST(DecodeSecret, RejectsMalformedSecrets)
{
    for (std::string_view secret : {
             "",
             "whsec_",
             "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        // no prefix
             "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  // prefix in the wrong case
             "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",   // an asymmetric secret key
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   // length not a multiple of 4
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",  // not base64
             "whsec_MfKQ9r8GKYqrTwjUPD8I-PZIo2LaLaSw",  // base64url, not base64
             "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  // a blank EVP_DecodeBlock would skip
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", // a trailing blank
             "whsec_MfKQ9r8GKYqrTwjU=D8ILPZIo2LaLaSw",  // padding in the middle
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa==",  // stray bits before the padding
             "whsec_AAECAwQFBgcICQoLDA0O",              // 15 bytes: too short
             "whsec_====",
         })
        EXPECT_FALSE(decode_secret(secret)) << '"' << secret << '"';
}

TEST(DecodeSecret, BoundsTheKeyAtOneHundredTwentyEightBytes)
{
    const std::string over_limit(172, 'A'); // 129 bytes
    EXPECT_FALSE(decode_secret("whsec_" + over_limit));
    const std::string max = std::string(168, 'A') + "AAA="; // 128 bytes
    auto key = decode_secret("whsec_" + max);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->size(), 128u);
}

} // namespace
