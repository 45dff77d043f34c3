// The post-restart audit of a torture cycle (audit.hpp).
#include "audit.hpp"

#include <reqstore/core/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "workload.hpp"

namespace reqstore::torture
{
namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace
{

std::optional<json::object> object_of(const std::string& body)
{
    boost::system::error_code ec;
    auto value = json::parse(body, ec);
    if (ec || !value.is_object())
        return std::nullopt;
    return std::move(value.as_object());
}

} // namespace

std::optional<std::int64_t> audit::event_time(const std::string& key, std::uint64_t version) const
{
    const auto it = events_.find({key, version});
    if (it == events_.end() || it->second.at == 0)
        return std::nullopt;
    return it->second.at;
}

net::awaitable<std::uint64_t> audit::run(const load::endpoint_info& where, unsigned connections)
{
    std::vector<std::string> queue;
    for (const auto& [key, state] : book_.keys())
        queue.push_back(key);
    std::uint64_t audited = 0;
    unsigned running = 0;
    auto executor = co_await net::this_coro::executor;
    for (unsigned i = 0; i < connections; ++i)
    {
        ++running;
        net::co_spawn(executor, audit_keys(where, queue, audited),
                      [&running](std::exception_ptr e)
                      {
                          --running;
                          if (e)
                              std::rethrow_exception(e);
                      });
    }
    net::steady_timer poll(executor);
    while (running > 0)
    {
        poll.expires_after(std::chrono::milliseconds(2));
        co_await poll.async_wait(net::as_tuple(net::use_awaitable));
    }
    co_await read_feed(where);
    co_return audited;
}

net::awaitable<void> audit::audit_keys(const load::endpoint_info& where, std::vector<std::string>& queue,
                                       std::uint64_t& audited)
{
    load::connection conn(co_await net::this_coro::executor, where);
    while (!queue.empty())
    {
        const std::string key = std::move(queue.back());
        queue.pop_back();
        co_await audit_key(conn, key, audited);
    }
}

net::awaitable<void> audit::audit_key(load::connection& conn, const std::string& key, std::uint64_t& audited)
{
    key_state& state = book_.key(key);
    const std::string target = "/v1/requests/" + key;
    conn.prepare(http::verb::get, target);
    if (auto ec = co_await conn.exchange())
    {
        book_.report({"audit", key, "GET " + target + " failed: " + ec.message()});
        co_return;
    }
    std::uint64_t current = 0;
    if (conn.status() == 200)
        current = etag_version(std::string_view(conn.etag())).value_or(0);
    else if (conn.status() != 404)
    {
        book_.report({"audit", key, "GET " + target + " answered " + std::to_string(conn.status())});
        co_return;
    }
    if (current < state.max_seen)
        book_.report({"regression", key,
                      "at version " + std::to_string(current) + " after the restart; a client saw version " +
                          std::to_string(state.max_seen)});
    if (current < state.versions.size())
        book_.report({"regression", key,
                      "at version " + std::to_string(current) + "; an earlier audit read version " +
                          std::to_string(state.versions.size())});

    for (std::uint64_t v = state.versions.size() + 1; v <= current; ++v)
    {
        conn.prepare(http::verb::get, target + "/versions/" + std::to_string(v));
        if (auto ec = co_await conn.exchange())
        {
            book_.report({"audit", key, "GET version " + std::to_string(v) + " failed: " + ec.message()});
            co_return;
        }
        if (conn.status() != 200)
        {
            book_.report({"gap", key,
                          "version " + std::to_string(v) + " of " + std::to_string(current) + " answered " +
                              std::to_string(conn.status())});
            state.versions.emplace_back();
            state.marks_known = false;
            continue;
        }
        const auto body = object_of(conn.body());
        const auto* wid = body ? body->if_contains("wid") : nullptr;
        const auto* version = body ? body->if_contains("version") : nullptr;
        const auto* id = body ? body->if_contains("id") : nullptr;
        if (!wid || !wid->is_string() || !version || !version->is_int64() ||
            version->as_int64() != static_cast<std::int64_t>(v) || !id || !id->is_string() ||
            id->as_string() != key)
        {
            book_.report({"torn", key,
                          "version " + std::to_string(v) +
                              " has a body that is not its own: " + conn.body().substr(0, 200)});
            state.versions.emplace_back();
            state.marks_known = false;
            continue;
        }
        const std::string write_id(wid->as_string());
        const op_record* write = book_.write_of(write_id);
        if (!write)
            book_.report({"phantom", key,
                          "version " + std::to_string(v) + " carries write id " + write_id +
                              ", which no client sent"});
        else if (write->key != key || (write->kind == op_kind::cas && write->expected + 1 != v) ||
                 (write->kind == op_kind::create && v != 1))
            book_.report({"phantom", key,
                          "version " + std::to_string(v) + " carries write id " + write_id + ", a write to " +
                              write->key + " expecting version " + std::to_string(write->expected)});
        else if (write->outcome == op_outcome::fail)
            book_.report({"phantom", key,
                          "version " + std::to_string(v) + " is write " + write_id +
                              ", which was answered as failed"});
        if (merge_patch_ && write && write->key == key)
            check_marks(key, state, v, *body, *write);
        for (const auto& other : state.versions)
            if (other == write_id)
                book_.report({"duplicate", key, "write " + write_id + " is applied twice"});
        state.versions.push_back(write_id);
        ++audited;
    }
    check_acknowledged(key, state, current);
}

void audit::check_marks(const std::string& key, key_state& state, std::uint64_t version,
                        const json::object& body, const op_record& write)
{
    std::map<std::string, std::string> marks;
    for (const auto& member : body)
        if (member.key().starts_with("by_") && member.value().is_string())
            marks.emplace(member.key(), member.value().as_string());
    const bool was_known = state.marks_known;
    std::map<std::string, std::string> expected = std::move(state.marks);
    state.marks = marks;
    state.marks_known = true;
    if (!was_known && version > 1)
        return;
    // A version is the one before it with its own write's mark set (a create starts from nothing):
    // any other difference is a change of a version this write was not judged against.
    if (write.kind == op_kind::create)
        expected.clear();
    expected[mark_of(write.process)] = write.write_id;
    if (marks == expected)
        return;
    std::string difference;
    for (const auto& [name, value] : expected)
        if (const auto it = marks.find(name); it == marks.end() || it->second != value)
        {
            difference = name + " is " + (it == marks.end() ? "missing" : it->second) + ", not " + value;
            break;
        }
    if (difference.empty())
        for (const auto& [name, value] : marks)
            if (!expected.contains(name))
            {
                difference = name + " is " + value + ", which no version before it set";
                break;
            }
    book_.report({"lost-update", key,
                  "version " + std::to_string(version) + " (write " + write.write_id +
                      ") is not the version before it plus this write: " + difference});
}

void audit::check_acknowledged(const std::string& key, key_state& state, std::uint64_t current)
{
    for (const std::size_t index : state.unaudited_ops)
    {
        const op_record& op = book_.ops().ops()[index];
        if (op.kind == op_kind::read)
        {
            if (op.version == 0)
                continue;
            if (op.version > current)
                book_.report({"lost-write", key,
                              "a client read version " + std::to_string(op.version) + "; the record is at " +
                                  std::to_string(current) + " after the restart"});
            else if (state.versions[op.version - 1] != op.read_write_id)
                book_.report({"stale-read", key,
                              "a client read version " + std::to_string(op.version) + " as write " +
                                  op.read_write_id + "; it is write " + state.versions[op.version - 1]});
            continue;
        }
        if (op.version == 0 || op.version > current)
            book_.report({"lost-write", key,
                          "write " + op.write_id + " was acknowledged as version " +
                              std::to_string(op.version) + "; the record is at version " +
                              std::to_string(current)});
        else if (state.versions[op.version - 1] != op.write_id)
            book_.report({"lost-write", key,
                          "write " + op.write_id + " was acknowledged as version " +
                              std::to_string(op.version) + ", which is write " +
                              state.versions[op.version - 1]});
    }
    state.unaudited_ops.clear();
}

net::awaitable<void> audit::read_feed(const load::endpoint_info& where)
{
    load::connection conn(co_await net::this_coro::executor, where);
    while (true)
    {
        conn.prepare(http::verb::get, "/v1/events?limit=1000&after=" + std::to_string(last_sequence_));
        if (auto ec = co_await conn.exchange())
        {
            book_.report({"audit", "", "reading the change feed failed: " + ec.message()});
            co_return;
        }
        const auto page = conn.status() == 200 ? object_of(conn.body()) : std::nullopt;
        const auto* data = page ? page->if_contains("data") : nullptr;
        if (!data || !data->is_array())
        {
            book_.report({"audit", "", "the change feed answered " + std::to_string(conn.status())});
            co_return;
        }
        if (data->as_array().empty())
            break;
        for (const auto& entry : data->as_array())
        {
            const auto& e = entry.as_object();
            const auto seq = static_cast<std::uint64_t>(e.at("seq").as_int64());
            if (seq != last_sequence_ + 1)
                book_.report({"event", "",
                              "the change feed goes from sequence " + std::to_string(last_sequence_) +
                                  " to " + std::to_string(seq)});
            last_sequence_ = seq;
            const std::string id(e.at("id").as_string());
            const auto version = static_cast<std::uint64_t>(e.at("version").as_int64());
            auto& seen = events_[{id, version}];
            const unsigned count = ++seen.count;
            if (const auto* at = e.if_contains("at"); at && at->is_string())
                seen.at = core::parse_rfc3339(at->as_string()).value_or(0);
            // A version already checked must not get a second event later.
            const auto known = book_.keys().find(id);
            if (count > 1 && known != book_.keys().end() && version <= known->second.events)
                book_.report({"event", id, "version " + std::to_string(version) + " has another event"});
        }
    }
    // Every audited version has exactly one event; no event names a version that does not exist.
    for (auto& [key, state] : book_.keys())
    {
        for (std::uint64_t v = state.events + 1; v <= state.versions.size(); ++v)
        {
            const auto it = events_.find({key, v});
            const unsigned count = it == events_.end() ? 0 : it->second.count;
            if (count != 1)
                book_.report({"event", key,
                              "version " + std::to_string(v) + " has " + std::to_string(count) + " events"});
        }
        state.events = state.versions.size();
    }
    for (auto it = events_.begin(); it != events_.end();)
    {
        const auto known = book_.keys().find(it->first.first);
        const std::uint64_t versions = known == book_.keys().end() ? 0 : known->second.versions.size();
        if (it->first.second > versions)
        {
            book_.report(
                {"event", it->first.first,
                 "an event names version " + std::to_string(it->first.second) + ", which does not exist"});
            it = events_.erase(it);
        }
        else
            ++it;
    }
}

} // namespace reqstore::torture
