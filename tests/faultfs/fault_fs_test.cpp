// The fault-injecting file system on its own: what a power loss keeps and undoes, and what an
// injected failure does. Part of unit_tests (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "../unit/temp_dir.hpp"
#include "fault_fs.hpp"

namespace
{
using reqstore::faultfs::failure_plan;
using reqstore::faultfs::fault_file_system;
using reqstore::test::temp_dir;
namespace fs = std::filesystem;

std::string contents(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// After lose_power() the file system and every file it opened stay blocked for good: a test leaks
// them rather than destroy objects whose methods would wait forever. They are kept reachable from a
// global list, so that LeakSanitizer (the ASan run of scripts/test) does not report them.
template <class T>
T* keep_forever(T* object)
{
    static auto* kept = new std::vector<const void*>();
    kept->push_back(object);
    return object;
}

struct harness
{
    explicit harness(failure_plan plan = {})
        : fs(keep_forever(new fault_file_system(rocksdb::FileSystem::Default(), plan))),
          dir_path(dir.path() + "/db")
    {
        fs::create_directory(dir_path);
        EXPECT_TRUE(fs->NewDirectory(dir_path, rocksdb::IOOptions(), &directory, nullptr).ok());
    }

    rocksdb::FSWritableFile* create(const std::string& name, std::string_view data, bool sync)
    {
        std::unique_ptr<rocksdb::FSWritableFile> file;
        EXPECT_TRUE(fs->NewWritableFile(path(name), rocksdb::FileOptions(), &file, nullptr).ok());
        EXPECT_TRUE(file->Append(data, rocksdb::IOOptions(), nullptr).ok());
        if (sync)
        {
            EXPECT_TRUE(file->Sync(rocksdb::IOOptions(), nullptr).ok());
        }
        return keep_forever(file.release());
    }
    void sync_dir() { EXPECT_TRUE(directory->Fsync(rocksdb::IOOptions(), nullptr).ok()); }
    std::string path(const std::string& name) const { return dir_path + "/" + name; }
    void lose_power()
    {
        keep_forever(directory.release());
        fs->lose_power();
    }

    temp_dir dir;
    fault_file_system* fs;
    std::string dir_path;
    std::unique_ptr<rocksdb::FSDirectory> directory;
};

} // namespace

TEST(FaultFileSystem, PowerLossKeepsSyncedBytesAndDropsTheRest)
{
    harness h;
    auto* file = h.create("000007.sst", std::string(100, 's'), true);
    h.sync_dir();
    ASSERT_TRUE(file->Append(std::string(50, 'u'), rocksdb::IOOptions(), nullptr).ok());
    ASSERT_TRUE(file->RangeSync(0, 150, rocksdb::IOOptions(), nullptr).ok()); // promises nothing
    ASSERT_TRUE(file->Close(rocksdb::IOOptions(), nullptr).ok());             // neither does this
    ASSERT_EQ(fs::file_size(h.path("000007.sst")), 150u);
    h.lose_power();
    EXPECT_EQ(contents(h.path("000007.sst")), std::string(100, 's'));
}

TEST(FaultFileSystem, PowerLossRemovesFilesCreatedSinceTheDirectorySync)
{
    harness h;
    h.create("000001.log", "durable name", true);
    h.sync_dir();
    h.create("000002.log", "synced data, unsynced name", true);
    h.lose_power();
    EXPECT_TRUE(fs::exists(h.path("000001.log")));
    EXPECT_FALSE(fs::exists(h.path("000002.log")));
}

TEST(FaultFileSystem, PowerLossUndoesARenameAndBringsBackTheFileItReplaced)
{
    harness h;
    h.create("CURRENT", "MANIFEST-000001\n", true);
    h.create("000002.dbtmp", "MANIFEST-000002\n", true);
    h.sync_dir();
    ASSERT_TRUE(
        h.fs->RenameFile(h.path("000002.dbtmp"), h.path("CURRENT"), rocksdb::IOOptions(), nullptr).ok());
    ASSERT_EQ(contents(h.path("CURRENT")), "MANIFEST-000002\n");
    h.lose_power();
    EXPECT_EQ(contents(h.path("CURRENT")), "MANIFEST-000001\n");
    EXPECT_EQ(contents(h.path("000002.dbtmp")), "MANIFEST-000002\n");
}

TEST(FaultFileSystem, PowerLossBringsBackADeletionTheDirectorySyncDidNotCover)
{
    harness h;
    h.create("000003.sst", "kept", true);
    h.create("000004.sst", "gone", true);
    h.sync_dir();
    ASSERT_TRUE(h.fs->DeleteFile(h.path("000004.sst"), rocksdb::IOOptions(), nullptr).ok());
    h.sync_dir();
    ASSERT_TRUE(h.fs->DeleteFile(h.path("000003.sst"), rocksdb::IOOptions(), nullptr).ok());
    EXPECT_FALSE(fs::exists(h.path("000003.sst")));
    h.lose_power();
    EXPECT_EQ(contents(h.path("000003.sst")), "kept");
    EXPECT_FALSE(fs::exists(h.path("000004.sst")));
}

TEST(FaultFileSystem, AnInjectedSyncFailureDropsTheBytesItWasToMakeDurable)
{
    failure_plan plan;
    plan.sync.marker = "fail-me";
    harness h(plan);
    auto* wal = h.create("000005.log", "first batch;", true);
    ASSERT_TRUE(wal->Append("second batch fail-me;", rocksdb::IOOptions(), nullptr).ok());
    const auto s = wal->Sync(rocksdb::IOOptions(), nullptr);
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_EQ(contents(h.path("000005.log")), "first batch;");
    // Once only: the next sync succeeds.
    ASSERT_TRUE(wal->Append("third batch fail-me;", rocksdb::IOOptions(), nullptr).ok());
    EXPECT_TRUE(wal->Sync(rocksdb::IOOptions(), nullptr).ok());
    (void)wal;
}

TEST(FaultFileSystem, AnInjectedWriteFailureWritesNothing)
{
    failure_plan plan;
    plan.write.after = 1;
    harness h(plan);
    auto* wal = h.create("000006.log", "first;", true);
    EXPECT_TRUE(wal->Append("second;", rocksdb::IOOptions(), nullptr).IsIOError());
    EXPECT_TRUE(wal->Append("third;", rocksdb::IOOptions(), nullptr).ok());
    EXPECT_EQ(contents(h.path("000006.log")), "first;third;");
}

TEST(FaultFileSystem, TheFailurePlanParsesEveryRuleAndRefusesNonsense)
{
    const auto plan = reqstore::faultfs::parse_failure_plan("sync:after=3,write:on-signal,sync:marker=abc");
    ASSERT_TRUE(std::holds_alternative<failure_plan>(plan));
    const auto& p = std::get<failure_plan>(plan);
    EXPECT_EQ(p.sync.after, 3u);
    EXPECT_EQ(p.sync.marker, "abc");
    EXPECT_TRUE(p.write.on_signal);
    for (const char* bad : {"sync", "flush:after=1", "sync:after=x", "sync:later", "write:marker="})
        EXPECT_TRUE(
            std::holds_alternative<reqstore::faultfs::plan_error>(reqstore::faultfs::parse_failure_plan(bad)))
            << bad;
}
