// The scenarios against a plain REST resource, as json-server 0.17 serves one (GET, PUT and POST on
// /posts/{id} and /posts) or as a static file server serves a fixed path: no preconditions, so no
// compare-and-swap and nothing to check after the run but the statuses.
#include <memory>

#include "driver.hpp"

namespace reqstore::load
{
namespace
{

class rest_driver final : public driver
{
public:
    explicit rest_driver(const options& o) : template_(o.path_template)
    {
        const auto at = template_.find("{id}");
        has_id_ = at != std::string::npos;
        // The collection is what precedes "/{id}" (json-server's POST target); a fixed path is its own.
        collection_ =
            has_id_ ? template_.substr(0, at > 0 && template_[at - 1] == '/' ? at - 1 : at) : template_;
        if (collection_.empty())
            collection_ = "/";
    }

    net::awaitable<std::string> set_up(connection& c, key_table& keys, std::size_t i) override
    {
        key_state& k = keys[i];
        const bool existing = !k.name.empty();
        if (!existing)
            k.name = std::to_string(i + 1);
        k.target = target_of(k.name);
        if (existing || !has_id_)
            co_return std::string();
        // Seed the object: replace it when it exists, else create it under that id.
        const std::string body = object_body(k.name, 0);
        c.prepare(http::verb::put, k.target, body);
        if (const auto ec = co_await exchange_retrying(c))
            co_return describe_failure(c, ec);
        if (c.status() == 404)
        {
            c.prepare(http::verb::post, collection_, body);
            if (const auto ec = co_await c.exchange())
                co_return describe_failure(c, ec);
        }
        if (c.status() / 100 != 2)
            co_return "seeding: " + describe_answer(c);
        co_return std::string();
    }

    net::awaitable<void> read(worker& w, key_table& keys, std::size_t i) override
    {
        w.conn().prepare(http::verb::get, keys[i].target);
        co_await w.send();
    }

    net::awaitable<void> create(worker& w) override
    {
        w.conn().prepare(http::verb::post, collection_, "{\"counter\":0}");
        co_await w.send();
    }

    net::awaitable<void> update(worker& w, key_table& keys, std::size_t i) override
    {
        const std::string body = object_body(keys[i].name, static_cast<std::int64_t>(w.next_sequence()));
        w.conn().prepare(http::verb::put, keys[i].target, body);
        co_await w.send();
    }

    bool checks_updates() const override { return false; }

    net::awaitable<std::string> verify(connection&, key_table&, std::size_t) override
    {
        co_return std::string();
    }

private:
    std::string target_of(const std::string& id) const
    {
        std::string t = template_;
        for (auto at = t.find("{id}"); at != std::string::npos; at = t.find("{id}", at + id.size()))
            t.replace(at, 4, id);
        return t;
    }

    // {"id":..,"counter":n}; a numeric id stays a number, as json-server's own ids are.
    static std::string object_body(const std::string& id, std::int64_t counter)
    {
        const bool numeric = parse_integer(id).has_value();
        return "{\"id\":" + (numeric ? id : json_quoted(id)) + ",\"counter\":" + std::to_string(counter) +
               "}";
    }

    std::string template_;
    std::string collection_;
    bool has_id_ = false;
};

} // namespace

std::unique_ptr<driver> make_rest_driver(const options& o)
{
    return std::make_unique<rest_driver>(o);
}

} // namespace reqstore::load
