// A concurrent write load that records every acknowledged (2xx) version, for crash and shutdown tests.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "harness.hpp"

namespace reqstore::test
{

// One acknowledged write: the record, the version the answer named, and the answer's body.
struct ack
{
    std::string id;
    std::int64_t version = 0;
    json::object body;
};

// Threads that write until stopped or until the server goes away: `own` threads each create a record and
// chain If-Match PUTs on it; `shared` threads increment a counter on one shared record (GET, PUT with
// If-Match, retry on 412). A transport failure (the server died or closed) ends a thread quietly; an
// answer other than 2xx, 412 or 503 is recorded as unexpected and ends it too.
class write_load
{
public:
    write_load(const server& srv, int own, int shared, std::string shared_id)
        : port_(srv.port()), shared_id_(std::move(shared_id))
    {
        running_ = own + shared;
        for (int t = 0; t < own; ++t)
            threads_.emplace_back([this, t] { run_own(t); });
        for (int t = 0; t < shared; ++t)
            threads_.emplace_back([this] { run_shared(); });
    }

    ~write_load() { stop_and_join(); }

    // Waits until at least n writes were acknowledged; false when `within` passed first.
    bool wait_for_acks(std::size_t n, millis within)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, within, [&] { return acks_.size() >= n || running_ == 0; }) &&
               acks_.size() >= n;
    }

    void stop_and_join()
    {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

    std::vector<ack> acks() const
    {
        std::lock_guard lock(mutex_);
        return acks_;
    }

    std::vector<std::string> unexpected() const
    {
        std::lock_guard lock(mutex_);
        return unexpected_;
    }

private:
    void record(const std::string& id, const response& r)
    {
        auto body = r.object();
        std::lock_guard lock(mutex_);
        acks_.push_back({id, number(body, "version"), std::move(body)});
        cv_.notify_all();
    }

    void odd(const std::string& what)
    {
        std::lock_guard lock(mutex_);
        unexpected_.push_back(what);
    }

    void done()
    {
        std::lock_guard lock(mutex_);
        --running_;
        cv_.notify_all();
    }

    void run_own(int t)
    {
        try
        {
            client c(port_, 10s);
            auto created =
                c.post("/v1/requests", "{\"type\":\"request\",\"writer\":" + std::to_string(t) + "}");
            if (created.status() != 201)
            {
                if (created.status() != 503)
                    odd("create: " + describe(created));
                done();
                return;
            }
            const std::string id = text(created.object(), "id");
            record(id, created);
            std::string etag = created.header("ETag");
            for (int k = 1; !stop_; ++k)
            {
                const std::string body = "{\"seq\":" + std::to_string(k) + ",\"blob\":\"" +
                                         std::to_string(t) + "-" + std::to_string(k) + "-" +
                                         std::string(64, 'b') + "\"}";
                auto r = c.put(path_of(id), body, {{"If-Match", etag}});
                if (r.status() != 200)
                {
                    if (r.status() != 503)
                        odd("PUT " + id + " If-Match " + etag + ": " + describe(r));
                    break;
                }
                record(id, r);
                etag = r.header("ETag");
            }
        }
        catch (const std::exception&)
        {
            // The server went away: the write in flight is not acknowledged.
        }
        done();
    }

    void run_shared()
    {
        try
        {
            client c(port_, 10s);
            const std::string path = path_of(shared_id_);
            while (!stop_)
            {
                auto g = c.get(path);
                if (g.status() != 200)
                {
                    if (g.status() != 503)
                        odd("GET " + path + ": " + describe(g));
                    break;
                }
                const auto n = number(g.object(), "counter");
                auto r = c.put(path, "{\"counter\":" + std::to_string(n + 1) + "}",
                               {{"If-Match", g.header("ETag")}});
                if (r.status() == 200)
                    record(shared_id_, r);
                else if (r.status() != 412)
                {
                    if (r.status() != 503)
                        odd("PUT " + path + ": " + describe(r));
                    break;
                }
            }
        }
        catch (const std::exception&)
        {
        }
        done();
    }

    std::uint16_t port_;
    std::string shared_id_;
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<ack> acks_;               // guarded by mutex_
    std::vector<std::string> unexpected_; // guarded by mutex_
    int running_ = 0;                     // guarded by mutex_: threads not yet finished
};

// Every acknowledged version reads back as acknowledged, each record is at least at its highest
// acknowledged version, and its history has every version from 1 to the current one.
inline void expect_acknowledged_writes_kept(client& c, const std::vector<ack>& acks)
{
    std::map<std::string, std::int64_t> highest;
    for (const auto& a : acks)
        highest[a.id] = std::max(highest[a.id], a.version);
    for (const auto& [id, top] : highest)
    {
        auto r = c.get(path_of(id));
        ASSERT_EQ(r.status(), 200u) << "acknowledged record " << id << " is missing" << r;
        const auto current = number(r.object(), "version");
        EXPECT_GE(current, top) << id << ": the current version is older than an acknowledged one";
        auto h = history_of(c, id);
        ASSERT_EQ(static_cast<std::int64_t>(h.size()), current) << id << ": history has gaps";
        for (std::size_t i = 0; i < h.size(); ++i)
            ASSERT_EQ(number(h[i], "version"), current - static_cast<std::int64_t>(i))
                << id << ": history gap";
    }
    for (const auto& a : acks)
    {
        auto r = c.get(path_of(a.id) + "/versions/" + std::to_string(a.version));
        ASSERT_EQ(r.status(), 200u) << a.id << " version " << a.version << r;
        EXPECT_EQ(r.object(), a.body)
            << a.id << " version " << a.version << " differs from what was acknowledged";
    }
}

} // namespace reqstore::test
