// The sealing of webhook secrets at rest (hooks/secret_box): what is stored reveals nothing, opens
// only under its key and for its subscription, and a damaged value never opens.
#include <reqstore/hooks/secret_box.hpp>

#include <gtest/gtest.h>

namespace reqstore::hooks
{
namespace
{

constexpr std::string_view key_a = "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=";
constexpr std::string_view key_b = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr std::string_view secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(SecretBox, SealedSecretOpensOnlyUnderItsKeyAndForItsSubscription)
{
    const auto a = secret_box::from_base64(key_a);
    const auto b = secret_box::from_base64(key_b);
    ASSERT_TRUE(a && b);
    const std::string sealed = a->seal(secret, "whk_1");
    EXPECT_TRUE(secret_box::is_sealed(sealed));
    EXPECT_EQ(sealed.find("whsec_"), std::string::npos);
    EXPECT_EQ(sealed.find("MfKQ9r8G"), std::string::npos);
    EXPECT_EQ(a->open(sealed, "whk_1"), std::optional<std::string>(secret));
    EXPECT_FALSE(a->open(sealed, "whk_2")) << "opened for another subscription";
    EXPECT_FALSE(b->open(sealed, "whk_1")) << "opened under another key";
}

TEST(SecretBox, EverySealUsesAFreshNonce)
{
    const auto a = secret_box::from_base64(key_a);
    EXPECT_NE(a->seal(secret, "whk_1"), a->seal(secret, "whk_1"));
}

TEST(SecretBox, ADamagedSealedValueNeverOpens)
{
    const auto a = secret_box::from_base64(key_a);
    const std::string sealed = a->seal(secret, "whk_1");
    const std::size_t prefix = std::string_view("sealed:v1:").size();
    for (std::size_t i = prefix; i < sealed.size() - 2; ++i)
    {
        std::string damaged = sealed;
        damaged[i] = damaged[i] == 'A' ? 'B' : 'A';
        EXPECT_FALSE(a->open(damaged, "whk_1")) << "position " << i;
    }
    EXPECT_FALSE(a->open(sealed.substr(0, sealed.size() - 4), "whk_1"));
    EXPECT_FALSE(a->open("sealed:v1:", "whk_1"));
    EXPECT_FALSE(a->open("sealed:v1:not base64", "whk_1"));
}

TEST(SecretBox, AValueStoredBeforeSealingIsReadAsItIs)
{
    const auto a = secret_box::from_base64(key_a);
    EXPECT_FALSE(secret_box::is_sealed(secret));
    EXPECT_EQ(a->open(secret, "whk_1"), std::optional<std::string>(secret));
}

TEST(SecretBox, TheKeyMustBeTheBase64OfThirtyTwoBytes)
{
    EXPECT_FALSE(secret_box::from_base64(""));
    EXPECT_FALSE(secret_box::from_base64("c2hvcnQ="));
    EXPECT_FALSE(secret_box::from_base64("not base64 at all"));
    EXPECT_FALSE(secret_box::from_base64("cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXkx")); // 33 bytes
}

} // namespace
} // namespace reqstore::hooks
