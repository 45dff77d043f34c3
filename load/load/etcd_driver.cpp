// The scenarios against etcd 3.4's JSON gateway (grpc-gateway: keys and values in base64, int64
// numbers as strings): reads are POST /v3/kv/range, and a compare-and-swap increment is one
// POST /v3/kv/txn comparing the key's mod_revision, whose failure branch reads the key back.
#include <boost/json/array.hpp>

#include <array>
#include <memory>
#include <random>

#include "driver.hpp"

namespace reqstore::load
{
namespace json = boost::json;

namespace
{

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in)
{
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3)
    {
        const unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        for (int shift : {18, 12, 6, 0})
            out += alphabet[(n >> shift) & 63];
    }
    if (i < in.size())
    {
        unsigned n = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size())
            n |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> unbase64(std::string_view in)
{
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char ch : in)
    {
        if (ch == '=')
            break;
        const auto at = alphabet.find(ch);
        if (at == std::string_view::npos)
            return std::nullopt;
        buffer = (buffer << 6) | static_cast<unsigned>(at);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

// One key as a range answer shows it.
struct key_value
{
    std::int64_t mod_revision = 0;
    std::int64_t version = 0; // modifications since the key was created
    std::int64_t counter = 0; // the value, a decimal integer
};

// The first kv of a range answer ({"kvs":[...]}); nullopt when there is none or it is malformed.
std::optional<key_value> first_kv(const json::object& range)
{
    const auto* kvs = range.if_contains("kvs");
    if (kvs == nullptr || !kvs->is_array() || kvs->as_array().empty() || !kvs->as_array()[0].is_object())
        return std::nullopt;
    const json::object& kv = kvs->as_array()[0].as_object();
    const auto mod = integer_member(kv, "mod_revision");
    const auto version = integer_member(kv, "version");
    const auto* value = kv.if_contains("value");
    const auto text = value != nullptr && value->is_string() ? unbase64(value->as_string()) : std::nullopt;
    const auto counter = text ? parse_integer(*text) : std::nullopt;
    if (!mod || !version || !counter)
        return std::nullopt;
    return key_value{*mod, *version, *counter};
}

std::string random_tag()
{
    std::random_device device;
    return std::to_string((std::uint64_t{device()} << 32) ^ device());
}

class etcd_driver final : public driver
{
public:
    explicit etcd_driver(const options&) : prefix_("reqstore-load/" + random_tag() + "/") {}

    net::awaitable<std::string> set_up(connection& c, key_table& keys, std::size_t i) override
    {
        key_state& k = keys[i];
        const bool existing = !k.name.empty();
        if (!existing)
            k.name = prefix_ + std::to_string(i);
        k.target = base64(k.name);
        k.body = "{\"key\":\"" + k.target + "\"}";
        if (!existing)
        {
            c.prepare(http::verb::post, "/v3/kv/put",
                      "{\"key\":\"" + k.target + "\",\"value\":\"" + base64("0") + "\"}");
            if (const auto ec = co_await exchange_retrying(c))
                co_return describe_failure(c, ec);
            if (c.status() != 200)
                co_return describe_answer(c);
        }
        c.prepare(http::verb::post, "/v3/kv/range", k.body);
        if (const auto ec = co_await exchange_retrying(c))
            co_return describe_failure(c, ec);
        const auto range = c.status() == 200 ? body_object(c) : std::nullopt;
        const auto kv = range ? first_kv(*range) : std::nullopt;
        if (!kv)
            co_return "key " + k.name + ": " + describe_answer(c) + " (no integer value)";
        k.base_counter = kv->counter;
        k.base_version = kv->version;
        keys.learn(i, known_value{kv->mod_revision, kv->counter, false, true});
        co_return std::string();
    }

    net::awaitable<void> read(worker& w, key_table& keys, std::size_t i) override
    {
        w.conn().prepare(http::verb::post, "/v3/kv/range", keys[i].body);
        co_await w.send();
    }

    net::awaitable<void> create(worker&) override { co_return; } // not offered (options refuse it)

    net::awaitable<void> update(worker& w, key_table& keys, std::size_t i) override
    {
        known_value known = keys.known(i);
        const std::string& key = keys[i].target;
        for (;;)
        {
            if (!known.valid)
            {
                w.conn().prepare(http::verb::post, "/v3/kv/range", keys[i].body);
                if (co_await w.send() != outcome::answered || w.conn().status() != 200)
                    co_return;
                const auto range = body_object(w.conn());
                const auto kv = range ? first_kv(*range) : std::nullopt;
                if (!kv)
                    co_return;
                known = known_value{kv->mod_revision, kv->counter, false, true};
                keys.learn(i, known);
            }
            const std::int64_t next = known.counter + 1;
            const std::string body = "{\"compare\":[{\"key\":\"" + key +
                                     "\",\"result\":\"EQUAL\",\"target\":\"MOD\",\"mod_revision\":\"" +
                                     std::to_string(known.token) +
                                     "\"}],\"success\":[{\"request_put\":{\"key\":\"" + key +
                                     "\",\"value\":\"" + base64(std::to_string(next)) +
                                     "\"}}],\"failure\":[{\"request_range\":{\"key\":\"" + key + "\"}}]}";
            w.conn().prepare(http::verb::post, "/v3/kv/txn", body);
            const outcome sent = co_await w.send();
            if (sent == outcome::over)
                co_return;
            if (sent == outcome::failed)
            {
                keys.count_uncertain(i); // the txn may have committed without its answer reaching us
                co_return;
            }
            if (w.conn().status() != 200)
                co_return;
            const auto answer = body_object(w.conn());
            if (!answer)
            {
                keys.count_uncertain(i);
                co_return;
            }
            const auto* succeeded = answer->if_contains("succeeded");
            if (succeeded != nullptr && succeeded->is_bool() && succeeded->as_bool())
            {
                // The txn's revision is the key's new mod_revision.
                const auto* header = answer->if_contains("header");
                const auto revision = header != nullptr && header->is_object()
                                          ? integer_member(header->as_object(), "revision")
                                          : std::nullopt;
                keys.acknowledge(i, known_value{revision.value_or(0), next, false, revision.has_value()});
                co_return;
            }
            // Not succeeded (false is omitted by the gateway): the failure branch read the key.
            w.count_conflict();
            known.valid = false;
            const auto* responses = answer->if_contains("responses");
            if (responses != nullptr && responses->is_array() && !responses->as_array().empty() &&
                responses->as_array()[0].is_object())
            {
                const auto* range = responses->as_array()[0].as_object().if_contains("response_range");
                const auto kv =
                    range != nullptr && range->is_object() ? first_kv(range->as_object()) : std::nullopt;
                if (kv)
                {
                    known = known_value{kv->mod_revision, kv->counter, false, true};
                    keys.learn(i, known);
                }
            }
        }
    }

    bool checks_updates() const override { return true; }
    std::string check_summary() const override
    {
        return "every value grew by exactly its acknowledged updates and the key's version by as many (no "
               "lost "
               "update)";
    }

    net::awaitable<std::string> verify(connection& c, key_table& keys, std::size_t i) override
    {
        key_state& k = keys[i];
        c.prepare(http::verb::post, "/v3/kv/range", k.body);
        if (const auto ec = co_await exchange_retrying(c))
            co_return describe_failure(c, ec);
        const auto range = c.status() == 200 ? body_object(c) : std::nullopt;
        const auto kv = range ? first_kv(*range) : std::nullopt;
        if (!kv)
            co_return "key " + k.name + ": " + describe_answer(c) + " (no integer value)";
        const std::int64_t versions = kv->version - k.base_version;
        const std::int64_t increments = kv->counter - k.base_counter;
        const auto acked = static_cast<std::int64_t>(k.acknowledged);
        const auto uncertain = static_cast<std::int64_t>(k.uncertain);
        const std::string counts = " (value " + std::to_string(k.base_counter) + " -> " +
                                   std::to_string(kv->counter) + ", version " +
                                   std::to_string(k.base_version) + " -> " + std::to_string(kv->version) +
                                   ", " + std::to_string(acked) + " acknowledged updates, " +
                                   std::to_string(uncertain) + " without answer)";
        if (increments < acked)
            co_return "key " + k.name + ": lost update: the value grew by " + std::to_string(increments) +
                " but " + std::to_string(acked) + " updates were acknowledged" + counts;
        if (increments > acked + uncertain)
            co_return "key " + k.name + ": the value grew by " + std::to_string(increments) +
                ", more than this run's updates: someone else wrote it" + counts;
        if (versions != increments)
            co_return "key " + k.name + ": " + std::to_string(versions) +
                " modifications but the value grew by " + std::to_string(increments) + counts;
        co_return std::string();
    }

private:
    const std::string prefix_; // fresh keys live under it, one prefix per run
};

} // namespace

std::unique_ptr<driver> make_etcd_driver(const options& o)
{
    return std::make_unique<etcd_driver>(o);
}

} // namespace reqstore::load
