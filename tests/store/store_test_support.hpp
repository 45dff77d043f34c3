// What the store tests share: records as a test writes them (one `change` per version), running a
// store's awaitable to completion under a hard deadline, and readable strings of what a store returns.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace reqstore::test
{

// Every asynchronous wait of the store tests ends by then: a bug fails the test instead of hanging it.
constexpr auto store_deadline = std::chrono::seconds(30);

constexpr core::unix_millis base_time = 1'700'000'000'000; // 2023-11-14T22:13:20Z

// The tag the tests give version `version` of a record (0 for "no version"). Any value names one
// commit, as long as two writers of one version choose different ones.
constexpr std::uint64_t tag_of(std::uint64_t version)
{
    return version == 0 ? 0 : 0x7a90'0000 + version;
}

// One version of a record, as a test writes it.
struct change
{
    std::string id;
    std::uint64_t version = 1; // the commit expects version - 1, with tag_of(version - 1)
    std::string status = "pending";
    std::string type = "request";
    core::unix_millis at = base_time;
    bool deleted = false;
    std::size_t events = 1;
    std::uint64_t tag = 0;                     // of this version; 0 means tag_of(version)
    std::optional<core::predecessor> expected; // replaces the predecessor it was judged against
};

inline std::string body_of(const change& c)
{
    return R"({"id":")" + c.id + R"(","type":")" + c.type + R"(","status":")" + c.status + R"(","version":)" +
           std::to_string(c.version) + "}";
}

inline core::commit_request make_commit(const change& c)
{
    core::commit_request r;
    r.id = c.id;
    r.expected = c.expected.value_or(core::predecessor{c.version - 1, tag_of(c.version - 1)});
    r.next.version = c.version;
    r.next.tag = c.tag != 0 ? c.tag : tag_of(c.version);
    r.next.updated_at = c.at;
    r.next.deleted = c.deleted;
    r.next.type = c.type;
    r.next.status = c.status;
    r.next.updated_by = "dev";
    r.next.changed =
        c.version == 1 ? std::vector<std::string>{"type", "status"} : std::vector<std::string>{"status"};
    r.next.body = body_of(c);
    for (std::size_t i = 0; i < c.events; ++i)
    {
        core::event_draft e;
        e.name = c.deleted ? "request.deleted" : c.version == 1 ? "request.created" : "request.updated";
        e.id = c.id;
        e.type = c.type;
        e.version = c.version;
        e.status = c.status;
        e.at = c.at;
        r.events.push_back(std::move(e));
    }
    return r;
}

// Runs `op` on `ioc` (on this thread) until it completes, and returns its outcome. Throws, failing
// the test, when it has not completed within store_deadline.
template <class T>
T run_with_deadline(boost::asio::io_context& ioc, boost::asio::awaitable<T> op)
{
    auto outcome = boost::asio::co_spawn(ioc, std::move(op), boost::asio::use_future);
    const auto until = std::chrono::steady_clock::now() + store_deadline;
    while (outcome.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    {
        if (std::chrono::steady_clock::now() >= until)
            throw std::runtime_error("a call to the store did not complete within the deadline");
        ioc.restart();
        // Nothing to run here: the outcome may still come from another thread.
        if (ioc.run_one_until(until) == 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return outcome.get();
}

inline std::string describe(const core::result<core::commit_receipt>& r)
{
    if (r.has_value())
        return "first_sequence " + std::to_string(r->first_sequence);
    return "errc " + std::to_string(static_cast<int>(r.error().code)) + ": " + r.error().detail;
}

// "id@version status" for each entry (the id only when given), comma-separated.
inline std::string show(const std::vector<core::stored_version>& versions, const std::string& id = {})
{
    std::string out;
    for (const auto& v : versions)
    {
        if (!out.empty())
            out += ", ";
        out += (id.empty() ? "" : id + "@") + std::to_string(v.version) + " " + v.status +
               (v.deleted ? " deleted" : "");
    }
    return out;
}

// The ids of a page, comma-separated, then " | more after <id>" when more may follow.
inline std::string show(const core::list_page& page)
{
    std::string out;
    for (const auto& v : page.records)
    {
        if (!out.empty())
            out += ",";
        // The body starts with {"id":"<id>"
        const auto start = v.body.find(R"("id":")") + 6;
        out += v.body.substr(start, v.body.find('"', start) - start);
    }
    if (page.last_examined_id)
        out += " | more after " + *page.last_examined_id;
    return out;
}

} // namespace reqstore::test
