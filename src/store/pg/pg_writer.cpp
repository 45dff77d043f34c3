// The PostgreSQL engine's group commit: commits queue up while the writer's round trip is under
// way, and the next round trip takes them all as one call of rs_commit (pg_schema.cpp): one
// transaction, one WAL flush (and one standby acknowledgement) for the whole batch.
#include <reqstore/core/write_serialization.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <stdexcept>

#include "pg_shared.hpp"

namespace reqstore::store::pg
{
using core::errc;
using core::failure;

namespace
{

// Every feed entry starts so when made for sequence 0 (core::feed_entry_json); rs_commit puts the
// real number in its place.
constexpr std::string_view seq_zero_prefix = R"({"seq":0,)";

std::string event_tail(const core::event_draft& event)
{
    std::string json = core::feed_entry_json(event, 0);
    if (!json.starts_with(seq_zero_prefix))
        throw std::logic_error("a feed entry does not start with its sequence number: " + json);
    return json.substr(seq_zero_prefix.size());
}

std::size_t bytes_of(const core::commit_request& r)
{
    std::size_t n = r.next.body.size();
    if (r.idempotency)
        n += r.idempotency->answer.size();
    for (const auto& a : r.attachments)
        n += a.bytes.size();
    return n;
}

// The arguments of one rs_commit call, entry by entry.
class batch_arguments
{
public:
    void add(const core::commit_request& r, std::size_t entry)
    {
        ids_.add_text(r.id);
        expected_versions_.add_int8(static_cast<std::int64_t>(r.expected.version));
        expected_tags_.add_int8(static_cast<std::int64_t>(r.expected.tag));
        tags_.add_int8(static_cast<std::int64_t>(r.next.tag));
        deleted_.add_bool(r.next.deleted);
        types_.add_text(r.next.type);
        statuses_.add_text(r.next.status);
        updated_bys_.add_text(r.next.updated_by);
        updated_ats_.add_int8(r.next.updated_at);
        boost::json::array changed;
        for (const auto& member : r.next.changed)
            changed.emplace_back(member);
        changed_.add_text(boost::json::serialize(changed));
        bodies_.add_text(r.next.body);
        for (const auto& e : r.events)
        {
            event_entries_.add_int4(static_cast<std::int32_t>(entry));
            event_ats_.add_int8(e.at);
            event_tails_.add_text(event_tail(e));
        }
        // Removals first, as the embedded engine applies them.
        for (const auto& t : r.timers_removed)
            add_timer(false, t);
        for (const auto& t : r.timers_added)
            add_timer(true, t);
        timer_ends_.add_int4(static_cast<std::int32_t>(timer_count_));
        if (r.idempotency)
        {
            key_names_.add_text(r.idempotency->key);
            key_fingerprints_.add_text(r.idempotency->fingerprint);
            key_created_.add_int8(r.idempotency->created_at);
            key_answers_.add_text(r.idempotency->answer);
            key_answered_since_.add_int8(r.idempotency_answered_since);
        }
        else
        {
            key_names_.add_null();
            key_fingerprints_.add_null();
            key_created_.add_null();
            key_answers_.add_null();
            key_answered_since_.add_null();
        }
        for (const auto& a : r.attachments)
        {
            attachment_entries_.add_int4(static_cast<std::int32_t>(entry));
            attachment_shas_.add_text(a.sha256);
            attachment_bytes_.add_text(a.bytes);
        }
    }

    statement finish() &&
    {
        std::vector<param> p;
        for (auto* a : {&ids_,
                        &expected_versions_,
                        &expected_tags_,
                        &tags_,
                        &deleted_,
                        &types_,
                        &statuses_,
                        &updated_bys_,
                        &updated_ats_,
                        &changed_,
                        &bodies_,
                        &event_entries_,
                        &event_ats_,
                        &event_tails_,
                        &timer_ends_,
                        &timer_adds_,
                        &timer_dues_,
                        &timer_ids_,
                        &key_names_,
                        &key_fingerprints_,
                        &key_created_,
                        &key_answers_,
                        &key_answered_since_,
                        &attachment_entries_,
                        &attachment_shas_,
                        &attachment_bytes_})
            p.push_back(std::move(*a).finish());
        std::string sql =
            "SELECT refused_entry, refusal, stored_version, stored_tag, base_seq FROM rs_commit(";
        for (std::size_t i = 1; i <= p.size(); ++i)
            sql += (i > 1 ? ", $" : "$") + std::to_string(i);
        sql += ")";
        return statement{std::move(sql), std::move(p)};
    }

private:
    void add_timer(bool add, const core::timer_key& t)
    {
        timer_adds_.add_bool(add);
        timer_dues_.add_int8(t.due);
        timer_ids_.add_text(t.id);
        ++timer_count_;
    }

    array_builder ids_{oid::text}, expected_versions_{oid::int8}, expected_tags_{oid::int8}, tags_{oid::int8},
        deleted_{oid::boolean}, types_{oid::text}, statuses_{oid::text}, updated_bys_{oid::text},
        updated_ats_{oid::int8}, changed_{oid::text}, bodies_{oid::text};
    array_builder event_entries_{oid::int4}, event_ats_{oid::int8}, event_tails_{oid::text};
    array_builder timer_ends_{oid::int4}, timer_adds_{oid::boolean}, timer_dues_{oid::int8},
        timer_ids_{oid::text};
    std::size_t timer_count_ = 0;
    array_builder key_names_{oid::text}, key_fingerprints_{oid::text}, key_created_{oid::int8},
        key_answers_{oid::bytea}, key_answered_since_{oid::int8};
    array_builder attachment_entries_{oid::int4}, attachment_shas_{oid::text}, attachment_bytes_{oid::bytea};
};

void fail_all(std::vector<queued_write>& batch, const failure& f)
{
    for (auto& w : batch)
        w.pending->complete(f);
}

// Commits one batch and completes each of its entries.
boost::asio::awaitable<void> write_batch(std::shared_ptr<pg_store::shared> s, std::vector<queued_write> batch)
{
    batch_arguments arguments;
    try
    {
        for (std::size_t i = 0; i < batch.size(); ++i)
            arguments.add(batch[i].request, i);
    }
    catch (const std::exception& e)
    {
        fail_all(batch, failure(errc::internal, std::string("encoding a commit failed: ") + e.what()));
        co_return;
    }
    std::vector<statement> call;
    call.push_back(std::move(arguments).finish());

    const auto deadline = clock::now() + s->options.commit_timeout;
    auto leased = co_await s->writer.acquire(deadline);
    if (!leased)
    {
        const auto f = failure_of(leased.error(), "committing a batch of " + std::to_string(batch.size()));
        ops::log().error("commit not sent", {{"error", f.detail}});
        fail_all(batch, f);
        co_return;
    }
    const auto started = clock::now();
    auto done = co_await (*leased)->execute(std::move(call), deadline);
    const auto elapsed = clock::now() - started;
    if (!done)
    {
        // Lost during the call: the transaction may have committed. Every entry fails; a retry is
        // judged against whatever the store then holds.
        const auto f = failure_of(done.error(), "committing a batch of " + std::to_string(batch.size()));
        ops::log().error("commit failed", {{"error", f.detail}});
        fail_all(batch, f);
        co_return;
    }

    // Why rs_commit skipped an entry, and the version the record was at.
    struct refusal
    {
        bool answered_meanwhile = false; // else the compare-and-swap
        core::predecessor stored;
    };
    std::map<std::size_t, refusal> refused;
    std::uint64_t base = 0;
    try
    {
        const rows& r = done->back();
        for (std::size_t i = 0; i < r.size(); ++i)
        {
            const auto entry = r.int4(i, 0);
            if (entry < 0)
                base = static_cast<std::uint64_t>(r.int8(i, 4));
            else
                refused[static_cast<std::size_t>(entry)] =
                    refusal{r.int4(i, 1) == 2, core::predecessor{static_cast<std::uint64_t>(r.int8(i, 2)),
                                                                 static_cast<std::uint64_t>(r.int8(i, 3))}};
        }
    }
    catch (const std::exception& e)
    {
        // Committed, but the answer cannot be read: the outcome of each entry is unknown.
        fail_all(batch,
                 failure(errc::internal, std::string("reading the commit's outcome failed: ") + e.what()));
        co_return;
    }

    std::uint64_t sequence = base;
    std::size_t accepted = 0;
    std::vector<std::pair<std::shared_ptr<core::pending_commit>, core::result<core::commit_receipt>>>
        outcomes;
    outcomes.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i)
    {
        auto& w = batch[i];
        if (const auto it = refused.find(i); it != refused.end())
        {
            // The failures the in-process engines give for the same rules (record_store.hpp).
            auto why = it->second.answered_meanwhile
                           ? core::idempotency_refusal(w.request, w.request.idempotency_answered_since)
                           : core::compare_and_swap_refusal(w.request, it->second.stored);
            outcomes.emplace_back(w.pending,
                                  why ? std::move(*why)
                                      : failure(errc::precondition_failed,
                                                "record " + w.request.id +
                                                    " is not at the version this write was judged against"));
            continue;
        }
        outcomes.emplace_back(w.pending, core::commit_receipt{sequence + 1});
        sequence += w.request.events.size();
        ++accepted;
    }
    s->batches.fetch_add(1, std::memory_order_relaxed);
    s->commits.fetch_add(accepted, std::memory_order_relaxed);
    if (sequence > base)
    {
        s->saw_sequence(sequence);
        if (s->observer.on_sequence)
            s->observer.on_sequence(sequence);
    }
    if (accepted > 0 && s->observer.on_batch_written)
        s->observer.on_batch_written(accepted, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
    for (auto& [pending, outcome] : outcomes)
        pending->complete(std::move(outcome));
}

} // namespace

std::shared_ptr<core::pending_commit> pg_store::start_commit(core::commit_request request)
{
    auto pending = std::make_shared<core::pending_commit>();
    // The one part of the compare-and-swap rule the SQL does not see.
    if (request.next.version != request.expected.version + 1)
    {
        pending->complete(
            failure(errc::precondition_failed, "a commit of record " + request.id + " names version " +
                                                   std::to_string(request.next.version) + " after version " +
                                                   std::to_string(request.expected.version)));
        return pending;
    }
    bool start_writer = false;
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->closed)
        {
            pending->complete(failure(errc::unavailable, "the store is closed"));
            return pending;
        }
        const auto bytes = bytes_of(request);
        shared_->queue.push_back(queued_write{std::move(request), pending, bytes});
        start_writer = !shared_->writing;
        shared_->writing = true;
    }
    if (start_writer)
        boost::asio::co_spawn(shared_->executor, write_queued(shared_), boost::asio::detached);
    return pending;
}

boost::asio::awaitable<void> write_queued(std::shared_ptr<pg_store::shared> s)
{
    for (;;)
    {
        std::vector<queued_write> batch;
        {
            std::lock_guard lock(s->mutex);
            std::size_t bytes = 0;
            std::size_t taken = 0;
            while (taken < s->queue.size() &&
                   (taken == 0 || bytes + s->queue[taken].bytes <= s->options.max_batch_bytes))
                bytes += s->queue[taken++].bytes;
            if (taken == 0)
            {
                s->writing = false;
                co_return;
            }
            batch.assign(std::make_move_iterator(s->queue.begin()),
                         std::make_move_iterator(s->queue.begin() + static_cast<std::ptrdiff_t>(taken)));
            s->queue.erase(s->queue.begin(), s->queue.begin() + static_cast<std::ptrdiff_t>(taken));
        }
        co_await write_batch(s, std::move(batch));
    }
}

} // namespace reqstore::store::pg
