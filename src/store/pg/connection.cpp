// The PostgreSQL connection of connection.hpp: libpq's nonblocking API driven by Asio waits on its
// socket, statements sent as one pipeline (their parameters and results: binary_format.cpp).
#include <reqstore/store/pg/connection.hpp>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstring>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>

namespace reqstore::store::pg
{
namespace net = boost::asio;

namespace
{

// libpq's messages end in a newline (and sometimes hold several lines); logs want one line.
std::string one_line(const char* message)
{
    std::string out;
    for (const char* c = message != nullptr ? message : ""; *c != '\0'; ++c)
    {
        const bool space = *c == '\n' || *c == '\t' || *c == ' ';
        if (!space)
            out.push_back(*c);
        else if (!out.empty() && out.back() != ' ')
            out.push_back(' ');
    }
    if (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

query_failure failure(failure_kind kind, std::string message)
{
    return query_failure{kind, {}, std::move(message)};
}

std::vector<notification> take_notifications(PGconn* conn)
{
    std::vector<notification> out;
    // PQnotifies parses what libpq has read but not yet parsed: notifications that arrived with
    // the results of an earlier execute() are found here without reading the socket.
    while (PGnotify* n = PQnotifies(conn))
    {
        out.push_back({n->relname, n->extra != nullptr ? n->extra : ""});
        PQfreemem(n);
    }
    return out;
}

// "host:port" of the server libpq is connected to, or is trying.
std::string host_and_port(const PGconn* conn)
{
    const char* host = PQhost(conn);
    const char* port = PQport(conn);
    return std::string(host != nullptr ? host : "") + ":" + (port != nullptr ? port : "");
}

// libpq prints notices (NOTICE: ... already exists, skipping) on standard error unless told
// otherwise; they are no errors, and standard error carries the structured log.
void ignore_notice(void*, const char*) {}

enum class socket_wait
{
    readable,
    writable,
    either,
};

enum class readiness
{
    readable,
    writable,
    deadline_passed,
    failed, // the wait itself failed, or the call was cancelled
};

} // namespace

// ---- connection ----

struct connection::state
{
    state(net::any_io_executor executor, PGconn* c) : conn(c), socket(executor), timer(executor) {}

    ~state()
    {
        drop_socket();
        PQfinish(conn);
    }

    // Asio watches a duplicate of libpq's socket, never libpq's own descriptor: libpq closes its
    // descriptor by itself whenever it finds the connection lost (inside PQconsumeInput, PQflush,
    // PQconnectPoll, ...), and the number may then be reused at once by a socket another thread
    // opens and registers with the same reactor. Deregistering libpq's number afterwards (or
    // closing it again) would hit that other socket. The duplicate is ours alone: it stays open,
    // under its own number, until it is deregistered and closed here.
    void drop_socket()
    {
        if (!socket.is_open())
            return;
        // release() deregisters it from the reactor (closing it through Asio would leave the
        // registration behind while libpq's descriptor keeps the socket open); then it is closed.
        ::close(socket.release());
    }

    // While it connects, libpq may close its socket and open another (the next host, or a retry
    // without SSL), possibly under the same number: the socket is duplicated again after every
    // step, so that the waits always watch libpq's current socket.
    void wrap_socket()
    {
        drop_socket();
        if (const int fd = PQsocket(conn); fd >= 0)
        {
            const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (own < 0)
                return; // a socket that cannot be watched fails the next wait
            boost::system::error_code error;
            socket.assign(own, error);
            if (error)
                ::close(own);
        }
    }

    // Waits until the socket is ready as asked or the deadline passes, whichever comes first.
    net::awaitable<readiness> wait_for(socket_wait what, clock::time_point deadline)
    {
        if (clock::now() >= deadline)
            co_return readiness::deadline_passed;
        if (!socket.is_open())
            co_return readiness::failed;
        timer.expires_at(deadline);
        using net::experimental::make_parallel_group;
        using net::experimental::wait_for_one;
        using descriptor = net::posix::descriptor_base;
        if (what == socket_wait::either)
        {
            auto [order, read_error, write_error, timer_error] =
                co_await make_parallel_group(socket.async_wait(descriptor::wait_read, net::deferred),
                                             socket.async_wait(descriptor::wait_write, net::deferred),
                                             timer.async_wait(net::deferred))
                    .async_wait(wait_for_one(), net::use_awaitable);
            if (order[0] == 0)
                co_return read_error ? readiness::failed : readiness::readable;
            if (order[0] == 1)
                co_return write_error ? readiness::failed : readiness::writable;
            co_return timer_error ? readiness::failed : readiness::deadline_passed;
        }
        const auto wait_type = what == socket_wait::readable ? descriptor::wait_read : descriptor::wait_write;
        auto [order, socket_error, timer_error] =
            co_await make_parallel_group(socket.async_wait(wait_type, net::deferred),
                                         timer.async_wait(net::deferred))
                .async_wait(wait_for_one(), net::use_awaitable);
        if (order[0] == 0)
        {
            if (socket_error)
                co_return readiness::failed;
            co_return what == socket_wait::readable ? readiness::readable : readiness::writable;
        }
        co_return timer_error ? readiness::failed : readiness::deadline_passed;
    }

    // Marks the connection unusable and says why.
    query_failure lost(failure_kind kind, std::string what)
    {
        usable = false;
        return failure(kind, what + ": " + one_line(PQerrorMessage(conn)));
    }

    PGconn* conn;
    net::posix::stream_descriptor socket; // a duplicate of PQsocket(conn), ours (drop_socket)
    net::steady_timer timer;              // the deadline of the current wait
    bool usable = true;
    // The statements prepared on this connection: SQL text -> statement name.
    std::unordered_map<std::string, std::string> prepared;
    std::uint64_t statements_named = 0;
};

connection::connection(std::unique_ptr<state> s) : state_(std::move(s)) {}

connection::~connection() = default;

net::awaitable<query_result<std::unique_ptr<connection>>>
connection::connect(net::any_io_executor executor, std::string conninfo, clock::time_point deadline)
{
    // PQconnectStart resolves host names before it returns (only hostaddr= avoids that); the
    // configured hosts are expected to be addresses or names the resolver answers at once.
    PGconn* const raw = PQconnectStart(conninfo.c_str());
    if (raw == nullptr)
        co_return failure(failure_kind::not_connected, "libpq could not allocate a connection");
    auto s = std::make_unique<state>(executor, raw); // owns `raw` from here on
    if (PQstatus(raw) == CONNECTION_BAD)
        co_return failure(failure_kind::not_connected, one_line(PQerrorMessage(raw)));
    PQsetNoticeProcessor(raw, ignore_notice, nullptr);

    // libpq's contract: before the first PQconnectPoll, behave as if it asked for writability.
    auto polling = PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK)
    {
        if (polling == PGRES_POLLING_FAILED)
            co_return failure(failure_kind::not_connected, one_line(PQerrorMessage(raw)));
        s->wrap_socket();
        if (polling == PGRES_POLLING_READING || polling == PGRES_POLLING_WRITING)
        {
            const auto ready = co_await s->wait_for(
                polling == PGRES_POLLING_READING ? socket_wait::readable : socket_wait::writable, deadline);
            if (ready == readiness::deadline_passed)
                co_return failure(failure_kind::not_connected,
                                  "no server accepted the connection by the deadline (trying " +
                                      host_and_port(raw) + ")");
            if (ready == readiness::failed)
                co_return failure(failure_kind::not_connected, "waiting on the connection's socket failed");
        }
        polling = PQconnectPoll(raw);
    }
    s->wrap_socket();
    // Nonblocking: a send never blocks the I/O thread, it queues in libpq's buffer until flushed.
    if (PQsetnonblocking(raw, 1) != 0)
        co_return failure(failure_kind::not_connected, "PQsetnonblocking: " + one_line(PQerrorMessage(raw)));
    if (PQenterPipelineMode(raw) != 1)
        co_return failure(failure_kind::not_connected,
                          "PQenterPipelineMode: " + one_line(PQerrorMessage(raw)));
    co_return std::unique_ptr<connection>(new connection(std::move(s)));
}

net::awaitable<query_result<std::vector<rows>>> connection::execute(std::vector<statement> statements,
                                                                    clock::time_point deadline)
{
    state& s = *state_;
    if (!s.usable)
        co_return failure(failure_kind::not_connected,
                          "the connection was lost or a call on it was cut short");
    // Reading what waits on the socket finds a connection the server closed while it was idle (a
    // restart, pg_terminate_backend) before anything is sent, when the outcome is still known.
    if (!still_connected())
        co_return failure(failure_kind::not_connected,
                          "the connection was closed while idle: " + one_line(PQerrorMessage(s.conn)));
    if (clock::now() >= deadline)
        co_return failure(failure_kind::not_connected, "the deadline passed before anything was sent");

    // What each group of results (each ended by a null PGresult) answers, in the order sent.
    struct awaited
    {
        bool prepare = false; // else the statement's execution
        std::size_t statement = 0;
    };
    std::vector<awaited> results;
    results.reserve(statements.size() * 2);
    std::vector<Oid> types;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (std::size_t i = 0; i < statements.size(); ++i)
    {
        const statement& st = statements[i];
        const int count = static_cast<int>(st.params.size());
        types.clear();
        values.clear();
        lengths.clear();
        for (const param& p : st.params)
        {
            types.push_back(p.type);
            values.push_back(p.value ? p.value->data() : nullptr);
            lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
        }
        formats.assign(st.params.size(), 1);
        auto [named, first_use] = s.prepared.try_emplace(st.sql);
        if (first_use)
        {
            named->second = "s" + std::to_string(++s.statements_named);
            if (PQsendPrepare(s.conn, named->second.c_str(), st.sql.c_str(), count, types.data()) == 0)
            {
                s.prepared.erase(named);
                // libpq may have flushed part of the pipeline already.
                co_return s.lost(failure_kind::outcome_unknown, "PQsendPrepare");
            }
            results.push_back({true, i});
        }
        if (PQsendQueryPrepared(s.conn, named->second.c_str(), count, values.data(), lengths.data(),
                                formats.data(), 1) == 0)
            co_return s.lost(failure_kind::outcome_unknown, "PQsendQueryPrepared");
        results.push_back({false, i});
    }
    if (PQpipelineSync(s.conn) == 0)
        co_return s.lost(failure_kind::outcome_unknown, "PQpipelineSync");

    for (;;)
    {
        const int flushed = PQflush(s.conn);
        if (flushed == 0)
            break;
        if (flushed < 0)
            co_return s.lost(failure_kind::outcome_unknown, "sending the statements failed");
        // The server may be blocked writing results we do not read: read while waiting to write
        // (libpq's advice for nonblocking sends).
        const auto ready = co_await s.wait_for(socket_wait::either, deadline);
        if (ready == readiness::deadline_passed)
        {
            s.usable = false;
            co_return failure(failure_kind::outcome_unknown,
                              "the deadline passed while sending the statements");
        }
        if (ready == readiness::failed)
            co_return s.lost(failure_kind::outcome_unknown, "waiting to send failed");
        if (ready == readiness::readable && PQconsumeInput(s.conn) == 0)
            co_return s.lost(failure_kind::outcome_unknown, "reading results failed");
    }

    std::vector<rows> out(statements.size());
    std::optional<query_failure> refused; // the first statement the server refused
    std::size_t current = 0;              // the entry of `results` whose results come next
    // With SSL, a read may take only part of a TLS record: its rest waits in OpenSSL, where the
    // socket's readiness does not show it. One more read before each wait takes it (libpq reads
    // at least 8 KB at a time, and a record holds at most 16 KB).
    bool tls_rest_read = false;
    for (;;)
    {
        if (PQstatus(s.conn) == CONNECTION_BAD)
            co_return s.lost(failure_kind::outcome_unknown, "the connection was lost");
        if (PQisBusy(s.conn) != 0)
        {
            if (!tls_rest_read && PQsslInUse(s.conn) != 0)
            {
                tls_rest_read = true;
                if (PQconsumeInput(s.conn) == 0)
                    co_return s.lost(failure_kind::outcome_unknown, "reading results failed");
                continue;
            }
            // PQgetResult would block: wait for more of the answer first.
            tls_rest_read = false;
            const auto ready = co_await s.wait_for(socket_wait::readable, deadline);
            if (ready == readiness::deadline_passed)
            {
                s.usable = false;
                co_return failure(failure_kind::outcome_unknown,
                                  "the deadline passed before the server answered");
            }
            if (ready == readiness::failed || PQconsumeInput(s.conn) == 0)
                co_return s.lost(failure_kind::outcome_unknown, "reading results failed");
            continue;
        }
        PGresult* const raw = PQgetResult(s.conn);
        if (raw == nullptr)
        {
            // A null result ends the results of one prepare or one statement.
            if (current == results.size())
                co_return s.lost(failure_kind::outcome_unknown, "more results than statements sent");
            ++current;
            continue;
        }
        rows result(raw); // frees it whatever happens below
        const ExecStatusType status = PQresultStatus(raw);
        if (status == PGRES_PIPELINE_SYNC)
            break;
        if (current == results.size())
            co_return s.lost(failure_kind::outcome_unknown, "more results than statements sent");
        const awaited& which = results[current];
        switch (status)
        {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
        case PGRES_EMPTY_QUERY:
            if (!which.prepare)
                out[which.statement] = std::move(result);
            break;
        case PGRES_FATAL_ERROR:
            if (!refused)
            {
                const char* sqlstate = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
                refused = query_failure{failure_kind::server_error, sqlstate != nullptr ? sqlstate : "",
                                        one_line(PQresultErrorMessage(raw))};
            }
            [[fallthrough]];
        case PGRES_PIPELINE_ABORTED:
            // A prepare that failed, or never ran because an earlier statement failed, left no
            // statement behind: the next call prepares it again.
            if (which.prepare)
                s.prepared.erase(statements[which.statement].sql);
            break;
        default:
            // COPY and the like are refused in pipeline mode: nothing reqstore sends.
            co_return s.lost(failure_kind::outcome_unknown,
                             std::string("unexpected result status ") + PQresStatus(status));
        }
    }
    if (refused)
        co_return std::move(*refused);
    co_return out;
}

net::awaitable<query_result<std::vector<notification>>>
connection::wait_for_notifications(clock::time_point deadline)
{
    state& s = *state_;
    if (!s.usable)
        co_return failure(failure_kind::not_connected,
                          "the connection was lost or a call on it was cut short");
    auto arrived = take_notifications(s.conn);
    if (!arrived.empty())
        co_return arrived;
    for (;;)
    {
        // Twice with SSL: the rest of a TLS record read in part (see execute()).
        const int reads = PQsslInUse(s.conn) != 0 ? 2 : 1;
        for (int i = 0; i < reads; ++i)
            if (PQconsumeInput(s.conn) == 0 || PQstatus(s.conn) != CONNECTION_OK)
                co_return s.lost(failure_kind::not_connected, "the connection was lost");
        arrived = take_notifications(s.conn);
        if (!arrived.empty())
            co_return arrived;
        const auto ready = co_await s.wait_for(socket_wait::readable, deadline);
        if (ready == readiness::deadline_passed)
            co_return arrived; // none: the connection stays usable
        if (ready == readiness::failed)
            co_return s.lost(failure_kind::not_connected, "waiting for notifications failed");
    }
}

bool connection::usable() const noexcept
{
    return state_->usable;
}

bool connection::still_connected() noexcept
{
    state& s = *state_;
    // A server that ends a connection sends its reason (an ErrorResponse) and then closes: the
    // first read takes the reason and leaves libpq's status good, and only the end of the stream
    // tells. So read until nothing waits, and peek for that end.
    for (int round = 0; round < 4 && s.usable; ++round)
    {
        if (PQconsumeInput(s.conn) == 0 || PQstatus(s.conn) != CONNECTION_OK)
        {
            (void)s.lost(failure_kind::not_connected, "the connection was closed while idle");
            break;
        }
        char next = 0;
        const auto waiting = ::recv(PQsocket(s.conn), &next, 1, MSG_PEEK | MSG_DONTWAIT);
        if (waiting == 0)
        {
            (void)s.lost(failure_kind::not_connected, "the server closed the connection while it was idle");
            break;
        }
        if (waiting < 0)
            break; // nothing waits (or an error, which the next call meets)
    }
    return s.usable;
}

std::string connection::server() const
{
    return host_and_port(state_->conn);
}

} // namespace reqstore::store::pg
