// reqstore-faultfs's definition of the storage link seam (rocks_store.hpp): the store runs on the
// fault-injecting file system, and SIGUSR2 (power loss) and SIGUSR1 (arm a failure) reach it through
// a self-pipe and a watcher thread. Linked as an object file, so the server's own definition in the
// static library is never pulled in.
#include <reqstore/store/rocks/rocks_store.hpp>

#include <rocksdb/env.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "fault_fs.hpp"

namespace reqstore::faultfs
{
namespace
{

int signal_pipe[2] = {-1, -1};

// Async-signal-safe: one byte into the pipe, errno kept.
extern "C" void on_fault_signal(int signal)
{
    const int saved = errno;
    const char code = signal == SIGUSR2 ? 'P' : 'A';
    [[maybe_unused]] const auto n = ::write(signal_pipe[1], &code, 1);
    errno = saved;
}

// No reply may leave after the power is gone: every socket of the process (the listener, client
// connections, webhook connections) is shut down before the file system is frozen.
void shut_down_sockets()
{
    DIR* fds = ::opendir("/proc/self/fd");
    if (!fds)
        return;
    const int own = ::dirfd(fds);
    while (const dirent* entry = ::readdir(fds))
    {
        const int fd = std::atoi(entry->d_name);
        if (fd <= STDERR_FILENO || fd == own || fd == signal_pipe[0] || fd == signal_pipe[1])
            continue;
        struct stat st;
        if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
            ::shutdown(fd, SHUT_RDWR);
    }
    ::closedir(fds);
}

class fault_switch
{
public:
    fault_switch()
    {
        failure_plan plan;
        if (const char* text = std::getenv("REQSTORE_FAULTFS_FAIL"); text && *text)
        {
            auto parsed = parse_failure_plan(text);
            if (auto* error = std::get_if<plan_error>(&parsed))
            {
                announce("reqstore-faultfs: REQSTORE_FAULTFS_FAIL: " + error->message);
                std::_Exit(2);
            }
            plan = std::get<failure_plan>(parsed);
        }
        if (const char* mode = std::getenv("REQSTORE_FAULTFS_RECOVERY"); mode && *mode)
        {
            if (std::string_view(mode) != "point-in-time")
            {
                announce("reqstore-faultfs: REQSTORE_FAULTFS_RECOVERY: only \"point-in-time\" is known");
                std::_Exit(2);
            }
            recovery_ = store::wal_recovery::point_in_time;
        }
        file_system_ = std::make_shared<fault_file_system>(rocksdb::FileSystem::Default(), plan);
        env_ = rocksdb::NewCompositeEnv(file_system_);

        if (::pipe2(signal_pipe, O_CLOEXEC) != 0)
        {
            announce("reqstore-faultfs: cannot create the signal pipe");
            std::_Exit(1);
        }
        struct sigaction action = {};
        action.sa_handler = on_fault_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        ::sigaction(SIGUSR1, &action, nullptr);
        ::sigaction(SIGUSR2, &action, nullptr);
        std::thread([this] { watch(); }).detach();
    }

    store::storage_environment environment() const { return {env_, recovery_}; }

private:
    void watch()
    {
        for (;;)
        {
            char code = 0;
            const auto n = ::read(signal_pipe[0], &code, 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n != 1)
                return;
            if (code == 'A')
            {
                file_system_->arm();
                announce("reqstore-faultfs: armed: the next WAL operation the plan names fails");
                continue;
            }
            shut_down_sockets();
            const auto report = file_system_->lose_power();
            announce("reqstore-faultfs: power loss: " + std::to_string(report.bytes_dropped) +
                     " unsynced bytes dropped from " + std::to_string(report.files_cut) +
                     " files; undone: " + std::to_string(report.creations_undone) + " creations, " +
                     std::to_string(report.renames_undone) + " renames, " +
                     std::to_string(report.deletions_undone) + " deletions");
            ::_exit(137);
        }
    }

    std::shared_ptr<fault_file_system> file_system_;
    std::shared_ptr<rocksdb::Env> env_;
    std::optional<store::wal_recovery> recovery_;
};

fault_switch& the_switch()
{
    static fault_switch instance;
    return instance;
}

// Before main(): a SIGUSR2 that arrives before the store opens is a power loss too.
[[maybe_unused]] const bool installed = (the_switch(), true);

} // namespace
} // namespace reqstore::faultfs

namespace reqstore::store
{

storage_environment storage_environment_for(const store_options&)
{
    return faultfs::the_switch().environment();
}

} // namespace reqstore::store
