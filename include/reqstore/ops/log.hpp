// Structured logging: one JSON object per line on standard error. Lines are buffered and
// written by a background thread, so that logging a request costs no system call on its path.
#pragma once

#include <boost/json/object.hpp>

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace reqstore::ops
{

class logger
{
public:
    logger();
    // Writes what is buffered, then stops the writer thread.
    ~logger();

    logger(const logger&) = delete;
    logger& operator=(const logger&) = delete;

    // {"ts":...,"level":level,"msg":message, ...fields}. Thread-safe.
    void write(std::string_view level, std::string_view message, const boost::json::object& fields = {});
    void info(std::string_view message, const boost::json::object& fields = {})
    {
        write("info", message, fields);
    }
    void warn(std::string_view message, const boost::json::object& fields = {})
    {
        write("warn", message, fields);
    }
    void error(std::string_view message, const boost::json::object& fields = {})
    {
        write("error", message, fields);
    }

    // Appends one preformatted line (no trailing newline). Thread-safe.
    void append_line(std::string_view line);

    // Blocks until everything logged so far is written.
    void flush();

private:
    void run();

    std::mutex mutex_; // guards everything below
    std::condition_variable wake_;
    std::condition_variable flushed_;
    std::string pending_;
    std::size_t generation_written_ = 0;
    std::size_t generation_ = 0;
    bool stopping_ = false;
    std::thread thread_; // last: starts once the members above exist
};

// The process-wide logger.
logger& log();

} // namespace reqstore::ops
