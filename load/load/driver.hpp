// What a scenario asks of the API under test, one implementation per protocol: set up a key, read
// it, update it, create something, and check a key after the run.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "connection.hpp"
#include "keys.hpp"
#include "options.hpp"
#include "worker.hpp"

namespace reqstore::load
{

// Every method runs on the connection's (or worker's) executor; several connections call them at
// once for different keys (or the same key, in the update methods), so a driver keeps no mutable
// state of its own outside key_table, except what before_setup and after_verify set while no
// other call runs.
class driver
{
public:
    virtual ~driver() = default;

    // Runs once before the keys are set up (e.g. the webhook subscription). Returns "" or what failed.
    virtual net::awaitable<std::string> before_setup(connection&) { co_return std::string(); }

    // Sets up key i: when its name is empty, creates (or seeds) it and names it; otherwise reads
    // the existing key's state. Either way, sets its request target and its base counter and
    // version, and what is known of it. Returns "" or what failed.
    virtual net::awaitable<std::string> set_up(connection& c, key_table& keys, std::size_t i) = 0;

    // One read of key i, through w.send().
    virtual net::awaitable<void> read(worker& w, key_table& keys, std::size_t i) = 0;
    // One creation, through w.send().
    virtual net::awaitable<void> create(worker& w) = 0;
    // One update of key i, through w.send(): a compare-and-swap increment of its counter, retried
    // on conflict until it succeeds or the run ends (reqstore, etcd), or a plain PUT (rest).
    virtual net::awaitable<void> update(worker& w, key_table& keys, std::size_t i) = 0;

    // Whether verify() checks the updates (no lost update, every version readable).
    virtual bool checks_updates() const = 0;
    // What a passing verify() established for every key, for the report.
    virtual std::string check_summary() const { return std::string(); }
    // Checks key i after the run. Returns "" or what is wrong, in one line.
    virtual net::awaitable<std::string> verify(connection& c, key_table& keys, std::size_t i) = 0;

    // Runs once after every key was verified. Returns "" or what failed (e.g. deliveries missing),
    // and may add members to the report.
    virtual net::awaitable<std::string> after_verify(connection&, key_table&, boost::json::object&)
    {
        co_return std::string();
    }
};

std::unique_ptr<driver> make_reqstore_driver(const options& o);
std::unique_ptr<driver> make_rest_driver(const options& o);
std::unique_ptr<driver> make_etcd_driver(const options& o);

// ---- helpers shared by the drivers

// exchange(), tried up to `attempts` times while the transport fails (setup and verification only:
// those requests are idempotent or their duplicates are harmless).
net::awaitable<boost::system::error_code> exchange_retrying(connection& c, int attempts = 3);

// "METHOD TARGET answered STATUS: <start of the body>", for messages.
std::string describe_answer(const connection& c);
// "METHOD TARGET failed: <error>".
std::string describe_failure(const connection& c, const boost::system::error_code& ec);

// The body of the last answer as a JSON object; nullopt when it is not one.
std::optional<boost::json::object> body_object(const connection& c);
// An integer member, also given as a decimal string (etcd's gateway writes int64 so).
std::optional<std::int64_t> integer_member(const boost::json::object& o, std::string_view key);
std::optional<std::int64_t> parse_integer(std::string_view text);
// A JSON string literal, quotes included.
std::string json_quoted(std::string_view s);

} // namespace reqstore::load
