// Online backups (contract section 14, docs/OPERATIONS.md "Backups"): a backup taken under 64 clients
// doing compare-and-swap updates, restored with `reqstore restore` and served, holds every write up to
// its sequence and none after: every write acknowledged before the backup was asked for, none that
// started after it answered. The audit has a control: the live server, which went on writing, fails
// it. Restoring a missing, incomplete or damaged backup is refused with the reason, leaving nothing.
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "harness.hpp"
#include "webhook_support.hpp"

using namespace reqstore::test;
using namespace reqstore::test::hooks_it;
namespace fs = std::filesystem;

namespace
{

using steady = std::chrono::steady_clock;

// One acknowledged write: the version it made, and when its request was sent and its answer read.
struct acknowledged
{
    std::string id;
    std::int64_t version;
    steady::time_point sent;
    steady::time_point answered;
};

// A directory for a server's backups, created by its first backup and removed at the end.
struct backups_dir
{
    hooks_it::temp_dir root;
    std::string path = (root / "backups").string();
    std::string config() const { return R"({"backup": {"dir": ")" + path + R"("}})"; }
};

// Whether the server behind `c` holds exactly the change feed `feed` up to `sequence` and nothing
// after, with every record at the newest version that prefix names. Says what differs first.
testing::AssertionResult holds_exactly_up_to(client& c, const std::vector<json::object>& feed,
                                             std::int64_t sequence)
{
    const auto held = whole_feed(c);
    std::map<std::string, std::int64_t> newest;
    std::size_t expected = 0;
    for (const auto& e : feed)
    {
        if (number(e, "seq") > sequence)
            continue;
        if (expected >= held.size() || to_json(held[expected]) != to_json(e))
            return testing::AssertionFailure()
                   << "feed entry " << expected << " differs: expected " << to_json(e) << ", got "
                   << (expected < held.size() ? to_json(held[expected]) : std::string("nothing"));
        ++expected;
        newest[text(e, "id")] = std::max(newest[text(e, "id")], number(e, "version"));
    }
    if (held.size() != expected)
        return testing::AssertionFailure() << "the feed holds " << held.size() << " entries, not " << expected
                                           << ": the next is " << to_json(held[expected]);
    for (const auto& [id, version] : newest)
    {
        const auto r = c.get(path_of(id));
        if (r.status() != 200 || number(r.object(), "version") != version)
            return testing::AssertionFailure()
                   << id << " is " << describe(r) << ", not at version " << version;
    }
    return testing::AssertionSuccess();
}

// Flips bytes in the middle of the largest table file under `dir`.
void damage_a_table_file(const fs::path& dir)
{
    fs::path largest;
    for (const auto& f : fs::recursive_directory_iterator(dir))
        if (f.path().extension() == ".sst" && (largest.empty() || f.file_size() > fs::file_size(largest)))
            largest = f.path();
    ASSERT_FALSE(largest.empty()) << "no table file in " << dir;
    const auto size = fs::file_size(largest);
    std::fstream file(largest, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 3));
    const std::string garbage(64, '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

} // namespace

TEST(Backups, ABackupUnderCasLoadRestoresEveryWriteUpToItsSequenceAndNoneAfter)
{
    const backups_dir backups;
    server srv({.config = backups.config()});
    auto admin = srv.connect();
    std::vector<std::string> ids;
    for (int i = 0; i < 64; ++i)
        ids.push_back(text(create_record(admin), "id"));

    std::atomic<bool> stop{false};
    std::mutex acks_mutex;
    std::vector<acknowledged> acks;
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 64; ++t)
        writers.emplace_back(
            [&, t]
            {
                auto c = srv.connect();
                std::vector<acknowledged> mine;
                // Two clients per record (64 clients over 32 hot records), so that CAS races happen.
                const std::string& id = ids[static_cast<std::size_t>(t % 32)];
                for (int i = 0; i < 5000 && !stop.load(); ++i)
                {
                    const auto current = c.get(path_of(id));
                    const auto sent = steady::now();
                    const auto r = c.patch(path_of(id), R"({"title":"writer )" + std::to_string(t) + "\"}",
                                           {{"If-Match", current.header("ETag")},
                                            {"Content-Type", "application/merge-patch+json"}});
                    if (r.status() == 200)
                        mine.push_back({id, number(r.object(), "version"), sent, steady::now()});
                    else if (r.status() != 412)
                        failures.fetch_add(1);
                }
                std::lock_guard lock(acks_mutex);
                acks.insert(acks.end(), mine.begin(), mine.end());
            });

    std::this_thread::sleep_for(1500ms);
    const auto asked = steady::now();
    const auto made = admin.post("/v1/admin/backup", "");
    const auto answered = steady::now();
    std::this_thread::sleep_for(1000ms);
    stop = true;
    for (auto& w : writers)
        w.join();
    ASSERT_EQ(made.status(), 201u) << made;
    ASSERT_EQ(failures.load(), 0);
    const auto backup = made.object();
    const std::int64_t sequence = number(backup, "sequence");
    EXPECT_GT(number(backup, "bytes"), 0);
    EXPECT_TRUE(starts_with(text(backup, "id"), "bkp_"));

    const auto listed = admin.get("/v1/admin/backups");
    ASSERT_EQ(listed.status(), 200u) << listed;
    ASSERT_EQ(listed.object().at("data").as_array().size(), 1u);
    EXPECT_EQ(to_json(listed.object().at("data").as_array()[0]), to_json(backup));

    // Every acknowledged write is in the live feed; the ones answered before the backup was asked for
    // are at or below its sequence, the ones sent after it answered are above it.
    const auto feed = whole_feed(admin);
    std::map<std::pair<std::string, std::int64_t>, std::int64_t> sequence_of;
    for (const auto& e : feed)
        sequence_of[{text(e, "id"), number(e, "version")}] = number(e, "seq");
    std::size_t before = 0;
    std::size_t after = 0;
    for (const auto& a : acks)
    {
        const auto found = sequence_of.find({a.id, a.version});
        ASSERT_NE(found, sequence_of.end())
            << a.id << " v" << a.version << " was acknowledged but is not in the feed";
        if (a.answered < asked)
        {
            ++before;
            EXPECT_LE(found->second, sequence)
                << a.id << " v" << a.version << " was acknowledged before the backup";
        }
        if (a.sent > answered)
        {
            ++after;
            EXPECT_GT(found->second, sequence) << a.id << " v" << a.version << " was sent after the backup";
        }
    }
    EXPECT_GT(before, 20u) << "the load must have written before the backup";
    EXPECT_GT(after, 20u) << "the load must have written after the backup";

    // The control: the live server, which went on writing, fails the audit.
    EXPECT_FALSE(holds_exactly_up_to(admin, feed, sequence));

    const hooks_it::temp_dir scratch;
    const std::string restored_dir = (scratch / "restored").string();
    const std::string backup_dir = (fs::path(backups.path) / text(backup, "id")).string();
    ASSERT_TRUE(fs::exists(backup_dir)) << backup_dir;
    const auto restore = run_to_exit({"restore", "--from", backup_dir, "--data-dir", restored_dir}, 120s);
    ASSERT_EQ(restore.status, 0) << restore.err;
    EXPECT_TRUE(contains(restore.out,
                         "restored backup " + text(backup, "id") + " (sequence " + std::to_string(sequence)))
        << restore.out;

    server restored({.extra_args = {"--data-dir", restored_dir}});
    auto reader = restored.connect();
    EXPECT_TRUE(holds_exactly_up_to(reader, feed, sequence));
    EXPECT_EQ(srv.stop(), 0);
    EXPECT_EQ(restored.stop(), 0);
}

TEST(Backups, RestoringAMissingIncompleteOrDamagedBackupIsRefusedWithTheReason)
{
    const backups_dir backups;
    server srv({.config = backups.config()});
    auto c = srv.connect();
    for (int i = 0; i < 300; ++i)
        create_record(c, json::object{{"title", std::string(200, 'x')}});
    const auto made = c.post("/v1/admin/backup", "");
    ASSERT_EQ(made.status(), 201u) << made;
    const fs::path backup = fs::path(backups.path) / text(made.object(), "id");
    const auto restore_into = [](const std::string& from, const std::string& to)
    {
        return run_to_exit({"restore", "--from", from, "--data-dir", to}, 120s);
    };

    const hooks_it::temp_dir scratch;
    const std::string missing_target = (scratch / "never").string();
    auto missing = restore_into((backup.parent_path() / "bkp_none").string(), missing_target);
    EXPECT_EQ(missing.status, 2);
    EXPECT_TRUE(contains(missing.err, "no such directory")) << missing.err;

    // A copy without its manifest is an interrupted backup.
    const fs::path incomplete = scratch / "incomplete";
    fs::copy(backup, incomplete, fs::copy_options::recursive);
    fs::remove(incomplete / "backup.json");
    auto refused = restore_into(incomplete.string(), missing_target);
    EXPECT_EQ(refused.status, 2);
    EXPECT_TRUE(contains(refused.err, "is not a complete reqstore backup")) << refused.err;

    // A table file damaged in a copy: found by the checksums, nothing left behind. The control: the
    // same copy before the damage restores.
    const fs::path damaged = scratch / "damaged";
    fs::copy(backup, damaged, fs::copy_options::recursive);
    const std::string control_target = (scratch / "control").string();
    EXPECT_EQ(restore_into(damaged.string(), control_target).status, 0) << "the control must restore";
    damage_a_table_file(damaged);
    auto broken = restore_into(damaged.string(), missing_target);
    EXPECT_EQ(broken.status, 1) << broken.out;
    EXPECT_TRUE(contains(broken.err, "is damaged")) << broken.err;
    EXPECT_FALSE(fs::exists(missing_target));
    EXPECT_FALSE(fs::exists(missing_target + ".restoring"));

    // A data directory in use is never overwritten.
    auto occupied = restore_into(backup.string(), srv.data_dir().string());
    EXPECT_EQ(occupied.status, 2);
    EXPECT_TRUE(contains(occupied.err, "exists and is not empty")) << occupied.err;
}

TEST(Backups, NeedTheAdminScope)
{
    const backups_dir backups;
    server srv(
        {.config =
             R"({"backup": {"dir": ")" + backups.path +
             R"("}, "auth": {"keys": [{"id": "dev", "secret_sha256": "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736", "scopes": ["requests:read", "requests:write"]}]}})"});
    auto c = srv.connect();
    EXPECT_TRUE(is_problem(c.post("/v1/admin/backup", ""), 403, "forbidden"));
    EXPECT_TRUE(is_problem(c.get("/v1/admin/backups"), 403, "forbidden"));
    EXPECT_FALSE(fs::exists(backups.path));
}

// A backup that a stop or a crash interrupted has no manifest: the next start removes it, and
// keeps the complete ones (the control).
TEST(Backups, AnInterruptedBackupIsRemovedAtTheNextStartAndCompleteOnesStay)
{
    const backups_dir backups;
    server srv({.config = backups.config()});
    auto c = srv.connect();
    create_record(c);
    const auto made = c.post("/v1/admin/backup", "");
    ASSERT_EQ(made.status(), 201u) << made;
    EXPECT_EQ(srv.stop(), 0);
    const fs::path interrupted = fs::path(backups.path) / "bkp_20261207T000000000Z";
    fs::create_directories(interrupted / "db");
    std::ofstream(interrupted / "db" / "000001.sst") << "half a table file";

    srv.restart();
    EXPECT_TRUE(srv.log_contains("removed an interrupted backup"));
    EXPECT_FALSE(fs::exists(interrupted));
    EXPECT_TRUE(fs::exists(fs::path(backups.path) / text(made.object(), "id") / "backup.json"));
    auto listed = srv.connect().get("/v1/admin/backups");
    EXPECT_EQ(listed.object().at("data").as_array().size(), 1u) << listed;
}
