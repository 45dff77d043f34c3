// The fault-injecting file system of reqstore-faultfs: per-file synced lengths, per-directory undo
// of name changes not yet made durable, and injected WAL failures (fault_fs.hpp has the model).
#include "fault_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace reqstore::faultfs
{
namespace fs = std::filesystem;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

namespace
{

constexpr std::string_view trash_dir_name = ".faultfs-trash";

bool is_wal_name(std::string_view path)
{
    const auto slash = path.find_last_of('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (name.size() <= 4 || !name.ends_with(".log"))
        return false;
    return std::all_of(name.begin(), name.end() - 4, [](char c) { return c >= '0' && c <= '9'; });
}

bool exists(const std::string& path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

std::uint64_t size_on_disk(const std::string& path)
{
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

IOStatus injected(std::string_view what)
{
    return IOStatus::IOError("reqstore-faultfs: injected " + std::string(what) + " failure");
}

// A file opened for writing: every call passes the gate; appends and syncs are counted.
class fault_writable_file final : public rocksdb::FSWritableFileOwnerWrapper
{
public:
    fault_writable_file(std::unique_ptr<rocksdb::FSWritableFile> target, fault_file_system& fs,
                        std::shared_ptr<fault_file_system::file_state> state)
        : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), state_(std::move(state))
    {
    }

    ~fault_writable_file() override { fs_.closed(*state_); }

    IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        if (state_->wal && fs_.fail_write_now(std::string_view(data.data(), data.size())))
            return injected("WAL write");
        auto s = target()->Append(data, options, dbg);
        if (s.ok())
            fs_.appended(*state_, data.size());
        return s;
    }
    IOStatus Append(const Slice& data, const IOOptions& options, const rocksdb::DataVerificationInfo& info,
                    IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        if (state_->wal && fs_.fail_write_now(std::string_view(data.data(), data.size())))
            return injected("WAL write");
        auto s = target()->Append(data, options, info, dbg);
        if (s.ok())
            fs_.appended(*state_, data.size());
        return s;
    }
    IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                              IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        auto s = target()->PositionedAppend(data, offset, options, dbg);
        if (s.ok())
            fs_.positioned(*state_, offset + data.size());
        return s;
    }
    IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                              const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        auto s = target()->PositionedAppend(data, offset, options, info, dbg);
        if (s.ok())
            fs_.positioned(*state_, offset + data.size());
        return s;
    }
    IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        auto s = target()->Truncate(size, options, dbg);
        if (s.ok())
            fs_.truncated(*state_, size);
        return s;
    }
    // Closing makes nothing durable: what was not synced stays at risk.
    IOStatus Close(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        auto s = target()->Close(options, dbg);
        fs_.closed(*state_);
        return s;
    }
    IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return target()->Flush(options, dbg);
    }
    IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override
    {
        return sync(options, dbg, false);
    }
    IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override
    {
        return sync(options, dbg, true);
    }
    // sync_file_range starts writeback and waits for nothing: the bytes do not count as durable.
    IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                       IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return target()->RangeSync(offset, nbytes, options, dbg);
    }
    IOStatus Allocate(uint64_t offset, uint64_t len, const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return target()->Allocate(offset, len, options, dbg);
    }

private:
    IOStatus sync(const IOOptions& options, IODebugContext* dbg, bool full)
    {
        fault_file_system::operation op(fs_);
        if (state_->wal && fs_.fail_sync_now(*state_))
        {
            const auto kept = fs_.drop_unsynced(*state_);
            // The writer's own idea of the file's end follows, so that closing it does not extend
            // the file again.
            target()->Truncate(kept, options, dbg).PermitUncheckedError();
            return injected("WAL sync");
        }
        // Only what was written before the sync started is made durable by it.
        const std::uint64_t up_to = fs_.size_of(*state_);
        auto s = full ? target()->Fsync(options, dbg) : target()->Sync(options, dbg);
        if (s.ok())
            fs_.synced(*state_, up_to);
        return s;
    }

    fault_file_system& fs_;
    std::shared_ptr<fault_file_system::file_state> state_;
};

// A directory: its fsync makes the name changes made in it before the fsync durable.
class fault_directory final : public rocksdb::FSDirectory
{
public:
    fault_directory(std::unique_ptr<rocksdb::FSDirectory> target, fault_file_system& fs, std::string path)
        : target_(std::move(target)), fs_(fs), path_(std::move(path))
    {
    }

    IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        const auto up_to = fs_.next_entry();
        auto s = target_->Fsync(options, dbg);
        if (s.ok())
            fs_.directory_synced(path_, up_to);
        return s;
    }
    IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                                 const rocksdb::DirFsyncOptions& dir_options) override
    {
        fault_file_system::operation op(fs_);
        const auto up_to = fs_.next_entry();
        auto s = target_->FsyncWithDirOptions(options, dbg, dir_options);
        if (s.ok())
            fs_.directory_synced(path_, up_to);
        return s;
    }
    IOStatus Close(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return target_->Close(options, dbg);
    }
    size_t GetUniqueId(char* id, size_t max_size) const override
    {
        return target_->GetUniqueId(id, max_size);
    }

private:
    std::unique_ptr<rocksdb::FSDirectory> target_;
    fault_file_system& fs_;
    std::string path_;
};

// A file opened for random read-write: only gated (fault_fs.hpp: not modelled).
class gated_random_rw_file final : public rocksdb::FSRandomRWFileOwnerWrapper
{
public:
    gated_random_rw_file(std::unique_ptr<rocksdb::FSRandomRWFile> target, fault_file_system& fs)
        : FSRandomRWFileOwnerWrapper(std::move(target)), fs_(fs)
    {
    }
    IOStatus Write(uint64_t offset, const Slice& data, const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return FSRandomRWFileOwnerWrapper::Write(offset, data, options, dbg);
    }
    IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return FSRandomRWFileOwnerWrapper::Flush(options, dbg);
    }
    IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return FSRandomRWFileOwnerWrapper::Sync(options, dbg);
    }
    IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return FSRandomRWFileOwnerWrapper::Fsync(options, dbg);
    }
    IOStatus Close(const IOOptions& options, IODebugContext* dbg) override
    {
        fault_file_system::operation op(fs_);
        return FSRandomRWFileOwnerWrapper::Close(options, dbg);
    }

private:
    fault_file_system& fs_;
};

std::optional<std::uint64_t> parse_count(std::string_view text)
{
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

} // namespace

// ---- paths and output ---------------------------------------------------------------------------

std::string normal_path(std::string_view path)
{
    std::string out = fs::path(path).lexically_normal().string();
    while (out.size() > 1 && out.back() == '/')
        out.pop_back();
    return out;
}

std::string parent_of(std::string_view path)
{
    return fs::path(normal_path(path)).parent_path().string();
}

void announce(std::string_view line)
{
    std::string text(line);
    text.push_back('\n');
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0)
    {
        const auto n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

std::variant<failure_plan, plan_error> parse_failure_plan(std::string_view text)
{
    failure_plan plan;
    while (!text.empty())
    {
        const auto comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const auto colon = item.find(':');
        if (colon == std::string_view::npos)
            return plan_error{"\"" + std::string(item) + "\" is not <operation>:<when>"};
        const std::string_view operation = item.substr(0, colon);
        const std::string_view when = item.substr(colon + 1);
        failure_plan::rule* rule = operation == "sync"    ? &plan.sync
                                   : operation == "write" ? &plan.write
                                                          : nullptr;
        if (!rule)
            return plan_error{"unknown operation \"" + std::string(operation) + "\" (sync or write)"};
        if (when == "on-signal")
            rule->on_signal = true;
        else if (when.starts_with("marker="))
        {
            rule->marker = std::string(when.substr(7));
            if (rule->marker.empty())
                return plan_error{"marker= needs a text"};
        }
        else if (when.starts_with("after="))
        {
            const auto count = parse_count(when.substr(6));
            if (!count)
                return plan_error{"\"" + std::string(when) + "\" needs a count: after=N"};
            rule->after = *count;
        }
        else
            return plan_error{"unknown trigger \"" + std::string(when) + "\" (after=N or on-signal)"};
    }
    return plan;
}

// ---- the file system ----------------------------------------------------------------------------

fault_file_system::fault_file_system(std::shared_ptr<rocksdb::FileSystem> base, failure_plan plan)
    : FileSystemWrapper(std::move(base)), plan_(plan)
{
}

void fault_file_system::enter()
{
    std::unique_lock lock(gate_mutex_);
    // After a power loss nothing more may reach the disk: the caller waits until the process ends.
    gate_changed_.wait(lock, [this] { return !power_lost_; });
    ++in_flight_;
}

void fault_file_system::leave()
{
    std::lock_guard lock(gate_mutex_);
    if (--in_flight_ == 0)
        gate_changed_.notify_all();
}

void fault_file_system::arm()
{
    std::lock_guard lock(state_mutex_);
    sync_armed_ = plan_.sync.on_signal;
    write_armed_ = plan_.write.on_signal;
}

bool fault_file_system::fail_sync_now(const file_state& file)
{
    std::lock_guard lock(state_mutex_);
    ++syncs_seen_;
    bool fail = sync_armed_ || (plan_.sync.after && syncs_seen_ == *plan_.sync.after + 1);
    if (!fail && !plan_.sync.marker.empty() && !sync_marker_seen_ && file.size > file.synced)
    {
        // What this sync would make durable is in the page cache already: read it back.
        std::string unsynced(file.size - file.synced, '\0');
        const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
        {
            const auto n = ::pread(fd, unsynced.data(), unsynced.size(), static_cast<off_t>(file.synced));
            ::close(fd);
            unsynced.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
            fail = sync_marker_seen_ = unsynced.find(plan_.sync.marker) != std::string::npos;
        }
    }
    if (fail)
        sync_armed_ = false;
    return fail;
}

bool fault_file_system::fail_write_now(std::string_view data)
{
    std::lock_guard lock(state_mutex_);
    ++writes_seen_;
    bool fail = write_armed_ || (plan_.write.after && writes_seen_ == *plan_.write.after + 1);
    if (!fail && !plan_.write.marker.empty() && !write_marker_seen_)
        fail = write_marker_seen_ = data.find(plan_.write.marker) != std::string_view::npos;
    if (fail)
    {
        write_armed_ = false;
        announce("reqstore-faultfs: injected a WAL write failure");
    }
    return fail;
}

std::uint64_t fault_file_system::size_of(const file_state& file)
{
    std::lock_guard lock(state_mutex_);
    return file.size;
}

void fault_file_system::appended(file_state& file, std::uint64_t bytes)
{
    std::lock_guard lock(state_mutex_);
    file.size += bytes;
}

void fault_file_system::positioned(file_state& file, std::uint64_t end)
{
    std::lock_guard lock(state_mutex_);
    file.size = std::max(file.size, end);
}

void fault_file_system::truncated(file_state& file, std::uint64_t size)
{
    std::lock_guard lock(state_mutex_);
    file.size = size;
    file.synced = std::min(file.synced, size);
}

void fault_file_system::synced(file_state& file, std::uint64_t up_to)
{
    std::lock_guard lock(state_mutex_);
    file.synced = std::max(file.synced, std::min(up_to, file.size));
}

void fault_file_system::closed(file_state& file)
{
    std::lock_guard lock(state_mutex_);
    if (!file.open)
        return;
    file.open = false;
    // A closed file that is wholly durable needs no more tracking.
    const auto it = files_.find(file.path);
    if (it != files_.end() && it->second.get() == &file && file.synced >= file.size)
        files_.erase(it);
}

std::uint64_t fault_file_system::drop_unsynced(file_state& file)
{
    std::lock_guard lock(state_mutex_);
    const std::uint64_t dropped = file.size - file.synced;
    if (::truncate(file.path.c_str(), static_cast<off_t>(file.synced)) != 0)
        announce("reqstore-faultfs: cannot cut " + file.path + ": " + std::strerror(errno));
    file.size = file.synced;
    announce("reqstore-faultfs: injected a WAL sync failure on " + file.path + " (" +
             std::to_string(dropped) + " unsynced bytes dropped)");
    return file.synced;
}

std::uint64_t fault_file_system::next_entry()
{
    std::lock_guard lock(state_mutex_);
    return next_entry_;
}

void fault_file_system::directory_synced(const std::string& dir, std::uint64_t up_to)
{
    std::lock_guard lock(state_mutex_);
    std::erase_if(changes_,
                  [&](const undo_entry& e)
                  {
                      if (e.dir != dir || e.number >= up_to)
                          return false;
                      if (!e.saved.empty())
                      {
                          ::unlink(e.saved.c_str());
                          files_.erase(e.saved);
                      }
                      return true;
                  });
}

void fault_file_system::clear_trash_once(const std::string& dir)
{
    if (!trash_cleared_.insert(dir).second)
        return;
    // Left by an earlier process that ended without a power loss: nothing of it is needed.
    std::error_code ec;
    fs::remove_all(fs::path(dir) / trash_dir_name, ec);
}

std::string fault_file_system::save_to_trash(const std::string& path)
{
    const std::string dir = parent_of(path);
    clear_trash_once(dir);
    const fs::path trash = fs::path(dir) / trash_dir_name;
    ::mkdir(trash.c_str(), 0700);
    const std::string saved =
        (trash / (std::to_string(++trash_counter_) + "-" + fs::path(path).filename().string())).string();
    if (::link(path.c_str(), saved.c_str()) != 0)
        return {};
    if (const auto it = files_.find(path); it != files_.end())
    {
        it->second->path = saved;
        files_[saved] = it->second;
        files_.erase(it);
    }
    return saved;
}

void fault_file_system::log_change(undo_entry entry)
{
    entry.number = next_entry_++;
    changes_.push_back(std::move(entry));
}

std::shared_ptr<fault_file_system::file_state>
fault_file_system::track(const std::string& path, std::uint64_t size, std::uint64_t synced)
{
    auto state = std::make_shared<file_state>();
    state->path = path;
    state->size = size;
    state->synced = synced;
    state->wal = is_wal_name(path);
    files_[path] = state;
    return state;
}

IOStatus fault_file_system::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                            std::unique_ptr<rocksdb::FSWritableFile>* result,
                                            IODebugContext* dbg)
{
    operation op(*this);
    const std::string path = normal_path(fname);
    std::lock_guard lock(state_mutex_);
    clear_trash_once(parent_of(path));
    // An existing file is replaced: its old contents stay recoverable until the directory syncs. It
    // is moved aside (not linked), since opening truncates the file in place.
    std::string saved;
    if (exists(path))
    {
        const std::string dir = parent_of(path);
        const fs::path trash = fs::path(dir) / trash_dir_name;
        ::mkdir(trash.c_str(), 0700);
        saved =
            (trash / (std::to_string(++trash_counter_) + "-" + fs::path(path).filename().string())).string();
        if (::rename(path.c_str(), saved.c_str()) != 0)
            saved.clear();
        else if (const auto it = files_.find(path); it != files_.end())
        {
            it->second->path = saved;
            files_[saved] = it->second;
            files_.erase(it);
        }
    }
    auto s = target()->NewWritableFile(fname, options, result, dbg);
    if (!s.ok())
    {
        if (!saved.empty())
            ::rename(saved.c_str(), path.c_str());
        return s;
    }
    log_change({.what = undo_entry::kind::created, .dir = parent_of(path), .path = path, .saved = saved});
    *result = std::make_unique<fault_writable_file>(std::move(*result), *this, track(path, 0, 0));
    return s;
}

IOStatus fault_file_system::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                               std::unique_ptr<rocksdb::FSWritableFile>* result,
                                               IODebugContext* dbg)
{
    operation op(*this);
    const std::string path = normal_path(fname);
    std::lock_guard lock(state_mutex_);
    const bool existed = exists(path);
    auto s = target()->ReopenWritableFile(fname, options, result, dbg);
    if (!s.ok())
        return s;
    std::shared_ptr<file_state> state;
    if (const auto it = files_.find(path); it != files_.end())
    {
        state = it->second;
        state->open = true;
    }
    else
    {
        // Contents found on disk were durable before this process wrote to them.
        const auto size = size_on_disk(path);
        state = track(path, size, size);
    }
    if (!existed)
        log_change({.what = undo_entry::kind::created, .dir = parent_of(path), .path = path});
    *result = std::make_unique<fault_writable_file>(std::move(*result), *this, std::move(state));
    return s;
}

IOStatus fault_file_system::ReuseWritableFile(const std::string&, const std::string&,
                                              const rocksdb::FileOptions&,
                                              std::unique_ptr<rocksdb::FSWritableFile>*, IODebugContext*)
{
    // Recycled log files (recycle_log_file_num) are not modelled; reqstore does not enable them.
    return IOStatus::NotSupported("reqstore-faultfs does not model recycled files");
}

IOStatus fault_file_system::NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& options,
                                            std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                            IODebugContext* dbg)
{
    operation op(*this);
    auto s = target()->NewRandomRWFile(fname, options, result, dbg);
    if (s.ok())
        *result = std::make_unique<gated_random_rw_file>(std::move(*result), *this);
    return s;
}

IOStatus fault_file_system::NewDirectory(const std::string& name, const IOOptions& options,
                                         std::unique_ptr<rocksdb::FSDirectory>* result, IODebugContext* dbg)
{
    operation op(*this);
    const std::string path = normal_path(name);
    {
        std::lock_guard lock(state_mutex_);
        clear_trash_once(path);
    }
    auto s = target()->NewDirectory(name, options, result, dbg);
    if (s.ok())
        *result = std::make_unique<fault_directory>(std::move(*result), *this, path);
    return s;
}

IOStatus fault_file_system::DeleteFile(const std::string& fname, const IOOptions& options,
                                       IODebugContext* dbg)
{
    operation op(*this);
    const std::string path = normal_path(fname);
    std::lock_guard lock(state_mutex_);
    // Deleting is moving aside: the file comes back if the directory is not synced in time.
    const std::string saved = save_to_trash(path);
    auto s = target()->DeleteFile(fname, options, dbg);
    if (!s.ok())
    {
        if (!saved.empty())
        {
            ::unlink(saved.c_str());
            if (const auto it = files_.find(saved); it != files_.end())
            {
                it->second->path = path;
                files_[path] = it->second;
                files_.erase(it);
            }
        }
        return s;
    }
    if (!saved.empty())
        log_change({.what = undo_entry::kind::deleted, .dir = parent_of(path), .path = path, .saved = saved});
    return s;
}

IOStatus fault_file_system::RenameFile(const std::string& from, const std::string& to,
                                       const IOOptions& options, IODebugContext* dbg)
{
    operation op(*this);
    const std::string source = normal_path(from);
    const std::string target_path = normal_path(to);
    std::lock_guard lock(state_mutex_);
    const std::string saved = exists(target_path) ? save_to_trash(target_path) : std::string();
    auto s = target()->RenameFile(from, to, options, dbg);
    if (!s.ok())
    {
        if (!saved.empty())
            ::unlink(saved.c_str());
        files_.erase(saved);
        return s;
    }
    if (const auto it = files_.find(source); it != files_.end())
    {
        it->second->path = target_path;
        files_[target_path] = it->second;
        files_.erase(it);
    }
    log_change({.what = undo_entry::kind::renamed,
                .dir = parent_of(target_path),
                .path = target_path,
                .from = source,
                .saved = saved});
    return s;
}

IOStatus fault_file_system::LinkFile(const std::string& from, const std::string& to, const IOOptions& options,
                                     IODebugContext* dbg)
{
    operation op(*this);
    const std::string target_path = normal_path(to);
    std::lock_guard lock(state_mutex_);
    auto s = target()->LinkFile(from, to, options, dbg);
    if (s.ok())
        log_change({.what = undo_entry::kind::created, .dir = parent_of(target_path), .path = target_path});
    return s;
}

IOStatus fault_file_system::Truncate(const std::string& fname, size_t size, const IOOptions& options,
                                     IODebugContext* dbg)
{
    operation op(*this);
    std::lock_guard lock(state_mutex_);
    auto s = target()->Truncate(fname, size, options, dbg);
    if (s.ok())
        if (const auto it = files_.find(normal_path(fname)); it != files_.end())
        {
            it->second->size = size;
            it->second->synced = std::min<std::uint64_t>(it->second->synced, size);
        }
    return s;
}

IOStatus fault_file_system::CreateDir(const std::string& dirname, const IOOptions& options,
                                      IODebugContext* dbg)
{
    operation op(*this);
    return target()->CreateDir(dirname, options, dbg);
}

IOStatus fault_file_system::CreateDirIfMissing(const std::string& dirname, const IOOptions& options,
                                               IODebugContext* dbg)
{
    operation op(*this);
    return target()->CreateDirIfMissing(dirname, options, dbg);
}

IOStatus fault_file_system::DeleteDir(const std::string& dirname, const IOOptions& options,
                                      IODebugContext* dbg)
{
    operation op(*this);
    return target()->DeleteDir(dirname, options, dbg);
}

power_loss_report fault_file_system::lose_power()
{
    {
        std::unique_lock lock(gate_mutex_);
        power_lost_ = true;
        gate_changed_.wait(lock, [this] { return in_flight_ == 0; });
    }
    // Held until the process ends: nothing may change the state from now on.
    state_mutex_.lock();
    power_loss_report report;
    for (const auto& [path, file] : files_)
    {
        if (file->size <= file->synced)
            continue;
        if (::truncate(path.c_str(), static_cast<off_t>(file->synced)) == 0)
        {
            ++report.files_cut;
            report.bytes_dropped += file->size - file->synced;
        }
    }
    for (auto it = changes_.rbegin(); it != changes_.rend(); ++it)
    {
        switch (it->what)
        {
        case undo_entry::kind::created:
            ::unlink(it->path.c_str());
            if (!it->saved.empty())
                ::rename(it->saved.c_str(), it->path.c_str());
            ++report.creations_undone;
            break;
        case undo_entry::kind::renamed:
            ::rename(it->path.c_str(), it->from.c_str());
            if (!it->saved.empty())
                ::rename(it->saved.c_str(), it->path.c_str());
            ++report.renames_undone;
            break;
        case undo_entry::kind::deleted:
            ::rename(it->saved.c_str(), it->path.c_str());
            ++report.deletions_undone;
            break;
        }
    }
    return report;
}

} // namespace reqstore::faultfs
