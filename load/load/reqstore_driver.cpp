// The scenarios against reqstore's own API (API.md sections 3 and 5): records created with POST,
// read with GET, and incremented by PUT with If-Match, re-read after each 412.
#include <reqstore/core/time.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <memory>

#include "driver.hpp"
#include "fanout.hpp"

namespace reqstore::load
{
namespace json = boost::json;

namespace
{

std::string etag_of(std::int64_t version)
{
    return "\"" + std::to_string(version) + "\"";
}

// The version in an ETag header `"N"`; nullopt for anything else.
std::optional<std::int64_t> version_of_etag(std::string_view etag)
{
    if (etag.size() < 3 || etag.front() != '"' || etag.back() != '"')
        return std::nullopt;
    return parse_integer(etag.substr(1, etag.size() - 2));
}

// What a record answer says about the record: version, counter (0 when absent, as a record that
// never had one) and whether it is active; nullopt when the body is no such record.
std::optional<known_value> record_state(const json::object& record)
{
    const auto version = integer_member(record, "version");
    if (!version)
        return std::nullopt;
    known_value k;
    k.token = *version;
    k.valid = true;
    if (record.contains("counter"))
    {
        const auto counter = integer_member(record, "counter");
        if (!counter)
            return std::nullopt;
        k.counter = *counter;
    }
    const auto* status = record.if_contains("status");
    k.active = status != nullptr && status->is_string() && status->as_string() == "active";
    return k;
}

class reqstore_driver final : public driver
{
public:
    explicit reqstore_driver(const options& o)
        : create_body_(json::serialize(json::object{{"type", o.record_type}, {"counter", 0}})),
          toggle_status_(o.what == scenario::webhook_fanout)
    {
        if (toggle_status_)
            fanout_ = std::make_unique<webhook_fanout>(o);
    }

    net::awaitable<std::string> before_setup(connection& c) override
    {
        if (!fanout_)
            co_return std::string();
        co_return co_await fanout_->subscribe(c);
    }

    net::awaitable<std::string> set_up(connection& c, key_table& keys, std::size_t i) override
    {
        key_state& k = keys[i];
        const bool existing = !k.name.empty();
        if (existing)
            c.prepare(http::verb::get, "/v1/requests/" + k.name);
        else
            c.prepare(http::verb::post, "/v1/requests", create_body_);
        if (const auto ec = co_await exchange_retrying(c, existing ? 3 : 1))
            co_return describe_failure(c, ec);
        if (c.status() != (existing ? 200u : 201u))
            co_return describe_answer(c);
        const auto record = body_object(c);
        const auto state = record ? record_state(*record) : std::nullopt;
        const auto* id = record ? record->if_contains("id") : nullptr;
        if (!state || id == nullptr || !id->is_string())
            co_return describe_answer(c) + " (not a record)";
        if (toggle_status_)
        {
            const auto* status = record->if_contains("status");
            if (status == nullptr || !status->is_string() ||
                (status->as_string() != "pending" && status->as_string() != "active"))
                co_return "key " + std::string(id->as_string()) +
                    ": webhook-fanout flips the status between pending and active, and this record is " +
                    (status != nullptr && status->is_string() ? std::string(status->as_string())
                                                              : "without one");
        }
        k.name = std::string(id->as_string());
        k.target = "/v1/requests/" + k.name;
        k.base_counter = state->counter;
        k.base_version = state->token;
        keys.learn(i, *state);
        co_return std::string();
    }

    net::awaitable<void> read(worker& w, key_table& keys, std::size_t i) override
    {
        w.conn().prepare(http::verb::get, keys[i].target);
        co_await w.send();
    }

    net::awaitable<void> create(worker& w) override
    {
        w.conn().prepare(http::verb::post, "/v1/requests", create_body_);
        co_await w.send();
    }

    net::awaitable<void> update(worker& w, key_table& keys, std::size_t i) override
    {
        known_value known = keys.known(i);
        for (;;)
        {
            if (!known.valid)
            {
                const auto fresh = co_await reread(w, keys, i);
                if (!fresh)
                    co_return;
                known = *fresh;
            }
            known_value after = known;
            after.counter = known.counter + 1;
            after.active = toggle_status_ ? !known.active : known.active;
            std::string body = "{\"counter\":" + std::to_string(after.counter);
            if (toggle_status_)
                body += after.active ? ",\"status\":\"active\"" : ",\"status\":\"pending\"";
            body += '}';
            w.conn().prepare(http::verb::put, keys[i].target, body);
            w.conn().request().set(http::field::if_match, etag_of(known.token));
            const outcome sent = co_await w.send();
            if (sent == outcome::over)
                co_return;
            if (sent == outcome::failed)
            {
                // The PUT may have committed without its answer reaching us.
                keys.count_uncertain(i);
                co_return;
            }
            const unsigned status = w.conn().status();
            if (status / 100 == 2)
            {
                const auto version = version_of_etag(w.conn().etag());
                if (!version)
                {
                    // Committed, but the new version is unknown: count it and read the key again.
                    after.valid = false;
                    keys.acknowledge(i, after);
                    keys.count_uncertain(i);
                    co_return;
                }
                after.token = *version;
                keys.acknowledge(i, after);
                co_return;
            }
            if (status != 412)
                co_return; // counted under its status; the run's check reports it
            w.count_conflict();
            // The 412 names the current ETag, but the counter is needed too: read the record.
            known.valid = false;
        }
    }

    bool checks_updates() const override { return true; }
    std::string check_summary() const override
    {
        return std::string(
                   "every counter grew by exactly its acknowledged updates and the version by as many "
                   "(no lost update), every version up to the current one listed and the current one "
                   "readable") +
               (toggle_status_ ? ", every version delivered to the sink in order" : "");
    }

    net::awaitable<std::string> verify(connection& c, key_table& keys, std::size_t i) override
    {
        key_state& k = keys[i];
        c.prepare(http::verb::get, k.target);
        if (const auto ec = co_await exchange_retrying(c))
            co_return describe_failure(c, ec);
        if (c.status() != 200)
            co_return describe_answer(c);
        const auto record = body_object(c);
        const auto current = record ? record_state(*record) : std::nullopt;
        if (!current)
            co_return describe_answer(c) + " (not a record)";

        const std::int64_t versions = current->token - k.base_version;
        const std::int64_t increments = current->counter - k.base_counter;
        const auto acked = static_cast<std::int64_t>(k.acknowledged);
        const auto uncertain = static_cast<std::int64_t>(k.uncertain);
        const std::string head = "key " + k.name + ": ";
        const std::string counts = " (counter " + std::to_string(k.base_counter) + " -> " +
                                   std::to_string(current->counter) + ", version " +
                                   std::to_string(k.base_version) + " -> " + std::to_string(current->token) +
                                   ", " + std::to_string(acked) + " acknowledged updates, " +
                                   std::to_string(uncertain) + " without answer)";
        if (increments < acked)
            co_return head + "lost update: the counter grew by " + std::to_string(increments) + " but " +
                std::to_string(acked) + " updates were acknowledged" + counts;
        if (increments > acked + uncertain)
            co_return head + "the counter grew by " + std::to_string(increments) +
                ", more than this run's updates: someone else wrote it" + counts;
        if (versions != increments)
            co_return head + std::to_string(versions) + " new versions but the counter grew by " +
                std::to_string(increments) + ": a version did not increment it" + counts;

        // Every version 1..N readable: the history lists N, N-1, ..., 1 without a gap.
        std::int64_t expected = current->token;
        std::string cursor;
        std::vector<commit> commits;
        for (;;)
        {
            std::string target = k.target + "/versions?limit=1000";
            if (!cursor.empty())
                target += "&cursor=" + cursor;
            c.prepare(http::verb::get, target);
            if (const auto ec = co_await exchange_retrying(c))
                co_return describe_failure(c, ec);
            const auto page = c.status() == 200 ? body_object(c) : std::nullopt;
            const auto* data = page ? page->if_contains("data") : nullptr;
            if (data == nullptr || !data->is_array())
                co_return head + describe_answer(c);
            for (const auto& entry : data->as_array())
            {
                const auto version =
                    entry.is_object() ? integer_member(entry.as_object(), "version") : std::nullopt;
                if (!version || *version != expected)
                    co_return head + "the history lists " +
                        (version ? std::to_string(*version) : "no version") + " where version " +
                        std::to_string(expected) + " belongs" +
                        (expected == current->token ? " (the current one)" : "");
                if (toggle_status_ && *version > k.base_version)
                {
                    const auto* at = entry.as_object().if_contains("updated_at");
                    const auto ms = at != nullptr && at->is_string() ? core::parse_rfc3339(at->as_string())
                                                                     : std::nullopt;
                    commits.push_back({*version, ms.value_or(0)});
                }
                --expected;
            }
            const auto* next = page->if_contains("next_cursor");
            if (next == nullptr || next->is_null() || expected == 0)
                break;
            if (!next->is_string())
                co_return head + describe_answer(c);
            cursor = std::string(next->as_string());
        }
        if (expected != 0)
            co_return head + "the history ends at version " + std::to_string(expected + 1) +
                ": versions 1.." + std::to_string(expected) + " are missing";

        // The newest version reads as the current record.
        c.prepare(http::verb::get, k.target + "/versions/" + std::to_string(current->token));
        if (const auto ec = co_await exchange_retrying(c))
            co_return describe_failure(c, ec);
        const auto newest = c.status() == 200 ? body_object(c) : std::nullopt;
        const auto newest_state = newest ? record_state(*newest) : std::nullopt;
        if (!newest_state || newest_state->token != current->token ||
            newest_state->counter != current->counter)
            co_return head + "version " + std::to_string(current->token) +
                " does not read as the current record: " + describe_answer(c);
        std::reverse(commits.begin(), commits.end());
        k.commits = std::move(commits);
        co_return std::string();
    }

    net::awaitable<std::string> after_verify(connection& c, key_table& keys, json::object& report) override
    {
        if (!fanout_)
            co_return std::string();
        co_return co_await fanout_->judge(c, keys, report);
    }

private:
    // GETs key i through the worker and learns its state; nullopt when the run ended or the read
    // failed (counted).
    net::awaitable<std::optional<known_value>> reread(worker& w, key_table& keys, std::size_t i)
    {
        w.conn().prepare(http::verb::get, keys[i].target);
        if (co_await w.send() != outcome::answered || w.conn().status() != 200)
            co_return std::nullopt;
        const auto record = body_object(w.conn());
        const auto state = record ? record_state(*record) : std::nullopt;
        if (state)
            keys.learn(i, *state);
        co_return state;
    }

    const std::string create_body_;
    const bool toggle_status_;
    std::unique_ptr<webhook_fanout> fanout_;
};

} // namespace

std::unique_ptr<driver> make_reqstore_driver(const options& o)
{
    return std::make_unique<reqstore_driver>(o);
}

} // namespace reqstore::load
