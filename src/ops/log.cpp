// The buffered JSON-lines logger.
#include <reqstore/ops/log.hpp>

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace reqstore::ops
{
namespace
{

// The wall clock as RFC 3339 with milliseconds, "2026-11-22T04:46:31.991Z": the format of
// core::format_rfc3339, written here because ops includes no other module (docs/modules.txt).
std::string timestamp_now()
{
    using namespace std::chrono;
    const auto millis = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[80]; // room for the widest int of every field, as -Wformat-truncation counts
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis % 1000));
    return buffer;
}

} // namespace

logger::logger() : thread_([this] { run(); }) {}

logger::~logger()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void logger::write(std::string_view level, std::string_view message, const boost::json::object& fields)
{
    boost::json::object line;
    line["ts"] = timestamp_now();
    line["level"] = level;
    line["msg"] = message;
    for (const auto& f : fields)
        line[f.key()] = f.value();
    append_line(boost::json::serialize(line));
}

void logger::append_line(std::string_view line)
{
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        pending_.append(line);
        pending_.push_back('\n');
        ++generation_;
        wake = pending_.size() > 64 * 1024;
    }
    if (wake)
        wake_.notify_one();
}

void logger::flush()
{
    std::unique_lock lock(mutex_);
    const std::size_t target = generation_;
    wake_.notify_one();
    flushed_.wait(lock, [&] { return generation_written_ >= target; });
}

void logger::run()
{
    std::string writing;
    std::unique_lock lock(mutex_);
    for (;;)
    {
        wake_.wait_for(lock, std::chrono::milliseconds(50));
        writing.swap(pending_);
        const std::size_t generation = generation_;
        const bool stop = stopping_;
        lock.unlock();
        std::size_t offset = 0;
        while (offset < writing.size())
        {
            const ssize_t n = ::write(STDERR_FILENO, writing.data() + offset, writing.size() - offset);
            if (n <= 0)
                break; // standard error is gone: nothing useful left to do with the lines
            offset += static_cast<std::size_t>(n);
        }
        writing.clear();
        lock.lock();
        generation_written_ = generation;
        flushed_.notify_all();
        if (stop && pending_.empty())
            return;
    }
}

logger& log()
{
    static logger instance;
    return instance;
}

} // namespace reqstore::ops
