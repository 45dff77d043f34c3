// What RocksDB does with a damaged write-ahead log or table file under each WAL recovery mode and
// paranoid_checks setting, measured on a plain database: the evidence for the store's choice of
// kTolerateCorruptedTailRecords (rocks_store.cpp). `unit_tests --gtest_filter='StoreRecoveryModes.*'`
// prints the table docs/ARCHITECTURE.md quotes.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "../faultfs/wal_file.hpp"
#include "temp_dir.hpp"

namespace
{
using reqstore::test::temp_dir;
namespace faultfs = reqstore::faultfs;

constexpr int acknowledged = 40; // synced writes before the damage

enum class damage
{
    torn_tail,        // an unsynced write cut short: the log ends inside its record
    mid_log_flip,     // one payload byte of a record in the middle of the log inverted
    last_record_flip, // one payload byte of the last complete record inverted
    last_length_flip, // the high byte of the last record's length inverted
    table_block_flip, // one byte of a table file's first data block inverted
};

const char* name_of(damage d)
{
    switch (d)
    {
    case damage::torn_tail:
        return "torn tail (unsynced partial record)";
    case damage::mid_log_flip:
        return "flipped byte mid-WAL";
    case damage::last_record_flip:
        return "flipped byte in the last complete record";
    case damage::last_length_flip:
        return "flipped length byte of the last record";
    case damage::table_block_flip:
        return "flipped byte in an SST data block";
    }
    return "";
}

const char* name_of(rocksdb::WALRecoveryMode mode)
{
    switch (mode)
    {
    case rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords:
        return "kTolerateCorruptedTailRecords";
    case rocksdb::WALRecoveryMode::kAbsoluteConsistency:
        return "kAbsoluteConsistency";
    case rocksdb::WALRecoveryMode::kPointInTimeRecovery:
        return "kPointInTimeRecovery";
    case rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords:
        return "kSkipAnyCorruptedRecords";
    }
    return "";
}

std::string key_of(int i)
{
    return "key" + std::to_string(1000 + i);
}

std::string value_of(int i)
{
    return "value-" + std::to_string(i) + "-" + std::string(100, static_cast<char>('a' + i % 26));
}

struct outcome
{
    bool opened = false;
    std::string open_status;
    int present = 0;     // acknowledged keys read back with their value
    int missing = 0;     // acknowledged keys not found: silent loss
    int read_errors = 0; // acknowledged keys whose read failed (Corruption)
    bool unacknowledged_present = false;

    std::string summary() const
    {
        if (!opened)
            return "refuses to open: " + open_status;
        std::string s =
            "opens; " + std::to_string(present) + "/" + std::to_string(acknowledged) + " read back";
        if (missing > 0)
            s += ", " + std::to_string(missing) + " SILENTLY MISSING";
        if (read_errors > 0)
            s += ", " + std::to_string(read_errors) + " reads fail (Corruption)";
        return s;
    }
};

rocksdb::Options options_for(rocksdb::WALRecoveryMode mode, bool paranoid)
{
    rocksdb::Options options;
    options.create_if_missing = true;
    options.wal_recovery_mode = mode;
    options.paranoid_checks = paranoid;
    return options;
}

outcome run_case(damage what, rocksdb::WALRecoveryMode mode, bool paranoid)
{
    temp_dir dir;
    const std::string db_path = dir.path() + "/db";
    {
        rocksdb::DB* raw = nullptr;
        auto s = rocksdb::DB::Open(options_for(mode, paranoid), db_path, &raw);
        if (!s.ok())
            throw std::runtime_error("first open: " + s.ToString());
        std::unique_ptr<rocksdb::DB> db(raw);
        // Written unsynced and then synced once: the log holds the same records as after one synced
        // write each, in a fraction of the time.
        for (int i = 0; i < acknowledged; ++i)
            if (!db->Put(rocksdb::WriteOptions(), key_of(i), value_of(i)).ok())
                throw std::runtime_error("put failed");
        if (what == damage::torn_tail &&
            !db->Put(rocksdb::WriteOptions(), key_of(acknowledged), value_of(acknowledged)).ok())
            throw std::runtime_error("put failed");
        if (!db->FlushWAL(true).ok())
            throw std::runtime_error("syncing the log failed");
        if (what == damage::table_block_flip && !db->Flush(rocksdb::FlushOptions()).ok())
            throw std::runtime_error("flush failed");
        if (!db->Close().ok())
            throw std::runtime_error("close failed");
    }

    if (what == damage::table_block_flip)
    {
        const auto tables = faultfs::files_ending(db_path, ".sst");
        if (tables.size() != 1)
            throw std::runtime_error("expected one table file");
        faultfs::flip_byte(tables.front(), 40); // inside the first data block, which starts at 0
    }
    else
    {
        const auto logs = faultfs::files_ending(db_path, ".log");
        if (logs.empty())
            throw std::runtime_error("no write-ahead log left after close");
        const auto& wal = logs.back();
        const auto records = faultfs::wal_records(faultfs::read_bytes(wal));
        if (records.size() < 2)
            throw std::runtime_error("the write-ahead log holds too few records");
        const auto& last = records.back();
        switch (what)
        {
        case damage::torn_tail:
            std::filesystem::resize_file(wal, last.payload_offset() + last.length / 2);
            break;
        case damage::mid_log_flip:
            faultfs::flip_byte(wal, records[records.size() / 2].payload_offset() + 20);
            break;
        case damage::last_record_flip:
            faultfs::flip_byte(wal, last.payload_offset() + 20);
            break;
        case damage::last_length_flip:
            faultfs::flip_byte(wal, last.offset + 5);
            break;
        case damage::table_block_flip:
            break;
        }
    }

    outcome result;
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(options_for(mode, paranoid), db_path, &raw);
    if (!s.ok())
    {
        result.open_status = s.ToString();
        return result;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    result.opened = true;
    for (int i = 0; i < acknowledged; ++i)
    {
        std::string value;
        const auto got = db->Get(rocksdb::ReadOptions(), key_of(i), &value);
        if (got.ok() && value == value_of(i))
            ++result.present;
        else if (got.IsNotFound())
            ++result.missing;
        else
            ++result.read_errors;
    }
    std::string ignored;
    result.unacknowledged_present = db->Get(rocksdb::ReadOptions(), key_of(acknowledged), &ignored).ok();
    (void)db->Close();
    return result;
}

constexpr rocksdb::WALRecoveryMode modes[] = {
    rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, rocksdb::WALRecoveryMode::kAbsoluteConsistency,
    rocksdb::WALRecoveryMode::kPointInTimeRecovery, rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords};
constexpr damage damages[] = {damage::torn_tail, damage::mid_log_flip, damage::last_record_flip,
                              damage::last_length_flip, damage::table_block_flip};

} // namespace

// The whole table, printed; the assertions below pin the cells the store depends on.
TEST(StoreRecoveryModes, TableOfWhatEachModeDoes)
{
    std::cout << "| damage | mode | paranoid_checks | outcome |\n|---|---|---|---|\n";
    for (const auto what : damages)
        for (const auto mode : modes)
            for (const bool paranoid : {true, false})
                std::cout << "| " << name_of(what) << " | " << name_of(mode) << " | "
                          << (paranoid ? "true" : "false") << " | "
                          << run_case(what, mode, paranoid).summary() << " |\n";
}

TEST(StoreRecoveryModes, TolerateCorruptedTailOpensAfterATornTailWithEveryAcknowledgedWrite)
{
    const auto r = run_case(damage::torn_tail, rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, true);
    ASSERT_TRUE(r.opened) << r.open_status;
    EXPECT_EQ(r.present, acknowledged);
    EXPECT_FALSE(r.unacknowledged_present);
}

TEST(StoreRecoveryModes, TolerateCorruptedTailRefusesAFlippedByteMidLog)
{
    const auto r =
        run_case(damage::mid_log_flip, rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, true);
    EXPECT_FALSE(r.opened) << r.summary();
    EXPECT_NE(r.open_status.find("Corruption"), std::string::npos) << r.open_status;
}

TEST(StoreRecoveryModes, TolerateCorruptedTailRefusesAFlippedByteInTheLastCompleteRecord)
{
    const auto r =
        run_case(damage::last_record_flip, rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, true);
    EXPECT_FALSE(r.opened) << r.summary();
}

TEST(StoreRecoveryModes, AbsoluteConsistencyRefusesATornTailSoItCannotRestartAfterACrash)
{
    const auto r = run_case(damage::torn_tail, rocksdb::WALRecoveryMode::kAbsoluteConsistency, true);
    EXPECT_FALSE(r.opened) << r.summary();
}

// The negative control of the choice: the default mode opens and silently drops acknowledged writes.
TEST(StoreRecoveryModes, PointInTimeRecoveryOpensAfterAFlippedByteMidLogWithAcknowledgedWritesMissing)
{
    const auto r = run_case(damage::mid_log_flip, rocksdb::WALRecoveryMode::kPointInTimeRecovery, true);
    ASSERT_TRUE(r.opened) << r.open_status;
    EXPECT_GT(r.missing, 0);
}

TEST(StoreRecoveryModes, AFlippedByteInATableDataBlockFailsTheReadsItAffectsAndHidesNothing)
{
    const auto r =
        run_case(damage::table_block_flip, rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, true);
    ASSERT_TRUE(r.opened) << r.open_status;
    EXPECT_GT(r.read_errors, 0);
    EXPECT_EQ(r.missing, 0);
    EXPECT_EQ(r.present + r.read_errors, acknowledged);
}

TEST(StoreRecoveryModes, TheWalCheckFindsTheRecordWhoseByteWasFlipped)
{
    temp_dir dir;
    const std::string db_path = dir.path() + "/db";
    {
        rocksdb::DB* raw = nullptr;
        ASSERT_TRUE(
            rocksdb::DB::Open(options_for(rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords, true),
                              db_path, &raw)
                .ok());
        std::unique_ptr<rocksdb::DB> db(raw);
        for (int i = 0; i < acknowledged; ++i)
            ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key_of(i), value_of(i)).ok());
        ASSERT_TRUE(db->FlushWAL(true).ok());
        ASSERT_TRUE(db->Close().ok());
    }
    const auto wal = faultfs::files_ending(db_path, ".log").back();
    const auto records = faultfs::wal_records(faultfs::read_bytes(wal));
    ASSERT_GE(records.size(), static_cast<std::size_t>(acknowledged));
    for (const auto& r : records)
        EXPECT_TRUE(r.checksum_ok) << "record at " << r.offset;
    EXPECT_FALSE(reqstore::store::find_wal_damage(db_path));

    const auto& victim = records[records.size() / 2];
    faultfs::flip_byte(wal, victim.payload_offset() + 3);
    const auto damage = reqstore::store::find_wal_damage(db_path);
    ASSERT_TRUE(damage);
    EXPECT_EQ(damage->file, wal.string());
    EXPECT_EQ(damage->offset, victim.offset);
    EXPECT_EQ(damage->bytes_after, std::filesystem::file_size(wal) - victim.end());
}
