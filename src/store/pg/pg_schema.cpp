// The schema of the PostgreSQL engine, as migrations. A migration is a list of single SQL commands
// (each is sent as a prepared statement, which holds one command) applied in one transaction with
// the new version number: a node that dies half-way leaves the previous version whole.
#include "pg_schema.hpp"

#include <reqstore/store/pg/compare_and_swap_sql.hpp>

#include <array>
#include <vector>

namespace reqstore::store::pg
{
using core::errc;
using core::failure;

namespace
{

// One group-commit batch, in one call and one transaction (pg_writer.cpp builds the arguments).
// Entries are judged in queue order; each one's compare-and-swap compares the stored (version, tag)
// with the exact predecessor it was judged against (the condition is a link seam,
// compare_and_swap_sql.hpp), and a refused entry is skipped (a row gives its index, why (1: the
// compare-and-swap, 2: an idempotency key answered meanwhile) and the stored version) while the
// others commit. Events of the accepted entries are numbered last, from the counter row; the last
// row (entry -1) gives the sequence number before them.
//
// When the batch names each record once (the usual case: a node's record lock lets a second write
// of a record into a batch only when it was pipelined behind the first), the records are read in
// one statement and the accepted versions written in three (records created, records updated,
// versions), instead of three statements per entry: each statement a PL/pgSQL function runs costs
// tens of microseconds of the primary's CPU, which a batch of 20 entries paid 60 times. A batch that
// names a record twice is applied entry by entry, each entry seeing the one before it.
std::string commit_function_sql()
{
    return R"sql(CREATE OR REPLACE FUNCTION rs_commit(
        in_ids text[], in_expected_versions bigint[], in_expected_tags bigint[], in_tags bigint[],
        in_deleted boolean[], in_types text[], in_statuses text[], in_updated_bys text[],
        in_updated_ats bigint[], in_changed text[], in_bodies text[],
        in_event_entries int[], in_event_ats bigint[], in_event_tails text[],
        in_timer_ends int[], in_timer_adds boolean[], in_timer_dues bigint[], in_timer_ids text[],
        in_key_names text[], in_key_fingerprints text[], in_key_created bigint[], in_key_answers bytea[],
        in_key_answered_since bigint[],
        in_attachment_entries int[], in_attachment_shas text[], in_attachment_bytes bytea[])
    RETURNS TABLE (refused_entry int, refusal int, stored_version bigint, stored_tag bigint, base_seq bigint)
    LANGUAGE plpgsql AS $fn$
    DECLARE
        entry_count int := coalesce(cardinality(in_ids), 0);
        accepted boolean[] := array_fill(false, ARRAY[cardinality(in_ids)]);
        each_record_once boolean;
        stored_versions bigint[];
        stored_tags bigint[];
        cur_version bigint;
        cur_tag bigint;
        timer_from int := 1;
        event_count bigint;
        i int;
        j int;
    BEGIN
        -- Every batch takes the locks of its records and idempotency keys in one global order, so
        -- that two nodes' batches wait for each other but never deadlock.
        -- One statement for all of them: the sorted rows are locked in their order.
        PERFORM pg_advisory_xact_lock(o.k) FROM (
            SELECT DISTINCT l.k FROM (
                SELECT hashtextextended('record ' || r, 0) FROM unnest(in_ids) AS r
                UNION ALL
                SELECT hashtextextended('key ' || x, 0) FROM unnest(in_key_names) AS x WHERE x IS NOT NULL
            ) AS l(k) ORDER BY l.k
        ) AS o;

        -- Under those locks, no other batch changes these records before this one commits.
        SELECT count(DISTINCT u.id) = count(*),
               array_agg(coalesce(r.version, 0) ORDER BY u.n), array_agg(coalesce(r.tag, 0) ORDER BY u.n)
          INTO each_record_once, stored_versions, stored_tags
          FROM unnest(in_ids) WITH ORDINALITY AS u(id, n) LEFT JOIN records r ON r.id = u.id;

        FOR i IN 1 .. entry_count LOOP
            IF each_record_once THEN
                cur_version := stored_versions[i];
                cur_tag := stored_tags[i];
            ELSE
                SELECT r.version, r.tag INTO cur_version, cur_tag FROM records r WHERE r.id = in_ids[i];
                IF NOT FOUND THEN
                    cur_version := 0;
                    cur_tag := 0;
                END IF;
            END IF;
            refusal := 0;
            IF )sql" +
           std::string(compare_and_swap_refused_sql()) + R"sql( THEN
                refusal := 1;
            ELSIF in_key_names[i] IS NOT NULL AND in_key_answered_since[i] <> 0 AND EXISTS (
                    SELECT 1 FROM idempotency k
                     WHERE k.key = in_key_names[i] AND k.created_at >= in_key_answered_since[i]) THEN
                -- A duplicate of this request, sent to another node, committed first: the lock
                -- on the key above made this batch wait for it.
                refusal := 2;
            END IF;
            IF refusal <> 0 THEN
                refused_entry := i - 1;
                stored_version := cur_version;
                stored_tag := cur_tag;
                RETURN NEXT;
            ELSE
                IF NOT each_record_once THEN
                    IF cur_version = 0 THEN
                        INSERT INTO records (id, version, tag, deleted, type, status, updated_at)
                        VALUES (in_ids[i], 1, in_tags[i], in_deleted[i], in_types[i], in_statuses[i],
                                in_updated_ats[i]);
                    ELSE
                        UPDATE records r SET version = cur_version + 1, tag = in_tags[i], deleted = in_deleted[i],
                               type = in_types[i], status = in_statuses[i], updated_at = in_updated_ats[i]
                         WHERE r.id = in_ids[i];
                    END IF;
                    INSERT INTO versions (id, version, tag, deleted, type, status, updated_by, updated_at,
                                          changed, body)
                    VALUES (in_ids[i], cur_version + 1, in_tags[i], in_deleted[i], in_types[i], in_statuses[i],
                            in_updated_bys[i], in_updated_ats[i],
                            ARRAY(SELECT json_array_elements_text(in_changed[i]::json)), in_bodies[i]);
                END IF;
                -- This entry's timer changes, removals first, in the order the core gave them.
                FOR j IN timer_from .. in_timer_ends[i] LOOP
                    IF in_timer_adds[j] THEN
                        INSERT INTO timers (due, id) VALUES (in_timer_dues[j], in_timer_ids[j])
                        ON CONFLICT DO NOTHING;
                    ELSE
                        DELETE FROM timers t WHERE t.due = in_timer_dues[j] AND t.id = in_timer_ids[j];
                    END IF;
                END LOOP;
                IF in_key_names[i] IS NOT NULL THEN
                    INSERT INTO idempotency (key, fingerprint, created_at, answer)
                    VALUES (in_key_names[i], in_key_fingerprints[i], in_key_created[i], in_key_answers[i])
                    ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                        created_at = EXCLUDED.created_at, answer = EXCLUDED.answer;
                END IF;
                accepted[i] := true;
            END IF;
            timer_from := in_timer_ends[i] + 1;
        END LOOP;

        IF each_record_once THEN
            INSERT INTO records (id, version, tag, deleted, type, status, updated_at)
            SELECT u.id, 1, u.tag, u.deleted, u.type, u.status, u.updated_at
              FROM unnest(in_ids, in_tags, in_deleted, in_types, in_statuses, in_updated_ats)
                   WITH ORDINALITY AS u(id, tag, deleted, type, status, updated_at, n)
             WHERE accepted[u.n] AND stored_versions[u.n] = 0;
            UPDATE records r SET version = r.version + 1, tag = u.tag, deleted = u.deleted, type = u.type,
                   status = u.status, updated_at = u.updated_at
              FROM unnest(in_ids, in_tags, in_deleted, in_types, in_statuses, in_updated_ats)
                   WITH ORDINALITY AS u(id, tag, deleted, type, status, updated_at, n)
             WHERE r.id = u.id AND accepted[u.n] AND stored_versions[u.n] <> 0;
            INSERT INTO versions (id, version, tag, deleted, type, status, updated_by, updated_at, changed, body)
            SELECT u.id, stored_versions[u.n] + 1, u.tag, u.deleted, u.type, u.status, u.updated_by, u.updated_at,
                   ARRAY(SELECT json_array_elements_text(u.changed::json)), u.body
              FROM unnest(in_ids, in_tags, in_deleted, in_types, in_statuses, in_updated_bys, in_updated_ats,
                          in_changed, in_bodies)
                   WITH ORDINALITY AS u(id, tag, deleted, type, status, updated_by, updated_at, changed, body, n)
             WHERE accepted[u.n];
        END IF;

        -- An attachment is named by its SHA-256: the same name is the same bytes.
        IF cardinality(in_attachment_entries) > 0 THEN
            INSERT INTO attachments (id, sha256, bytes)
            SELECT in_ids[a.e + 1], a.sha, a.bytes
              FROM unnest(in_attachment_entries, in_attachment_shas, in_attachment_bytes) AS a(e, sha, bytes)
             WHERE accepted[a.e + 1]
            ON CONFLICT DO NOTHING;
        END IF;

        SELECT count(*) INTO event_count
          FROM unnest(in_event_entries) AS e(entry) WHERE accepted[e.entry + 1];
        refused_entry := -1; -- the last row: the sequence number before this batch's events
        refusal := 0;
        stored_version := 0;
        stored_tag := 0;
        IF event_count = 0 THEN
            SELECT h.last_seq INTO base_seq FROM feed_head h WHERE h.k = 1;
            RETURN NEXT;
            RETURN;
        END IF;
        -- Last, so that the counter row, which every batch with events needs, is held for the
        -- shortest time: from here to the end of the commit (the standby's acknowledgement
        -- included), which is what keeps the numbers gap-free for readers.
        UPDATE feed_head h SET last_seq = h.last_seq + event_count WHERE h.k = 1
        RETURNING h.last_seq - event_count INTO base_seq;
        INSERT INTO events (seq, at, json)
        SELECT base_seq + n, at, '{"seq":' || (base_seq + n) || ',' || tail
          FROM (SELECT e.at, e.tail, row_number() OVER (ORDER BY e.ord) AS n
                  FROM unnest(in_event_entries, in_event_ats, in_event_tails) WITH ORDINALITY AS e(entry, at, tail, ord)
                 WHERE accepted[e.entry + 1]) AS numbered;
        -- Wakes the feed readers of every node, naming the schema (the channel is the database's)
        -- and the last sequence committed; a hint only (notifications are lost on failover).
        PERFORM pg_notify('reqstore_feed', current_schema() || ' ' || (base_seq + event_count)::text);
        RETURN NEXT;
    END
    $fn$)sql";
}

// Version 1. Ids and keys collate as "C", byte by byte, so that listings page in the same order as
// the embedded engine's. Bodies are `text` (not jsonb, which would reorder members): they come back
// as the exact bytes served.
const std::vector<std::string> migration_1 = {
    R"sql(CREATE TABLE records (
        id text COLLATE "C" PRIMARY KEY,
        version bigint NOT NULL,
        tag bigint NOT NULL,
        deleted boolean NOT NULL,
        type text NOT NULL,
        status text NOT NULL,
        updated_at bigint NOT NULL))sql",
    R"sql(CREATE TABLE versions (
        id text COLLATE "C" NOT NULL,
        version bigint NOT NULL,
        tag bigint NOT NULL,
        deleted boolean NOT NULL,
        type text NOT NULL,
        status text NOT NULL,
        updated_by text NOT NULL,
        updated_at bigint NOT NULL,
        changed text[] NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (id, version)))sql",
    // The change feed's one-row counter: every batch with events updates it in its own
    // transaction, so sequence numbers are given in commit order, without gaps.
    R"sql(CREATE TABLE feed_head (k int PRIMARY KEY CHECK (k = 1), last_seq bigint NOT NULL))sql",
    R"sql(INSERT INTO feed_head VALUES (1, 0))sql",
    R"sql(CREATE TABLE events (seq bigint PRIMARY KEY, at bigint NOT NULL, json text NOT NULL))sql",
    R"sql(CREATE TABLE timers (due bigint NOT NULL, id text COLLATE "C" NOT NULL, PRIMARY KEY (due, id)))sql",
    R"sql(CREATE TABLE idempotency (
        key text COLLATE "C" PRIMARY KEY,
        fingerprint text NOT NULL,
        created_at bigint NOT NULL,
        answer bytea NOT NULL))sql",
    R"sql(CREATE INDEX idempotency_by_age ON idempotency (created_at))sql",
    R"sql(CREATE TABLE attachments (
        id text COLLATE "C" NOT NULL,
        sha256 text NOT NULL,
        bytes bytea NOT NULL,
        PRIMARY KEY (id, sha256)))sql",
    R"sql(CREATE TABLE subscriptions (id text COLLATE "C" PRIMARY KEY, json text NOT NULL))sql",
    // The webhook fan-out's cursor and the last delivery id given, moved together.
    R"sql(CREATE TABLE fan_out (k int PRIMARY KEY CHECK (k = 1), cursor bigint NOT NULL,
        last_delivery_id bigint NOT NULL))sql",
    R"sql(INSERT INTO fan_out VALUES (1, 0, 0))sql",
    R"sql(CREATE TABLE deliveries (
        id bigint PRIMARY KEY,
        target text COLLATE "C" NOT NULL,
        status text NOT NULL,
        json text NOT NULL))sql",
    R"sql(CREATE INDEX deliveries_by_target ON deliveries (target, id))sql",
    R"sql(CREATE INDEX deliveries_open ON deliveries (id) WHERE status IN ('pending', 'failed'))sql",
    commit_function_sql(),
};

// Version 2: what the webhook dispatchers of several nodes need to take turns (docs/SCALING.md).
// A delivery's lane, sequence and due time become columns, so that a lane's head (its open delivery
// with the lowest sequence) can be found and claimed in SQL (a lane is bytea: it holds a NUL
// between target and record, which text cannot, nor jsonb); a subscription's enabled flag too, so
// that a disabled one's lanes are not claimed. Leases (the fan-out's) and lane claims are rows with
// an expiry on the database's clock and an epoch from one sequence, never given twice: a write that
// names an epoch is refused once another claim replaced it.
const std::vector<std::string> migration_2 = {
    R"sql(ALTER TABLE deliveries ADD COLUMN lane bytea, ADD COLUMN seq bigint,
        ADD COLUMN next_attempt_at bigint)sql",
    // Read from the stored document by pattern: PostgreSQL's JSON functions refuse the escaped NUL its
    // "lane" member holds. The codec writes compact JSON, and a member's name inside another
    // member's string would be escaped (\"), so each pattern finds the top-level member.
    R"sql(UPDATE deliveries SET
        lane = convert_to(target, 'UTF8') || '\x00'::bytea
               || convert_to(substring(json from '"record_id":"([^"]*)"'), 'UTF8'),
        seq = substring(json from '"sequence":([0-9]+)')::bigint,
        next_attempt_at = substring(json from '"next_attempt_at":(-?[0-9]+)')::bigint)sql",
    R"sql(ALTER TABLE deliveries ALTER COLUMN lane SET NOT NULL, ALTER COLUMN seq SET NOT NULL,
        ALTER COLUMN next_attempt_at SET NOT NULL)sql",
    R"sql(CREATE INDEX deliveries_open_by_lane ON deliveries (lane, seq, id)
        WHERE status IN ('pending', 'failed'))sql",
    R"sql(ALTER TABLE subscriptions ADD COLUMN enabled boolean)sql",
    R"sql(UPDATE subscriptions SET enabled = coalesce((json::jsonb->>'enabled')::boolean, true))sql",
    R"sql(ALTER TABLE subscriptions ALTER COLUMN enabled SET NOT NULL)sql",
    R"sql(CREATE SEQUENCE epochs)sql",
    R"sql(CREATE TABLE leases (
        name text COLLATE "C" PRIMARY KEY,
        holder text NOT NULL,
        until timestamptz NOT NULL,
        epoch bigint NOT NULL))sql",
    // A row per lane while a claim on it lasts (deleted when its attempt is recorded).
    R"sql(CREATE TABLE lanes (
        lane bytea PRIMARY KEY,
        holder text NOT NULL,
        until timestamptz NOT NULL,
        epoch bigint NOT NULL))sql",
};

// Version 3: rs_commit applies a batch that names each record once in a few statements (see
// commit_function_sql). Version 1 creates that function already; this replaces the one an older
// build created.
const std::vector<std::string> migration_3 = {commit_function_sql()};

// Version 4:
// - rs_commit's notification names its schema before the sequence, so that a node reads the
//   sequence from it instead of from the counter row: the channel is the whole database's, and
//   another schema's nodes share it;
// - a record's row is rewritten by every write to it. With room left on its page (half of each page
//   kept free), the new row goes on the same page and the primary key needs no new entry (a
//   heap-only tuple update): a quarter of the updates were so under a CAS load at the default fill
//   factor, three quarters at this one, with less WAL to write and to stream. It applies to the
//   pages written from now on.
const std::vector<std::string> migration_4 = {commit_function_sql(),
                                              R"sql(ALTER TABLE records SET (fillfactor = 50))sql"};

const std::array<const std::vector<std::string>*, current_schema_version> migrations = {
    &migration_1, &migration_2, &migration_3, &migration_4};

std::string quoted(std::string_view schema)
{
    return "\"" + std::string(schema) + "\"";
}

failure refused(const query_failure& f, std::string_view step)
{
    const errc code = f.kind == failure_kind::server_error ? errc::internal : errc::store_unavailable;
    return failure(code, "preparing the PostgreSQL schema failed while " + std::string(step) + ": " +
                             (f.sqlstate.empty() ? "" : "SQLSTATE " + f.sqlstate + " ") + f.message);
}

// Runs the statements as one transaction; the rows of the last.
boost::asio::awaitable<core::result<rows>> run(connection& c, std::vector<statement> statements,
                                               clock::time_point deadline, std::string_view step)
{
    auto done = co_await c.execute(std::move(statements), deadline);
    if (!done)
        co_return refused(done.error(), step);
    co_return std::move(done->back());
}

std::vector<statement> one(std::string sql)
{
    std::vector<statement> out;
    out.push_back(statement{std::move(sql), {}});
    return out;
}

} // namespace

statement session_setup(std::string_view schema)
{
    std::vector<param> params;
    params.push_back(text_param(quoted(schema)));
    return statement{
        "SELECT set_config('search_path', $1, false), set_config('client_encoding', 'UTF8', false)",
        std::move(params)};
}

boost::asio::awaitable<core::result<void>> migrate(connection& c, std::string schema,
                                                   clock::time_point deadline)
{
    // A session lock, held across the transactions below and released at the end (or with the
    // connection, if this node dies): a second node starting now waits here, then finds the
    // schema current.
    std::vector<statement> lock;
    lock.push_back(statement{"SELECT pg_advisory_lock(hashtextextended('reqstore schema ' || $1, 0))", {}});
    lock.back().params.push_back(text_param(schema));
    if (auto locked = co_await run(c, std::move(lock), deadline, "waiting for the schema lock"); !locked)
        co_return locked.error();

    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    auto read_encoding = one("SELECT current_setting('server_encoding')");
    auto encoding = co_await run(c, std::move(read_encoding), deadline, "reading the database's encoding");
    if (!encoding)
        co_return encoding.error();
    if (encoding->bytes(0, 0) != "UTF8")
        co_return failure(errc::internal,
                          "the PostgreSQL database's encoding is " + std::string(encoding->bytes(0, 0)) +
                              ", and reqstore needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')");

    std::vector<statement> create;
    create.push_back(statement{"CREATE SCHEMA IF NOT EXISTS " + quoted(schema), {}});
    create.push_back(statement{"CREATE TABLE IF NOT EXISTS schema_version (k int PRIMARY KEY CHECK (k = 1), "
                               "version int NOT NULL)",
                               {}});
    create.push_back(statement{"INSERT INTO schema_version VALUES (1, 0) ON CONFLICT DO NOTHING", {}});
    create.push_back(statement{"SELECT version FROM schema_version", {}});
    auto found = co_await run(c, std::move(create), deadline, "creating the schema");
    if (!found)
        co_return found.error();
    const auto version = found->int4(0, 0);
    if (version > current_schema_version)
        co_return failure(errc::internal, "the PostgreSQL schema " + schema + " is at version " +
                                              std::to_string(version) + ", newer than this build knows (" +
                                              std::to_string(current_schema_version) +
                                              "): run a newer reqstore");

    for (int next = version + 1; next <= current_schema_version; ++next)
    {
        std::vector<statement> steps;
        for (const auto& sql : *migrations[next - 1])
            steps.push_back(statement{sql, {}});
        steps.push_back(statement{"UPDATE schema_version SET version = $1", {}});
        steps.back().params.push_back(int4_param(next));
        const std::string step = "migrating to schema version " + std::to_string(next);
        if (auto migrated = co_await run(c, std::move(steps), deadline, step); !migrated)
            co_return migrated.error();
    }

    std::vector<statement> unlock;
    unlock.push_back(
        statement{"SELECT pg_advisory_unlock(hashtextextended('reqstore schema ' || $1, 0))", {}});
    unlock.back().params.push_back(text_param(schema));
    if (auto unlocked = co_await run(c, std::move(unlock), deadline, "releasing the schema lock"); !unlocked)
        co_return unlocked.error();
    co_return core::result<void>();
}

} // namespace reqstore::store::pg
