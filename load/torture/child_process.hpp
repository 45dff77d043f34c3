// A server or sink started by reqstore-torture: spawned with its stdout on a pipe (to read its
// "listening on HOST:PORT" line) and its stderr appended to a log file, and stopped by a signal.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace reqstore::torture
{

class child_process
{
public:
    child_process() = default;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    // Kills a child still running (SIGKILL) and reaps it.
    ~child_process();

    // Starts `argv[0]` with `argv`, stderr appended to `log_file`, and waits at most `deadline` for
    // the line "listening on HOST:PORT" on its stdout. Returns the port, or an error message (the
    // child is then killed).
    std::optional<std::string> start(const std::vector<std::string>& argv, const std::string& log_file,
                                     std::chrono::milliseconds deadline);

    // Sends `signal` and waits at most `deadline` for the exit. Returns the wait status as
    // waitpid(2) reports it, or nullopt when the child did not exit in time (it is then killed).
    std::optional<int> stop(int signal, std::chrono::milliseconds deadline);

    bool running() const noexcept { return pid_ > 0; }
    pid_t pid() const noexcept { return pid_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::uint16_t port_ = 0;
};

} // namespace reqstore::torture
