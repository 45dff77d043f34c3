// Faults: power loss, failed WAL writes and syncs, and damaged files, with the real server on the
// fault-injecting file system (reqstore-faultfs, tests/faultfs/fault_fs.hpp) or the real server on
// files damaged on purpose. Each guarantee has a negative control: buffered durability must lose
// acknowledged writes to a power loss, and point-in-time WAL recovery must serve with acknowledged
// writes missing, so the checks are shown to see what they look for.
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table_properties.h>

#include <csignal>
#include <cstdlib>

#include "../faultfs/wal_file.hpp"
#include "workload.hpp"

using namespace reqstore::test;
namespace faultfs = reqstore::faultfs;
namespace fs = std::filesystem;

namespace
{

// reqstore_store_writable from /metrics (-1 when it is missing).
double store_writable_gauge(client& c)
{
    for (const auto& sample : parse_metrics(c.get("/metrics").body()))
        if (sample.name == "reqstore_store_writable")
            return sample.value;
    return -1;
}

// A data directory of the test's own: the harness passes --data-dir only to reqstore itself.
class scratch_dir
{
public:
    scratch_dir()
    {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/reqstore-faults-XXXXXX";
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed for " + pattern);
        path_ = pattern;
    }
    ~scratch_dir()
    {
        std::error_code ec;
        if (std::getenv("REQSTORE_IT_KEEP") == nullptr)
            fs::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    std::string data() const { return path_ + "/data"; }

private:
    std::string path_;
};

using environment = std::vector<std::pair<std::string, std::string>>;

server_options faultfs_server(const std::string& data_dir, const std::string& durability,
                              environment env = {})
{
    return {.extra_args = {"--data-dir", data_dir, "--durability", durability},
            .env = std::move(env),
            .binary = REQSTORE_FAULTFS_BINARY};
}

// The acknowledged writes that do not read back as acknowledged (the version missing, unreadable or
// different), described; empty when every one does.
std::vector<std::string> lost_writes(client& c, const std::vector<ack>& acks)
{
    std::vector<std::string> lost;
    for (const auto& a : acks)
    {
        const auto r = c.get(path_of(a.id) + "/versions/" + std::to_string(a.version));
        if (r.status() != 200)
            lost.push_back(a.id + " version " + std::to_string(a.version) + ": " +
                           std::to_string(r.status()));
        else if (r.object() != a.body)
            lost.push_back(a.id + " version " + std::to_string(a.version) + " reads differently");
    }
    return lost;
}

// Writes under a concurrent load until `wanted` writes are acknowledged, then cuts the power: the
// server must exit 137 at once. Returns what was acknowledged.
std::vector<ack> write_then_lose_power(server& srv, std::size_t wanted)
{
    std::string shared_id;
    {
        auto c = srv.connect();
        shared_id = text(create_record(c, {{"counter", 0}}), "id");
    }
    write_load load(srv, 4, 2, shared_id);
    EXPECT_TRUE(load.wait_for_acks(wanted, 20s)) << "only " << load.acks().size() << " writes acknowledged";
    srv.send_signal(SIGUSR2); // mid-stream: the writers are still going
    EXPECT_EQ(srv.wait_exit(5s), 137);
    load.stop_and_join();
    const auto unexpected = load.unexpected();
    EXPECT_TRUE(unexpected.empty()) << unexpected.front();
    return load.acks();
}

// One record created and updated `updates` times, one request at a time: every answer acknowledged.
std::vector<ack> write_one_record(client& c, int updates)
{
    std::vector<ack> acks;
    const auto created = create_record(c, {{"n", 0}});
    const std::string id = text(created, "id");
    acks.push_back({id, 1, created});
    for (int i = 1; i <= updates; ++i)
    {
        const auto r =
            c.put(path_of(id), "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'p') + "\"}",
                  {{"If-Match", etag_of(i)}});
        if (r.status() != 200)
            throw std::runtime_error("PUT failed: " + describe(r));
        acks.push_back({id, i + 1, r.object()});
    }
    return acks;
}

std::size_t count_of(std::string_view text, std::string_view part)
{
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + part.size()))
        ++n;
    return n;
}

// A write whose WAL write or sync fails (REQSTORE_FAULTFS_FAIL=<operation>:marker=...): the request
// fails with a 5xx problem and is never visible, every later write is refused with 503 and /readyz
// answers 503 until a restart, reads keep working, and after a restart without the fault every
// acknowledged write is there and the failed one is not.
void check_failed_wal_operation(const std::string& operation)
{
    scratch_dir dir;
    const std::string marker = "the-" + operation + "-of-this-write-fails";
    server srv(
        faultfs_server(dir.data(), "fsync", {{"REQSTORE_FAULTFS_FAIL", operation + ":marker=" + marker}}));
    auto c = srv.connect();
    auto acks = write_one_record(c, 4);
    const std::string id = acks.front().id;
    const auto before = acks.back().body; // version 5
    const auto other = create_record(c, {{"other", true}});
    acks.push_back({text(other, "id"), 1, other});

    const auto failed =
        c.put(path_of(id), "{\"n\":99,\"note\":\"" + marker + "\"}", {{"If-Match", etag_of(5)}});
    EXPECT_TRUE(is_problem(failed, 500, "internal-error", path_of(id))) << failed;
    EXPECT_TRUE(srv.log_contains("reqstore-faultfs: injected a WAL " + operation + " failure"));

    // Not visible: not as the record, not as a version.
    EXPECT_EQ(get_record(c, id), before);
    EXPECT_EQ(c.get(path_of(id) + "/versions/6").status(), 404u);

    // Every later write is refused at once, whatever the record; the server stays alive and reads work.
    EXPECT_TRUE(is_problem(c.put(path_of(id), R"({"n":100})", {{"If-Match", etag_of(5)}}), 503, "unavailable",
                           path_of(id)));
    EXPECT_TRUE(is_problem(c.post("/v1/requests", R"({"type":"request","n":1})"), 503, "unavailable",
                           "/v1/requests"));
    EXPECT_TRUE(
        is_problem(c.del(path_of(text(other, "id"))), 503, "unavailable", path_of(text(other, "id"))));
    EXPECT_EQ(c.get("/readyz").status(), 503u);
    EXPECT_EQ(c.get("/healthz").status(), 200u);
    EXPECT_EQ(store_writable_gauge(c), 0.0);
    EXPECT_TRUE(contains(c.put(path_of(id), R"({"n":100})", {{"If-Match", etag_of(5)}}).body(),
                         "refuses writes until the server is restarted"));
    EXPECT_EQ(get_record(c, text(other, "id")), other);
    EXPECT_EQ(history_of(c, id).size(), 5u);

    // Logged once, at error level, with RocksDB's status.
    ASSERT_TRUE(srv.log_contains("a write to the store failed"));
    const std::string log = srv.log();
    EXPECT_EQ(count_of(log, "a write to the store failed"), 1u);
    const auto line_start = log.rfind('\n', log.find("a write to the store failed")) + 1;
    const std::string line = log.substr(line_start, log.find('\n', line_start) - line_start);
    EXPECT_TRUE(contains(line, R"("level":"error")")) << line;
    EXPECT_TRUE(contains(line, "IO error")) << line;

    // The shutdown reports that the store had failed.
    EXPECT_EQ(srv.stop(), 1);
    srv.set_env({});
    srv.restart();
    c = srv.connect();
    expect_acknowledged_writes_kept(c, acks);
    const auto lost = lost_writes(c, acks);
    EXPECT_TRUE(lost.empty()) << lost.front();
    EXPECT_EQ(get_record(c, id), before);
    EXPECT_EQ(c.get(path_of(id) + "/versions/6").status(), 404u);
    EXPECT_EQ(c.get("/readyz").status(), 200u);
    EXPECT_EQ(store_writable_gauge(c), 1.0);
    const auto again = c.put(path_of(id), R"({"n":6})", {{"If-Match", etag_of(5)}});
    ASSERT_EQ(again.status(), 200u) << again;
    EXPECT_EQ(again.header("ETag"), etag_of(6));
    EXPECT_FALSE(contains(again.body(), marker));
}

// Where a test damages the newest write-ahead log.
enum class wal_spot
{
    middle_record,
    last_record,
};

// Acknowledged writes that live only in the newest write-ahead log (the server was killed, so nothing
// was flushed to table files), and one byte of a record's payload inverted there. Returns the log.
fs::path damage_newest_wal(server& srv, std::vector<ack>& acks, wal_spot where)
{
    auto c = srv.connect();
    acks = write_one_record(c, 30);
    srv.kill_hard();
    const auto logs = faultfs::files_ending(srv.data_dir(), ".log");
    if (logs.empty())
        throw std::runtime_error("no write-ahead log in " + srv.data_dir().string());
    const auto records = faultfs::wal_records(faultfs::read_bytes(logs.back()));
    if (records.size() < 20)
        throw std::runtime_error("the newest write-ahead log holds only " + std::to_string(records.size()) +
                                 " records");
    const auto& victim = where == wal_spot::middle_record ? records[records.size() / 2] : records.back();
    faultfs::flip_byte(logs.back(), victim.payload_offset() + victim.length / 2);
    return logs.back();
}

void expect_refusal_naming(const exit_result& r, const fs::path& wal)
{
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_TRUE(r.out.find("listening on") == std::string::npos) << "the server started serving";
    EXPECT_TRUE(contains(r.err, "the write-ahead log " + wal.string() + " is damaged")) << r.err;
    EXPECT_TRUE(contains(r.err, "Keep a copy")) << r.err;
    EXPECT_TRUE(contains(r.err, "restore the directory from a backup")) << r.err;
    EXPECT_TRUE(contains(r.err, "--recover-wal point-in-time")) << r.err;
}

} // namespace

// ---- power loss ---------------------------------------------------------------------------------

TEST(Faults, PowerLossInFsyncModeKeepsEveryAcknowledgedWrite)
{
    scratch_dir dir;
    server srv(faultfs_server(dir.data(), "fsync"));
    std::vector<ack> all;
    for (int cycle = 0; cycle < 3; ++cycle)
    {
        auto acks = write_then_lose_power(srv, 150);
        all.insert(all.end(), acks.begin(), acks.end());
        ASSERT_TRUE(srv.log_contains("reqstore-faultfs: power loss:"));
        srv.restart();
        auto c = srv.connect();
        expect_acknowledged_writes_kept(c, all);
        const auto lost = lost_writes(c, all);
        ASSERT_TRUE(lost.empty()) << "cycle " << cycle << ": " << lost.size()
                                  << " acknowledged writes lost, e.g. " << lost.front();
    }
}

// The negative control: with buffered durability nothing is synced, so the same power loss must
// lose acknowledged writes. If it did not, the file system would not be dropping unsynced data.
TEST(Faults, PowerLossInBufferedModeLosesAcknowledgedWrites)
{
    scratch_dir dir;
    server srv(faultfs_server(dir.data(), "buffered"));
    const auto acks = write_then_lose_power(srv, 150);
    ASSERT_GE(acks.size(), 150u);
    srv.restart();
    auto c = srv.connect();
    const auto lost = lost_writes(c, acks);
    EXPECT_FALSE(lost.empty()) << "a power loss in buffered mode kept all " << acks.size()
                               << " acknowledged writes: the file system does not drop unsynced data";
    std::cout << "buffered power loss: " << lost.size() << " of " << acks.size()
              << " acknowledged writes lost\n";
}

TEST(Faults, PowerLossBeforeAnyWriteStillExits137)
{
    scratch_dir dir;
    server srv(faultfs_server(dir.data(), "fsync"));
    srv.send_signal(SIGUSR2);
    EXPECT_EQ(srv.wait_exit(5s), 137);
    srv.restart();
    EXPECT_EQ(srv.connect().get("/readyz").status(), 200u);
}

// ---- failed writes and syncs ----------------------------------------------------------------------

TEST(Faults, AFailedWalSyncFailsItsWriteAndStopsEveryLaterWriteUntilRestart)
{
    check_failed_wal_operation("sync");
}

TEST(Faults, AFailedWalWriteFailsItsWriteAndStopsEveryLaterWriteUntilRestart)
{
    check_failed_wal_operation("write");
}

// ---- damaged files --------------------------------------------------------------------------------

TEST(Faults, AFlippedByteMidWalRefusesToStartNamingTheLogAndWhatToDo)
{
    server srv({.durability = "fsync"});
    std::vector<ack> acks;
    const auto wal = damage_newest_wal(srv, acks, wal_spot::middle_record);
    expect_refusal_naming(run_to_exit({"--listen", "127.0.0.1:0", "--data-dir", srv.data_dir().string()}),
                          wal);
}

TEST(Faults, AFlippedByteInTheLastCompleteWalRecordRefusesToStart)
{
    server srv({.durability = "fsync"});
    std::vector<ack> acks;
    const auto wal = damage_newest_wal(srv, acks, wal_spot::last_record);
    expect_refusal_naming(run_to_exit({"--listen", "127.0.0.1:0", "--data-dir", srv.data_dir().string()}),
                          wal);
}

// The negative control of the recovery mode: forced to RocksDB's default, point-in-time recovery,
// the same damage lets the server start and serve with acknowledged writes missing, and the check
// sees it.
TEST(Faults, PointInTimeRecoveryWouldServeWithAcknowledgedWritesMissing)
{
    server damaged({.durability = "fsync"});
    std::vector<ack> acks;
    damage_newest_wal(damaged, acks, wal_spot::middle_record);
    server srv(faultfs_server(damaged.data_dir().string(), "fsync",
                              {{"REQSTORE_FAULTFS_RECOVERY", "point-in-time"}}));
    auto c = srv.connect();
    EXPECT_EQ(c.get("/readyz").status(), 200u);
    const auto lost = lost_writes(c, acks);
    EXPECT_FALSE(lost.empty()) << "point-in-time recovery kept every acknowledged write";
    EXPECT_TRUE(srv.log_contains("point-in-time recovery: the write-ahead log is damaged"));
}

// The operator's way out named in the refusal: started once with --recover-wal point-in-time, the
// real server replays the log up to the damage, says what it dropped, and serves.
TEST(Faults, RecoverWalPointInTimeStartsOnceAcceptingTheLossItLogs)
{
    server damaged({.durability = "fsync"});
    std::vector<ack> acks;
    damage_newest_wal(damaged, acks, wal_spot::middle_record);
    server_options o;
    o.extra_args = {"--data-dir", damaged.data_dir().string(), "--recover-wal", "point-in-time"};
    server srv(o);
    auto c = srv.connect();
    EXPECT_EQ(c.get("/readyz").status(), 200u);
    EXPECT_FALSE(lost_writes(c, acks).empty()) << "the damage dropped nothing: the test damaged nothing";
    EXPECT_TRUE(srv.log_contains("point-in-time recovery: the write-ahead log is damaged"));
}

TEST(Faults, AFlippedByteInATableDataBlockAnswers5xxNever404OrStale)
{
    server srv({.durability = "fsync"});
    std::map<std::string, json::object> newest;
    {
        auto c = srv.connect();
        for (int i = 0; i < 40; ++i)
        {
            const auto created = create_record(c, {{"n", i}, {"pad", std::string(80, 'x')}});
            const std::string id = text(created, "id");
            const auto r = c.put(path_of(id), "{\"n\":" + std::to_string(i) + ",\"updated\":true}",
                                 {{"If-Match", etag_of(1)}});
            ASSERT_EQ(r.status(), 200u) << r;
            newest[id] = r.object();
        }
    }
    // A restart replays the log into table files; the second stop leaves them as the only copy.
    ASSERT_EQ(srv.stop(), 0);
    srv.restart();
    ASSERT_EQ(srv.stop(), 0);
    std::optional<fs::path> records_table;
    for (const auto& table : faultfs::files_ending(srv.data_dir(), ".sst"))
    {
        rocksdb::SstFileReader reader{rocksdb::Options()};
        ASSERT_TRUE(reader.Open(table.string()).ok()) << table;
        if (reader.GetTableProperties()->column_family_name == "records")
            records_table = table;
    }
    ASSERT_TRUE(records_table) << "no table file of the records column family";
    faultfs::flip_byte(*records_table, 40); // the first data block starts at byte 0

    srv.restart();
    auto c = srv.connect();
    std::size_t failed = 0;
    for (const auto& [id, body] : newest)
    {
        const auto r = c.get(path_of(id));
        if (r.status() == 200)
        {
            EXPECT_EQ(r.object(), body) << id << " reads stale or different";
            continue;
        }
        EXPECT_TRUE(is_problem(r, 500, "internal-error", path_of(id))) << r;
        ++failed;
    }
    EXPECT_GT(failed, 0u) << "no read reached the damaged block";
    EXPECT_GE(c.get("/v1/requests").status(), 500u);
}
