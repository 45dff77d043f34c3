// What the parts of the PostgreSQL engine share (pg_store.cpp: opening, reads and the outbox;
// pg_writer.cpp: the group commit). Every coroutine of the engine holds a shared_ptr to it, so
// that the pools outlive any call still suspended in them.
#pragma once

#include <reqstore/core/pending_commit.hpp>
#include <reqstore/store/pg/pg_store.hpp>
#include <reqstore/store/pg/pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace reqstore::store::pg
{

// A commit waiting for the writer.
struct queued_write
{
    core::commit_request request;
    std::shared_ptr<core::pending_commit> pending;
    std::size_t bytes = 0; // of bodies, answers and attachments: bounds a batch
};

struct pg_store::shared
{
    shared(pg_options o, boost::asio::any_io_executor e, core::commit_observer obs);

    const pg_options options;
    const boost::asio::any_io_executor executor;
    const core::commit_observer observer;
    pool readers;
    pool writer;   // one connection: batches go in the order they were queued
    pool listener; // one connection, LISTENing for other nodes' commits

    // Guarded by mutex.
    std::mutex mutex;
    std::vector<queued_write> queue;
    bool writing = false; // a write loop runs (pg_writer.cpp)
    bool closed = false;
    std::atomic<bool> listening{true}; // the feed listener runs until this is false

    std::atomic<std::uint64_t> last_sequence{0};
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> commits{0};

    // Raises last_sequence to at least `seen`.
    void saw_sequence(std::uint64_t seen) noexcept;
};

// The failure to report for a call that failed on the database side: store_unavailable when the
// database could not be reached, was lost during the call, or refused for a reason that passes
// (a failover in progress, a standby reached, a server shutting down); internal otherwise.
core::failure failure_of(const query_failure& f, std::string_view what);

// How often the feed listener reads the feed's last sequence without a notification: notifications
// are lost when the connection or the server is (a failover).
constexpr auto feed_poll_interval = std::chrono::milliseconds(250);

// Tells the commit observer of every sequence number committed by any node sharing the database:
// woken by NOTIFY, and every feed_poll_interval anyway (pg_store.cpp).
boost::asio::awaitable<void> listen_for_commits(std::shared_ptr<pg_store::shared> s);

// Writes new deliveries, numbered from the fan-out row, and moves the fan-out cursor to `to` (when
// set), only while it is at `from` (when set; otherwise errc::conflict and nothing is written)
// (pg_outbox.cpp). Gives each delivery its id.
boost::asio::awaitable<core::result<void>> write_deliveries(std::shared_ptr<pg_store::shared> s,
                                                            std::optional<std::uint64_t> from,
                                                            std::optional<std::uint64_t> to,
                                                            std::vector<core::delivery>& deliveries);

// The write loop: takes every queued commit (up to max_batch_bytes), commits them as one call of
// rs_commit, completes each, and repeats until the queue is empty (pg_writer.cpp).
boost::asio::awaitable<void> write_queued(std::shared_ptr<pg_store::shared> s);

} // namespace reqstore::store::pg
