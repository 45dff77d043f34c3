// Unit tests for the in-memory newest versions (newest_versions.hpp): queued versions are shown to
// writers only, settle follows the commit that queued, and durable ones stay within the budget.
#include <reqstore/core/newest_versions.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace
{

using reqstore::core::newest_versions;
using reqstore::core::pending_commit;
using reqstore::core::stored_version;

stored_version version_of(std::uint64_t number, std::size_t body_bytes = 100)
{
    stored_version v;
    v.version = number;
    v.status = "pending";
    v.body = std::string(body_bytes, 'x');
    return v;
}

// Room for about `entries` durable entries of version_of's default size.
constexpr std::size_t room_for(std::size_t entries)
{
    return entries * 500;
}

TEST(NewestVersions, AnUnknownRecordIsNotHeld)
{
    newest_versions held(room_for(10));
    EXPECT_FALSE(held.find("req_a"));
    EXPECT_FALSE(held.find_durable("req_a"));
}

TEST(NewestVersions, AQueuedVersionIsShownToWritersButNotToReaders)
{
    newest_versions held(room_for(10));
    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(3), commit);

    const auto found = held.find("req_a");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->version.version, 3u);
    EXPECT_EQ(found->queued, commit);
    EXPECT_FALSE(held.find_durable("req_a")) << "a reader saw a version that is not durable";
}

TEST(NewestVersions, ASettledCommitMakesItsVersionDurable)
{
    newest_versions held(room_for(10));
    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(3), commit);
    held.settle("req_a", commit, true);

    const auto found = held.find("req_a");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->queued, nullptr);
    const auto durable = held.find_durable("req_a");
    ASSERT_TRUE(durable);
    EXPECT_EQ(durable->version, 3u);
}

TEST(NewestVersions, AFailedCommitDropsItsVersion)
{
    newest_versions held(room_for(10));
    held.remember("req_a", version_of(2));
    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(3), commit);
    held.settle("req_a", commit, false);

    // The store still has version 2, which memory no longer claims to know.
    EXPECT_FALSE(held.find("req_a"));
    EXPECT_EQ(held.size(), 0u);
}

TEST(NewestVersions, AnEarlierCommitSettlingLeavesANewerQueuedVersionAlone)
{
    newest_versions held(room_for(10));
    const auto first = std::make_shared<pending_commit>();
    const auto second = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(3), first);
    held.queue("req_a", version_of(4), second);

    held.settle("req_a", first, true);
    auto found = held.find("req_a");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->version.version, 4u);
    EXPECT_EQ(found->queued, second);

    held.settle("req_a", first, false);
    found = held.find("req_a");
    ASSERT_TRUE(found) << "the failure of an earlier commit dropped a newer version";
    EXPECT_EQ(found->version.version, 4u);
}

TEST(NewestVersions, RememberDoesNotReplaceAHeldVersion)
{
    newest_versions held(room_for(10));
    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(5), commit);
    held.remember("req_a", version_of(4));
    const auto found = held.find("req_a");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->version.version, 5u);
    EXPECT_EQ(found->queued, commit);
}

TEST(NewestVersions, TheLeastRecentlyUsedDurableVersionLeavesFirst)
{
    newest_versions held(room_for(2));
    held.remember("req_a", version_of(1));
    held.remember("req_b", version_of(1));
    ASSERT_TRUE(held.find("req_a")); // now req_b is the least recently used
    held.remember("req_c", version_of(1));

    EXPECT_TRUE(held.find_durable("req_a"));
    EXPECT_FALSE(held.find_durable("req_b"));
    EXPECT_TRUE(held.find_durable("req_c"));
    EXPECT_LE(held.durable_bytes(), room_for(2));
}

TEST(NewestVersions, QueuedVersionsStayWhateverTheBudget)
{
    newest_versions held(room_for(1));
    std::vector<std::shared_ptr<pending_commit>> commits;
    for (int i = 0; i < 5; ++i)
    {
        commits.push_back(std::make_shared<pending_commit>());
        held.queue("req_" + std::to_string(i), version_of(1, 10'000), commits.back());
    }
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(held.find("req_" + std::to_string(i))) << "queued version " << i << " was evicted";
    EXPECT_EQ(held.durable_bytes(), 0u);

    // Once durable they count, and the budget holds again.
    for (int i = 0; i < 5; ++i)
        held.settle("req_" + std::to_string(i), commits[i], true);
    EXPECT_LE(held.durable_bytes(), room_for(1));
    EXPECT_LT(held.size(), 5u);
}

TEST(NewestVersions, WithNoBudgetOnlyQueuedVersionsAreHeld)
{
    newest_versions held(0);
    held.remember("req_a", version_of(1));
    EXPECT_FALSE(held.find("req_a"));

    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_b", version_of(2), commit);
    EXPECT_TRUE(held.find("req_b"));
    held.settle("req_b", commit, true);
    EXPECT_FALSE(held.find("req_b"));
    EXPECT_EQ(held.size(), 0u);
}

} // namespace

namespace
{

TEST(NewestVersions, AReadIsHeldWhenNothingChangedWhileItWasRead)
{
    newest_versions held(room_for(10));
    const auto before = held.changes();
    held.remember_read("req_a", version_of(4), before);
    const auto durable = held.find_durable("req_a");
    ASSERT_TRUE(durable);
    EXPECT_EQ(durable->version, 4u);
}

TEST(NewestVersions, AReadIsNotHeldWhenAVersionWasQueuedOrSettledMeanwhile)
{
    newest_versions held(room_for(10));
    auto before = held.changes();
    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_b", version_of(2), commit);
    held.remember_read("req_a", version_of(4), before);
    EXPECT_FALSE(held.find("req_a")) << "a read begun before a queue was held";

    before = held.changes();
    held.settle("req_b", commit, true);
    held.remember_read("req_a", version_of(4), before);
    EXPECT_FALSE(held.find("req_a")) << "a read begun before a settle was held";
}

TEST(NewestVersions, AReadIsNotHeldWhenAnEntryWasEvictedMeanwhile)
{
    // The reader may have read version 4 from the store while version 5 was committed, settled and
    // evicted: holding 4 would show a reader an older version than the store's.
    newest_versions held(room_for(1));
    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(5), commit);
    held.settle("req_a", commit, true);
    const auto before = held.changes();
    held.remember("req_b", version_of(1)); // evicts req_a
    ASSERT_FALSE(held.find("req_a"));
    held.remember_read("req_a", version_of(4), before);
    EXPECT_FALSE(held.find("req_a"));
}

TEST(NewestVersions, AReadNeverReplacesAHeldVersion)
{
    newest_versions held(room_for(10));
    held.remember("req_a", version_of(5));
    held.remember_read("req_a", version_of(4), held.changes());
    const auto durable = held.find_durable("req_a");
    ASSERT_TRUE(durable);
    EXPECT_EQ(durable->version, 5u);
}

} // namespace

namespace
{

TEST(NewestVersions, DropBeforeACommitHidesTheVersionItReplacesFromReaders)
{
    // A writer drops the entry, then hands version 7 to the store, then queues it. Between the
    // hand-over and the queue the store may already serve 7: a reader must not get 6 from memory,
    // nor may a read begun before the drop put 6 back.
    newest_versions held(room_for(10));
    held.remember("req_a", version_of(6));
    const auto read_began = held.changes();
    held.drop("req_a");
    EXPECT_FALSE(held.find_durable("req_a")) << "the replaced version was still served";
    held.remember_read("req_a", version_of(6), read_began);
    EXPECT_FALSE(held.find("req_a")) << "a read begun before the drop put the replaced version back";
    EXPECT_EQ(held.durable_bytes(), 0u);

    const auto commit = std::make_shared<pending_commit>();
    held.queue("req_a", version_of(7), commit);
    held.settle("req_a", commit, true);
    const auto durable = held.find_durable("req_a");
    ASSERT_TRUE(durable);
    EXPECT_EQ(durable->version, 7u);
}

} // namespace
