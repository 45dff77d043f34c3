// Spawning with fork and execve, tied to this process's life, reading the listening line with poll(2)
// under a deadline, and stopping.
#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace reqstore::torture
{
namespace
{

using steady = std::chrono::steady_clock;

// The port of a "listening on HOST:PORT" line, or 0.
std::uint16_t port_of(const std::string& line)
{
    constexpr std::string_view prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0)
        return 0;
    const auto colon = line.rfind(':');
    if (colon == std::string::npos)
        return 0;
    unsigned long port = 0;
    try
    {
        port = std::stoul(line.substr(colon + 1));
    }
    catch (const std::exception&)
    {
        return 0;
    }
    return port > 0 && port < 65536 ? static_cast<std::uint16_t>(port) : 0;
}

} // namespace

child_process::~child_process()
{
    if (pid_ > 0)
        (void)stop(SIGKILL, std::chrono::seconds(10));
}

std::optional<std::string> child_process::start(const std::vector<std::string>& argv,
                                                const std::string& log_file,
                                                std::chrono::milliseconds deadline)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return std::string("pipe: ") + std::strerror(errno);
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
    {
        ::close(out[0]);
        ::close(out[1]);
        return "cannot open " + log_file + ": " + std::strerror(errno);
    }
    // The child reports a failed execve's errno here; a successful one closes it (close-on-exec).
    int exec_error[2];
    if (pipe2(exec_error, O_CLOEXEC) != 0)
    {
        ::close(out[0]);
        ::close(out[1]);
        ::close(log_fd);
        return std::string("pipe: ") + std::strerror(errno);
    }
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0)
    {
        // Only async-signal-safe calls from here on. The server and the receivers die with this
        // process (SIGKILL when it ends, however it ends), as the crash test's processes must not
        // outlive the run that audits them.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        ::execve(args[0], args.data(), environ);
        const int failed = errno;
        (void)!::write(exec_error[1], &failed, sizeof failed);
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::close(exec_error[1]);
    ::close(out[1]);
    ::close(log_fd);
    int exec_errno = 0;
    ssize_t got = 0;
    if (pid > 0)
        do
            got = ::read(exec_error[0], &exec_errno, sizeof exec_errno);
        while (got < 0 && errno == EINTR);
    if (got == sizeof exec_errno)
        ::waitpid(pid, nullptr, 0); // it exited at once: reaped here
    else
        exec_errno = 0;
    ::close(exec_error[0]);
    if (pid < 0 || exec_errno != 0)
    {
        ::close(out[0]);
        return "cannot start " + argv[0] + ": " + std::strerror(pid < 0 ? fork_errno : exec_errno);
    }
    pid_ = pid;
    stdout_fd_ = out[0];

    std::string line;
    const auto give_up = steady::now() + deadline;
    while (true)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - steady::now());
        if (left.count() <= 0)
            break;
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char c = 0;
        const auto n = ::read(stdout_fd_, &c, 1);
        if (n <= 0)
            break; // the child closed stdout: it ended
        if (c != '\n')
        {
            line.push_back(c);
            continue;
        }
        if (const auto port = port_of(line))
        {
            port_ = port;
            return std::nullopt;
        }
        line.clear();
    }
    (void)stop(SIGKILL, std::chrono::seconds(10));
    return argv[0] + " printed no \"listening on\" line within " + std::to_string(deadline.count()) +
           " ms (see " + log_file + ")";
}

std::optional<int> child_process::stop(int signal, std::chrono::milliseconds deadline)
{
    if (pid_ <= 0)
        return std::nullopt;
    ::kill(pid_, signal);
    const auto give_up = steady::now() + deadline;
    int status = 0;
    std::optional<int> result;
    while (true)
    {
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_)
        {
            result = status;
            break;
        }
        if (steady::now() >= give_up)
        {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
    stdout_fd_ = -1;
    return result;
}

} // namespace reqstore::torture
