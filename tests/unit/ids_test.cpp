// Unit tests for record ids: the three formats of docs/API.md ("Records and ids"), generated and checked.
#include <reqstore/core/ids.hpp>
#include <reqstore/core/time.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

namespace
{

using reqstore::core::generate_id;
using reqstore::core::id_fits;
using reqstore::core::id_format;
using reqstore::core::now_millis;
using reqstore::core::unix_millis;

constexpr std::string_view crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Decodes Crockford base32 digits (upper case, as generated) into a number.
std::uint64_t crockford_value(std::string_view digits)
{
    std::uint64_t v = 0;
    for (char c : digits)
        v = v * 32 + crockford.find(c);
    return v;
}

// The first 48 bits of a UUID: its Unix millisecond timestamp in version 7.
std::uint64_t uuid_v7_millis(std::string_view uuid)
{
    std::string hex(uuid.substr(0, 8));
    hex += uuid.substr(9, 4);
    return std::stoull(hex, nullptr, 16);
}

// --- generate_id -----------------------------------------------------------------------------------------

TEST(GenerateId, PrefixedIdIsPrefixAndTwentyCrockfordCharacters)
{
    const std::string id = generate_id(id_format::prefixed, "req_");
    ASSERT_EQ(id.size(), 24u) << id;
    EXPECT_EQ(id.substr(0, 4), "req_");
    for (char c : id.substr(4))
        EXPECT_NE(crockford.find(c), std::string_view::npos) << "'" << c << "' in " << id;
    EXPECT_TRUE(id_fits(id_format::prefixed, "req_", id)) << id;
}

TEST(GenerateId, PrefixedIdStartsWithItsCreationMillisecond)
{
    const unix_millis before = now_millis();
    const std::string id = generate_id(id_format::prefixed, "drq_");
    const unix_millis after = now_millis();
    const auto stamped = static_cast<unix_millis>(crockford_value(std::string_view(id).substr(4, 10)));
    EXPECT_GE(stamped, before) << id;
    EXPECT_LE(stamped, after) << id;
}

TEST(GenerateId, PrefixedIdsSortByCreationTimeAcrossMilliseconds)
{
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i)
    {
        ids.push_back(generate_id(id_format::prefixed, "req_"));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (std::size_t i = 1; i < ids.size(); ++i)
        EXPECT_LT(ids[i - 1], ids[i]) << "id " << i << " sorts before the one created before it";
}

TEST(GenerateId, PrefixedIdWorksWithAnyPrefix)
{
    EXPECT_TRUE(id_fits(id_format::prefixed, "", generate_id(id_format::prefixed, "")));
    EXPECT_TRUE(id_fits(id_format::prefixed, "ticket-", generate_id(id_format::prefixed, "ticket-")));
}

TEST(GenerateId, UuidIsLowerCaseVersion7WithVariant10)
{
    const std::string id = generate_id(id_format::uuid, "");
    ASSERT_EQ(id.size(), 36u) << id;
    for (std::size_t i = 0; i < id.size(); ++i)
    {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            EXPECT_EQ(id[i], '-') << id;
        else
            EXPECT_NE(std::string_view("0123456789abcdef").find(id[i]), std::string_view::npos)
                << "'" << id[i] << "' in " << id;
    }
    EXPECT_EQ(id[14], '7') << "version nibble of " << id;
    EXPECT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << "variant bits of " << id;
    EXPECT_TRUE(id_fits(id_format::uuid, "", id)) << id;
}

TEST(GenerateId, UuidCarriesItsCreationMillisecond)
{
    const unix_millis before = now_millis();
    const std::string id = generate_id(id_format::uuid, "");
    const unix_millis after = now_millis();
    const auto stamped = static_cast<unix_millis>(uuid_v7_millis(id));
    EXPECT_GE(stamped, before) << id;
    EXPECT_LE(stamped, after) << id;
}

TEST(GenerateId, EveryUuidHasVersion7AndVariant10)
{
    for (int i = 0; i < 1000; ++i)
    {
        const std::string id = generate_id(id_format::uuid, "");
        ASSERT_EQ(id[14], '7') << id;
        ASSERT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << id;
    }
}

TEST(GenerateId, NumericIdIsDecimalWithoutLeadingZero)
{
    const std::string id = generate_id(id_format::numeric, "");
    ASSERT_FALSE(id.empty());
    EXPECT_LE(id.size(), 19u) << id;
    EXPECT_NE(id[0], '0') << id;
    for (char c : id)
        EXPECT_TRUE(c >= '0' && c <= '9') << id;
    EXPECT_TRUE(id_fits(id_format::numeric, "", id)) << id;
}

TEST(GenerateId, EveryGeneratedIdFitsItsFormat)
{
    for (int i = 0; i < 1000; ++i)
    {
        const std::string prefixed = generate_id(id_format::prefixed, "req_");
        const std::string uuid = generate_id(id_format::uuid, "");
        const std::string numeric = generate_id(id_format::numeric, "");
        ASSERT_TRUE(id_fits(id_format::prefixed, "req_", prefixed)) << prefixed;
        ASSERT_TRUE(id_fits(id_format::uuid, "", uuid)) << uuid;
        ASSERT_TRUE(id_fits(id_format::numeric, "", numeric)) << numeric;
    }
}

// Generates `count` ids back to back and returns how many were already generated before.
std::size_t duplicates_among(std::size_t count, id_format format, std::string_view prefix)
{
    std::unordered_set<std::string> seen;
    std::size_t duplicates = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (!seen.insert(generate_id(format, prefix)).second)
            ++duplicates;
    return duplicates;
}

TEST(GenerateId, TenThousandPrefixedIdsAreUnique)
{
    EXPECT_EQ(duplicates_among(10'000, id_format::prefixed, "req_"), 0u);
}

TEST(GenerateId, TenThousandUuidsAreUnique)
{
    EXPECT_EQ(duplicates_among(10'000, id_format::uuid, ""), 0u);
}

TEST(GenerateId, TenThousandNumericIdsAreUnique)
{
    EXPECT_EQ(duplicates_among(10'000, id_format::numeric, ""), 0u);
}

TEST(GenerateId, IdsGeneratedOnManyThreadsAreUnique)
{
    constexpr int threads = 4;
    constexpr int per_thread = 2500;
    for (const id_format format : {id_format::prefixed, id_format::uuid, id_format::numeric})
    {
        std::vector<std::vector<std::string>> made(threads);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back(
                [&made, t, format]
                {
                    for (int i = 0; i < per_thread; ++i)
                        made[static_cast<std::size_t>(t)].push_back(generate_id(format, "req_"));
                });
        for (auto& w : workers)
            w.join();
        std::unordered_set<std::string> seen;
        for (const auto& ids : made)
            seen.insert(ids.begin(), ids.end());
        EXPECT_EQ(seen.size(), static_cast<std::size_t>(threads * per_thread))
            << "format " << static_cast<int>(format);
    }
}

// --- id_fits: prefixed -----------------------------------------------------------------------------------

TEST(IdFitsPrefixed, AcceptsPrefixAndEighteenCrockfordCharacters)
{
    EXPECT_TRUE(id_fits(id_format::prefixed, "drq_", "drq_000000000000000001"));
}

TEST(IdFitsPrefixed, AcceptsAUlidAfterThePrefix)
{
    EXPECT_TRUE(id_fits(id_format::prefixed, "drq_", "drq_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    EXPECT_TRUE(id_fits(id_format::prefixed, "", "01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

TEST(IdFitsPrefixed, AcceptsSixteenToTwentySixCharacters)
{
    EXPECT_TRUE(id_fits(id_format::prefixed, "req_", "req_" + std::string(16, 'Z')));
    EXPECT_TRUE(id_fits(id_format::prefixed, "req_", "req_" + std::string(20, '0')));
    EXPECT_TRUE(id_fits(id_format::prefixed, "req_", "req_" + std::string(26, '7')));
}

TEST(IdFitsPrefixed, RejectsFifteenAndTwentySevenCharacters)
{
    EXPECT_FALSE(id_fits(id_format::prefixed, "req_", "req_" + std::string(15, '0')));
    EXPECT_FALSE(id_fits(id_format::prefixed, "req_", "req_" + std::string(27, '0')));
    EXPECT_FALSE(id_fits(id_format::prefixed, "req_", "req_"));
}

TEST(IdFitsPrefixed, RejectsLowerCase)
{
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "drq_01arz3ndektsv4rrffq69g5fav"));
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "drq_00000000000000000a"));
}

TEST(IdFitsPrefixed, RejectsLettersOutsideCrockfordBase32)
{
    for (const char letter : {'I', 'L', 'O', 'U'})
    {
        std::string id = "drq_000000000000000001";
        id.back() = letter;
        EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", id)) << id;
    }
}

TEST(IdFitsPrefixed, RejectsPunctuationAndSpaces)
{
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "drq_00000000000000000-"));
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "drq_00000000000000000 "));
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", std::string("drq_00000000000000000\0", 22)));
}

TEST(IdFitsPrefixed, RejectsAWrongOrMissingPrefix)
{
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "req_000000000000000001"));
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "DRQ_000000000000000001"));
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "000000000000000001"));
    EXPECT_FALSE(id_fits(id_format::prefixed, "drq_", "drq000000000000000001"));
}

// --- id_fits: uuid ---------------------------------------------------------------------------------------

TEST(IdFitsUuid, AcceptsAnyRfc9562Uuid)
{
    EXPECT_TRUE(id_fits(id_format::uuid, "", "01890a5d-ac96-774b-bcce-b302099a8057")); // v7
    EXPECT_TRUE(id_fits(id_format::uuid, "", "f47ac10b-58cc-4372-a567-0e02b2c3d479")); // v4
    EXPECT_TRUE(id_fits(id_format::uuid, "", "c232ab00-9414-11ec-b3c8-9f6bdeced846")); // v1
}

TEST(IdFitsUuid, RejectsUpperCaseSoThatOneUuidNamesOneRecord)
{
    EXPECT_FALSE(id_fits(id_format::uuid, "", "F47AC10B-58CC-4372-A567-0E02B2C3D479"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "f47ac10b-58cc-4372-a567-0e02b2c3d47F"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "01890A5D-ac96-774b-bcce-b302099a8057"));
}

TEST(IdFitsUuid, RejectsOtherShapes)
{
    EXPECT_FALSE(id_fits(id_format::uuid, "", "f47ac10b58cc4372a5670e02b2c3d479"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "f47ac10b-58cc-4372-a567-0e02b2c3d47"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "f47ac10b-58cc-4372-a567-0e02b2c3d4799"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "f47ac10b-58cc-4372-a567-0e02b2c3d47g"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "f47ac10b-58cc-4372-a5670-e02b2c3d479"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", "{f47ac10b-58cc-4372-a567-0e02b2c3d479}"));
    EXPECT_FALSE(id_fits(id_format::uuid, "", ""));
}

// --- id_fits: numeric ------------------------------------------------------------------------------------

TEST(IdFitsNumeric, AcceptsOneToNineteenDigits)
{
    EXPECT_TRUE(id_fits(id_format::numeric, "", "1"));
    EXPECT_TRUE(id_fits(id_format::numeric, "", "42"));
    EXPECT_TRUE(id_fits(id_format::numeric, "", "9223372036854775807"));
    EXPECT_TRUE(id_fits(id_format::numeric, "", "1000000000000000000"));
}

TEST(IdFitsNumeric, RejectsTwentyDigits)
{
    EXPECT_FALSE(id_fits(id_format::numeric, "", "10000000000000000000"));
}

TEST(IdFitsNumeric, RejectsALeadingZero)
{
    EXPECT_FALSE(id_fits(id_format::numeric, "", "01"));
    EXPECT_FALSE(id_fits(id_format::numeric, "", "007"));
}

TEST(IdFitsNumeric, RejectsSigns)
{
    EXPECT_FALSE(id_fits(id_format::numeric, "", "+1"));
    EXPECT_FALSE(id_fits(id_format::numeric, "", "-1"));
}

TEST(IdFitsNumeric, RejectsEverythingThatIsNotDigits)
{
    EXPECT_FALSE(id_fits(id_format::numeric, "", ""));
    EXPECT_FALSE(id_fits(id_format::numeric, "", "1.0"));
    EXPECT_FALSE(id_fits(id_format::numeric, "", "1e3"));
    EXPECT_FALSE(id_fits(id_format::numeric, "", " 1"));
    EXPECT_FALSE(id_fits(id_format::numeric, "", "0x1F"));
}

} // namespace
