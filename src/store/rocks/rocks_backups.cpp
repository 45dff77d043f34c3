// Backups as directories of checkpoints with manifests, and their restore with a full verification.
#include <reqstore/core/json_body.hpp>
#include <reqstore/ops/log.hpp>
#include <reqstore/store/rocks/keys.hpp>
#include <reqstore/store/rocks/rocks_backups.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <rocksdb/db.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "rocks_internals.hpp"

namespace reqstore::store
{
namespace net = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using core::errc;
using core::failure;

namespace
{

constexpr std::string_view manifest_name = "backup.json";
constexpr std::string_view database_name = "db";

failure file_failure(const std::string& what, const std::error_code& ec)
{
    return failure(errc::internal, what + ": " + ec.message());
}

// "bkp_" and the UTC time to the millisecond: names sort as the backups were taken.
std::string backup_id(core::unix_millis at)
{
    std::string id = "bkp_";
    for (char ch : core::format_rfc3339(at))
        if (ch != '-' && ch != ':' && ch != '.')
            id += ch;
    return id;
}

// Makes `path` (a file or a directory) durable: its contents, and its entry in its directory.
bool sync_path(const fs::path& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// Every file under `dir` and `dir` itself synced, and the total of the files' sizes.
std::optional<std::uint64_t> sync_tree(const fs::path& dir)
{
    std::uint64_t bytes = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    {
        if (it->is_regular_file(ec))
            bytes += it->file_size(ec);
        if (ec || !sync_path(it->path()))
            return std::nullopt;
    }
    if (ec || !sync_path(dir))
        return std::nullopt;
    return bytes;
}

std::string manifest_text(const core::backup_info& info)
{
    return json::serialize(json::object{{"format", 1},
                                        {"id", info.id},
                                        {"sequence", info.sequence},
                                        {"bytes", info.bytes},
                                        {"created_at", core::format_rfc3339(info.created_at)}}) +
           "\n";
}

core::result<core::backup_info> read_manifest(const fs::path& path)
{
    std::ifstream in(path);
    if (!in)
        return failure(errc::internal, "cannot read " + path.string() + ": " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    const auto parsed = core::parse_json_body(text.str(), 8);
    const json::object* o = parsed && parsed->is_object() ? &parsed->get_object() : nullptr;
    const auto field = [o](std::string_view name)
    {
        return o ? o->if_contains(name) : nullptr;
    };
    const auto* id = field("id");
    const auto* sequence = field("sequence");
    const auto* bytes = field("bytes");
    const auto* created = field("created_at");
    const auto created_at =
        created && created->is_string() ? core::parse_rfc3339(created->get_string()) : std::nullopt;
    if (!id || !id->is_string() || !sequence || !sequence->is_number() || !bytes || !bytes->is_number() ||
        !created_at)
        return failure(errc::internal, path.string() + " is damaged: it is not a backup manifest");
    return core::backup_info{std::string(id->get_string()), sequence->to_number<std::uint64_t>(),
                             bytes->to_number<std::uint64_t>(), *created_at};
}

// Writes the manifest durably: to a temporary file, synced, renamed into place, directory synced.
core::result<void> write_manifest(const fs::path& backup, const core::backup_info& info)
{
    const fs::path temporary = backup / (std::string(manifest_name) + ".tmp");
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << manifest_text(info);
        if (!out.flush())
            return failure(errc::internal,
                           "cannot write " + temporary.string() + ": " + std::strerror(errno));
    }
    std::error_code ec;
    if (!sync_path(temporary))
        return failure(errc::internal, "cannot sync " + temporary.string() + ": " + std::strerror(errno));
    fs::rename(temporary, backup / manifest_name, ec);
    if (ec)
        return file_failure("cannot name the manifest of " + backup.string(), ec);
    if (!sync_path(backup))
        return failure(errc::internal, "cannot sync " + backup.string() + ": " + std::strerror(errno));
    return {};
}

// Opens the database in `dir` read-only (replaying its write-ahead log in memory, writing nothing but
// RocksDB's own LOG file) and returns its change feed's last sequence, after checking it against the
// newest event as the store does at open. With `verify_blocks`, every block's checksum is read too.
core::result<std::uint64_t> read_copy(const fs::path& dir, bool verify_blocks)
{
    rocksdb::Options options;
    options.paranoid_checks = true;
    std::vector<std::string> families;
    auto s = rocksdb::DB::ListColumnFamilies(options, dir.string(), &families);
    if (!s.ok())
        return engine_failure("cannot read the database's column families", s);
    if (std::find(families.begin(), families.end(), "meta") == families.end() ||
        std::find(families.begin(), families.end(), "events") == families.end())
        return failure(errc::internal,
                       "the database has no meta or events column family: it is not reqstore's");
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : families)
        descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* opened = nullptr;
    s = rocksdb::DB::OpenForReadOnly(options, dir.string(), descriptors, &handles, &opened);
    if (!s.ok())
        return engine_failure("cannot open the database", s);
    std::unique_ptr<rocksdb::DB> db(opened);
    const auto handle_of = [&](std::string_view name)
    {
        return handles[static_cast<std::size_t>(std::find(families.begin(), families.end(), name) -
                                                families.begin())];
    };

    core::result<std::uint64_t> out = failure(errc::internal, "not read");
    std::string value;
    s = db->Get(rocksdb::ReadOptions(), handle_of("meta"), slice(meta_sequence_key), &value);
    if (!s.ok() && !s.IsNotFound())
        out = engine_failure("cannot read the event sequence", s);
    else
    {
        const std::uint64_t sequence = s.IsNotFound() ? 0 : read_be64(value).value_or(0);
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handle_of("events")));
        it->SeekToLast();
        const std::uint64_t newest =
            it->Valid() ? read_be64(std::string_view(it->key().data(), it->key().size())).value_or(0) : 0;
        if (!it->status().ok())
            out = engine_failure("cannot read the change feed", it->status());
        else if (newest != 0 && newest != sequence)
            out = failure(errc::internal, "its event sequence counter (" + std::to_string(sequence) +
                                              ") disagrees with its newest event (" + std::to_string(newest) +
                                              ")");
        else
            out = sequence;
    }
    if (out && verify_blocks)
        if (s = db->VerifyChecksum(); !s.ok())
            out = engine_failure("a block's checksum does not match", s);
    for (auto* handle : handles)
        db->DestroyColumnFamilyHandle(handle);
    db->Close();
    return out;
}

} // namespace

rocks_backups::rocks_backups(rocks_store& store, std::string dir) : store_(store), dir_(std::move(dir))
{
    remove_interrupted();
}

void rocks_backups::remove_interrupted()
{
    std::error_code ec;
    if (!fs::is_directory(dir_, ec))
        return;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    {
        const std::string name = it->path().filename().string();
        if (!it->is_directory() || !name.starts_with("bkp_") || fs::exists(it->path() / manifest_name))
            continue;
        std::error_code removed;
        fs::remove_all(it->path(), removed);
        ops::log().warn(
            "removed an interrupted backup",
            {{"dir", it->path().string()}, {"error", removed ? removed.message() : std::string()}});
    }
}

rocks_backups::~rocks_backups()
{
    stop();
}

void rocks_backups::stop()
{
    worker_.join();
}

net::awaitable<core::result<core::backup_info>> rocks_backups::create_backup()
{
    co_return co_await net::co_spawn(
        worker_, [this]() -> net::awaitable<core::result<core::backup_info>> { co_return take_backup(); },
        net::use_awaitable);
}

// A few directory entries and small files: read at once, not behind a backup under way on worker_.
net::awaitable<core::result<std::vector<core::backup_info>>> rocks_backups::list_backups()
{
    co_return read_backups();
}

core::result<core::backup_info> rocks_backups::take_backup()
{
    const fs::path root(dir_);
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec)
        return file_failure("backup.dir " + dir_ + ": cannot create it", ec);
    core::backup_info info{};
    info.created_at = core::now_millis();
    info.id = backup_id(info.created_at);
    fs::path backup = root / info.id;
    for (int n = 2; fs::exists(backup, ec); ++n) // two backups within a millisecond
        backup = root / (info.id + "-" + std::to_string(n));
    info.id = backup.filename().string();
    fs::create_directory(backup, ec);
    if (ec)
        return file_failure("backup.dir " + dir_ + ": cannot create " + info.id, ec);

    const auto abandon = [&](failure why)
    {
        std::error_code ignored;
        fs::remove_all(backup, ignored);
        ops::log().error("backup failed", {{"id", info.id}, {"error", why.detail}});
        return why;
    };
    if (auto written = store_.write_checkpoint((backup / database_name).string()); !written)
        return abandon(written.error());
    auto sequence = read_copy(backup / database_name, false);
    if (!sequence)
        return abandon(failure(errc::internal, "the checkpoint does not open: " + sequence.error().detail));
    info.sequence = *sequence;
    const auto bytes = sync_tree(backup);
    if (!bytes)
        return abandon(
            failure(errc::internal, "cannot sync " + backup.string() + ": " + std::strerror(errno)));
    info.bytes = *bytes;
    if (auto saved = write_manifest(backup, info); !saved)
        return abandon(saved.error());
    ops::log().info(
        "backup written",
        {{"id", info.id}, {"sequence", info.sequence}, {"bytes", info.bytes}, {"dir", backup.string()}});
    return info;
}

core::result<std::vector<core::backup_info>> rocks_backups::read_backups() const
{
    std::vector<core::backup_info> out;
    std::error_code ec;
    if (!fs::exists(dir_, ec))
        return out;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    {
        const fs::path manifest = it->path() / manifest_name;
        if (!it->is_directory() || !fs::exists(manifest))
            continue; // an interrupted backup, or something else
        if (auto info = read_manifest(manifest))
            out.push_back(std::move(*info));
        else
            ops::log().warn("a backup's manifest is damaged", {{"path", manifest.string()}});
    }
    if (ec)
        return file_failure("backup.dir " + dir_ + ": cannot read it", ec);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

core::result<core::backup_info> restore_backup(const std::string& from, const std::string& data_dir)
{
    const fs::path source(from);
    // "restored/" names the directory "restored": its sibling, not a child, is the staging directory.
    fs::path target = fs::path(data_dir).lexically_normal();
    if (target.has_parent_path() && !target.has_filename())
        target = target.parent_path();
    std::error_code ec;
    if (!fs::is_directory(source, ec))
        return failure(errc::bad_request, from + ": no such directory");
    if (!fs::exists(source / manifest_name, ec))
        return failure(errc::bad_request, from + " is not a complete reqstore backup: it has no " +
                                              std::string(manifest_name) +
                                              " (name a backup's own directory, such as backups/bkp_...)");
    auto info = read_manifest(source / manifest_name);
    if (!info)
        return info.error();
    if (!fs::is_directory(source / database_name, ec))
        return failure(errc::internal,
                       from + " is damaged: its " + std::string(database_name) + "/ directory is missing");
    if (fs::exists(target, ec) && !fs::is_empty(target, ec))
        return failure(errc::bad_request,
                       data_dir + " exists and is not empty: restore into a new directory");

    const fs::path staging = target.string() + ".restoring";
    if (target.empty() || target == "." || target == "/")
        return failure(errc::bad_request,
                       "--data-dir " + data_dir + " cannot be restored into: name a new directory");
    fs::remove_all(staging, ec);
    fs::copy(source / database_name, staging, fs::copy_options::recursive, ec);
    const auto give_up = [&](failure why)
    {
        std::error_code ignored;
        fs::remove_all(staging, ignored);
        return why;
    };
    if (ec)
        return give_up(file_failure("cannot copy " + from + " to " + staging.string(), ec));
    auto sequence = read_copy(staging, true);
    if (!sequence)
        return give_up(failure(errc::internal, from + " is damaged: " + sequence.error().detail));
    if (*sequence != info->sequence)
        return give_up(failure(errc::internal, from + " is damaged: its database ends at sequence " +
                                                   std::to_string(*sequence) + ", its manifest says " +
                                                   std::to_string(info->sequence)));
    if (!sync_tree(staging))
        return give_up(
            failure(errc::internal, "cannot sync " + staging.string() + ": " + std::strerror(errno)));
    fs::remove(target, ec); // an empty directory, or nothing
    fs::rename(staging, target, ec);
    if (ec)
        return give_up(file_failure("cannot rename " + staging.string() + " to " + data_dir, ec));
    sync_path(fs::absolute(target).parent_path());
    return info;
}

} // namespace reqstore::store
