// A PostgreSQL client connection on Asio: libpq's asynchronous API in pipeline mode, its socket
// wrapped in an Asio descriptor, so that no I/O thread ever blocks on the database. Parameters and
// results travel in PostgreSQL's binary format: no escaping, no text parsing of numbers.
//
// A connection serves one call at a time (a pool, pool.hpp, hands it to one caller at a time). A
// call that fails because the connection was lost, or because its deadline passed, leaves the
// connection unusable: the caller drops it and connects again.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::store::pg
{

using clock = std::chrono::steady_clock;

// The PostgreSQL type OIDs of the parameters and columns reqstore uses (pg_type.dat).
namespace oid
{
constexpr std::uint32_t boolean = 16;
constexpr std::uint32_t bytea = 17;
constexpr std::uint32_t int8 = 20;
constexpr std::uint32_t int4 = 23;
constexpr std::uint32_t text = 25;
constexpr std::uint32_t bool_array = 1000;
constexpr std::uint32_t bytea_array = 1001;
constexpr std::uint32_t int4_array = 1007;
constexpr std::uint32_t text_array = 1009;
constexpr std::uint32_t int8_array = 1016;
} // namespace oid

// One parameter of a statement, in binary format. No value is SQL NULL.
struct param
{
    std::uint32_t type = 0;
    std::optional<std::string> value;
};

param text_param(std::string_view text);
param bytea_param(std::string_view bytes);
param int8_param(std::int64_t value);
param int4_param(std::int32_t value);
param bool_param(bool value);
param null_param(std::uint32_t type);

// Builds a one-dimensional array parameter in binary format, element by element.
class array_builder
{
public:
    // `element_type`: the OID of the elements (oid::text, oid::int8, ...); the array's own type is
    // derived from it.
    explicit array_builder(std::uint32_t element_type);

    void add_text(std::string_view text); // text, or bytea: the bytes as they are
    void add_int8(std::int64_t value);
    void add_int4(std::int32_t value);
    void add_bool(bool value);
    void add_null();
    std::size_t size() const noexcept;

    // The array as a parameter (an empty array when nothing was added).
    [[nodiscard]] param finish() &&;

private:
    std::uint32_t element_type_;
    std::size_t count_ = 0;
    bool has_null_ = false;
    std::string elements_; // each: be32 length (-1 for NULL), then the bytes
};

// One statement of a pipeline: SQL text with $1, $2, ... and their parameters. The connection
// prepares each distinct SQL text once (a server-side prepared statement) and reuses it after.
struct statement
{
    std::string sql;
    std::vector<param> params;
};

enum class failure_kind
{
    // Nothing was sent: no connection could be made, or the connection was already unusable.
    not_connected,
    // The connection was lost, or the deadline passed, after the statements were sent: their
    // outcome is unknown (a COMMIT may have happened). The connection is unusable.
    outcome_unknown,
    // The server refused a statement (sqlstate says why); the pipeline's implicit transaction was
    // rolled back. The connection stays usable.
    server_error,
};

struct query_failure
{
    failure_kind kind = failure_kind::not_connected;
    std::string sqlstate; // five characters for server_error, else empty
    std::string message;  // for logs
};

template <class T>
using query_result = boost::system::result<T, query_failure>;

// The rows one statement returned, every column in binary format. Accessors take a row and a
// column index; reading a NULL with a typed accessor, or a column of another type, throws
// std::runtime_error (a mismatch between the SQL and its reader: a bug, never data).
class rows
{
public:
    rows() = default;
    explicit rows(void* pg_result); // takes ownership of a PGresult
    rows(rows&&) noexcept;
    rows& operator=(rows&&) noexcept;
    ~rows();

    std::size_t size() const noexcept;     // rows returned
    std::size_t affected() const noexcept; // rows an INSERT/UPDATE/DELETE touched
    bool is_null(std::size_t row, std::size_t column) const;
    std::string_view bytes(std::size_t row, std::size_t column) const; // text or bytea, as stored
    std::int64_t int8(std::size_t row, std::size_t column) const;
    std::int32_t int4(std::size_t row, std::size_t column) const;
    bool boolean(std::size_t row, std::size_t column) const;
    std::vector<std::string> text_array(std::size_t row, std::size_t column) const; // NULL elements: ""

private:
    void* result_ = nullptr; // PGresult*
};

// A notification delivered on a channel the connection LISTENs to.
struct notification
{
    std::string channel;
    std::string payload;
};

class connection
{
public:
    // Connects (trying each host of a multi-host conninfo in turn, as libpq does) and enters
    // pipeline mode. Fails with not_connected, naming libpq's reason, when no host accepted by
    // `deadline`.
    [[nodiscard]] static boost::asio::awaitable<query_result<std::unique_ptr<connection>>>
    connect(boost::asio::any_io_executor executor, std::string conninfo, clock::time_point deadline);

    ~connection(); // closes its duplicate of the socket, then PQfinish

    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Sends the statements as one pipeline ending in one sync: one round trip and one implicit
    // transaction, so they take effect all or none (unless they hold BEGIN/COMMIT of their own).
    // Returns one `rows` per statement, in order. One call at a time.
    [[nodiscard]] boost::asio::awaitable<query_result<std::vector<rows>>>
    execute(std::vector<statement> statements, clock::time_point deadline);

    // Waits until at least one notification arrived (on a channel a statement LISTENed to) or the
    // deadline passed (then returns none). Not while execute() runs.
    [[nodiscard]] boost::asio::awaitable<query_result<std::vector<notification>>>
    wait_for_notifications(clock::time_point deadline);

    // False once the connection was lost or a deadline cut a call short.
    bool usable() const noexcept;

    // Reads, without waiting, what the server sent while the connection was idle, and so finds a
    // connection it closed (a restart, a failover, pg_terminate_backend): false then, and from then
    // on. A pool asks this before it lends an idle connection, so that nothing is sent on one that is
    // gone. Not while a call runs.
    bool still_connected() noexcept;

    // "host:port" of the server this connection reached (for logs).
    std::string server() const;

private:
    struct state;
    explicit connection(std::unique_ptr<state> s);
    std::unique_ptr<state> state_;
};

} // namespace reqstore::store::pg
