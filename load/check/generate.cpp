// The synthetic history generator: an event-driven simulation of clients against one correct
// register store. Each operation takes effect at one instant between its invocation and its
// completion, so the history it writes is linearizable by construction.
#include "generate.hpp"

#include <charconv>
#include <cstdint>
#include <ostream>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace reqstore::check
{
namespace
{

constexpr std::int64_t microsecond = 1000;
constexpr std::int64_t millisecond = 1000 * microsecond;

enum class kind
{
    create,
    cas,
    read
};

// One client's operation in flight.
struct pending
{
    kind what = kind::read;
    std::string key;
    std::string write_id;
    std::uint64_t expected = 0;
    std::int64_t invoke = 0;
    bool lost_in_transit = false; // never reaches the store: an unknown outcome that never took effect
    bool applied = false;
    // The result, once applied.
    bool ok = false;
    std::uint64_t version = 0; // ok: written or read; failed cas: the current version (the 412's ETag)
    std::string read_write_id;
    int status = 0; // a failure's HTTP status
};

struct client
{
    pending op;
    bool busy = false;
    std::uint64_t generation = 0;     // events of an operation a crash ended carry an older generation
    std::vector<std::uint64_t> known; // by hot key: the last version this client saw, 0 when unsure
    std::uint64_t next_write = 0;
};

struct event
{
    std::int64_t at;
    unsigned process;
    std::uint64_t generation;
    bool takes_effect; // false: the operation completes
    bool operator>(const event& other) const { return at > other.at; }
};

class simulation
{
public:
    simulation(std::ostream& out, const generate_options& options)
        : out_(out), options_(options), random_(options.seed), clients_(std::max(1u, options.processes))
    {
        for (client& c : clients_)
            c.known.assign(options.hot_keys, 0);
    }

    void run()
    {
        // The hot records exist before the load starts: process 0 creates them one by one.
        for (unsigned k = 0; k < options_.hot_keys; ++k)
        {
            pending op;
            op.what = kind::create;
            op.key = hot_key(k);
            op.write_id = "w-setup-" + std::to_string(k);
            op.invoke = now_;
            apply(op);
            now_ += 100 * microsecond;
            emit(0, op, now_, outcome::ok);
            now_ += 10 * microsecond;
        }
        for (unsigned p = 0; p < clients_.size(); ++p)
            start(p, now_ + uniform(0, 500 * microsecond));

        const std::size_t crash_every = options_.ops / (options_.crashes + 1);
        std::size_t next_crash = options_.crashes > 0 ? crash_every : SIZE_MAX;
        unsigned crashes_done = 0;
        while (!events_.empty())
        {
            const event e = events_.top();
            events_.pop();
            client& c = clients_[e.process];
            if (e.generation != c.generation || !c.busy)
                continue;
            now_ = e.at;
            if (e.takes_effect)
            {
                apply(c.op);
                schedule(e.process, now_ + uniform(20 * microsecond, 2 * millisecond), false);
                continue;
            }
            finish(e.process);
            if (recorded_ >= next_crash && crashes_done < options_.crashes)
            {
                crash(crashes_done % 2 == 1);
                ++crashes_done;
                next_crash = crashes_done < options_.crashes ? crash_every * (crashes_done + 1) : SIZE_MAX;
            }
        }
        write_finals();
    }

private:
    enum class outcome
    {
        ok,
        fail,
        unknown
    };

    static std::string hot_key(unsigned k) { return "hot-" + std::to_string(k); }

    std::int64_t uniform(std::int64_t low, std::int64_t high)
    {
        return std::uniform_int_distribution<std::int64_t>(low, high)(random_);
    }
    double chance() { return std::uniform_real_distribution<double>(0, 1)(random_); }

    void schedule(unsigned process, std::int64_t at, bool takes_effect)
    {
        events_.push({at, process, clients_[process].generation, takes_effect});
    }

    // Chooses the client's next operation and invokes it at `at`.
    void start(unsigned process, std::int64_t at)
    {
        if (recorded_ >= options_.ops)
            return;
        client& c = clients_[process];
        pending op;
        op.invoke = at;
        const double r = chance();
        if (r < 0.10 || options_.hot_keys == 0)
        {
            op.what = kind::create;
            op.key = "c-" + std::to_string(process) + "-" + std::to_string(c.next_write);
        }
        else if (r < 0.13)
        {
            op.what = kind::create; // of a record that exists: 409
            op.key = hot_key(static_cast<unsigned>(uniform(0, options_.hot_keys - 1)));
        }
        else if (r < 0.75)
        {
            const auto k = static_cast<unsigned>(uniform(0, options_.hot_keys - 1));
            op.key = hot_key(k);
            if (c.known[k] > 0 && chance() < 0.6)
            {
                op.what = kind::cas;
                op.expected = c.known[k];
            }
            else
                op.what = kind::read;
        }
        else if (r < 0.97 && !created_.empty())
        {
            op.what = kind::read;
            op.key = created_[static_cast<std::size_t>(
                uniform(0, static_cast<std::int64_t>(created_.size()) - 1))];
        }
        else
        {
            op.what = kind::read;
            op.key = "absent-" + std::to_string(uniform(0, 999));
        }
        if (op.what != kind::read)
            op.write_id = "w-" + std::to_string(process) + "-" + std::to_string(c.next_write++);
        op.lost_in_transit = chance() < options_.unknown_rate / 2;
        c.op = std::move(op);
        c.busy = true;
        if (c.op.lost_in_transit)
            schedule(process, at + uniform(1 * millisecond, 5 * millisecond), false);
        else
            schedule(process, at + uniform(20 * microsecond, 2 * millisecond), true);
    }

    // The store: the operation takes effect now.
    void apply(pending& op)
    {
        auto [it, inserted] = store_.try_emplace(op.key);
        if (inserted)
            order_.push_back(op.key);
        std::vector<std::string>& versions = it->second;
        op.applied = true;
        switch (op.what)
        {
        case kind::read:
            op.ok = true;
            op.version = versions.size();
            op.read_write_id = versions.empty() ? "" : versions.back();
            return;
        case kind::create:
            // Refused with 409, or with 412 and the current ETag as for If-None-Match: *.
            op.ok = versions.empty();
            op.status = op.ok ? 0 : chance() < 0.5 ? 409 : 412;
            break;
        case kind::cas:
            op.ok = versions.size() == op.expected;
            op.status = op.ok ? 0 : 412;
            break;
        }
        if (op.ok)
        {
            versions.push_back(op.write_id);
            if (op.what == kind::create && op.key.starts_with("c-"))
                created_.push_back(op.key);
        }
        op.version = versions.size();
    }

    void finish(unsigned process)
    {
        client& c = clients_[process];
        pending& op = c.op;
        c.busy = false;
        if (op.lost_in_transit || chance() < options_.unknown_rate / 2)
        {
            emit(process, op, chance() < 0.5 ? now_ : -1, outcome::unknown);
            forget(c, op.key);
        }
        else
        {
            emit(process, op, now_, op.ok ? outcome::ok : outcome::fail);
            learn(c, op);
        }
        start(process, now_ + uniform(0, 500 * microsecond));
    }

    void learn(client& c, const pending& op)
    {
        if (!op.key.starts_with("hot-"))
            return;
        const auto k = static_cast<std::size_t>(std::stoul(op.key.substr(4)));
        if (op.what == kind::create && !op.ok)
            return; // a 409 names no version
        c.known[k] = op.version;
    }

    void forget(client& c, const std::string& key)
    {
        if (key.starts_with("hot-"))
            c.known[static_cast<std::size_t>(std::stoul(key.substr(4)))] = 0;
    }

    // The server dies: operations in flight end with outcome unknown, whether they took effect or not.
    void crash(bool power_loss)
    {
        const std::int64_t at = now_ + uniform(0, 100 * microsecond);
        for (unsigned p = 0; p < clients_.size(); ++p)
        {
            client& c = clients_[p];
            ++c.generation;
            if (!c.busy)
                continue;
            c.busy = false;
            emit(p, c.op, -1, outcome::unknown);
            forget(c, c.op.key);
        }
        line_.clear();
        line_ += "{\"type\":\"crash\",\"at\":";
        number(at);
        line_ += power_loss ? ",\"power_loss\":true}\n" : "}\n";
        const std::int64_t restart = at + 50 * millisecond;
        line_ += "{\"type\":\"restart\",\"at\":";
        number(restart);
        line_ += "}\n";
        out_ << line_;
        now_ = restart;
        for (unsigned p = 0; p < clients_.size(); ++p)
            start(p, restart + uniform(1 * millisecond, 5 * millisecond));
    }

    void number(std::int64_t value)
    {
        char buffer[24];
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
        line_.append(buffer, end);
    }

    void text(std::string_view name, std::string_view value)
    {
        line_ += ",\"";
        line_ += name;
        line_ += "\":\"";
        line_ += value; // keys and write ids are plain ASCII without quotes
        line_ += '"';
    }

    void field(std::string_view name, std::int64_t value)
    {
        line_ += ",\"";
        line_ += name;
        line_ += "\":";
        number(value);
    }

    // complete < 0: null.
    void emit(unsigned process, const pending& op, std::int64_t complete, outcome result)
    {
        ++recorded_;
        // Every key of an operation gets a final line, even one no write ever reached.
        if (store_.try_emplace(op.key).second)
            order_.push_back(op.key);
        line_.clear();
        line_ += "{\"type\":\"op\"";
        field("process", process);
        text("f", op.what == kind::create ? "create" : op.what == kind::cas ? "cas" : "read");
        text("key", op.key);
        field("invoke", op.invoke);
        if (complete >= 0)
            field("complete", complete);
        else
            line_ += ",\"complete\":null";
        text("outcome", result == outcome::ok ? "ok" : result == outcome::fail ? "fail" : "unknown");
        if (op.what != kind::read)
            text("write_id", op.write_id);
        if (op.what == kind::cas)
            field("expected", static_cast<std::int64_t>(op.expected));
        if (result == outcome::ok)
        {
            field("version", static_cast<std::int64_t>(op.version));
            if (op.what == kind::read && op.version > 0)
                text("read_write_id", op.read_write_id);
        }
        if (result == outcome::fail)
        {
            field("status", op.status);
            if (op.status == 412)
                field("observed", static_cast<std::int64_t>(op.version));
        }
        line_ += "}\n";
        out_ << line_;
    }

    void write_finals()
    {
        for (const std::string& key : order_)
        {
            line_.clear();
            line_ += "{\"type\":\"final\"";
            text("key", key);
            line_ += ",\"versions\":[";
            const std::vector<std::string>& versions = store_[key];
            for (std::size_t v = 0; v < versions.size(); ++v)
            {
                line_ += v == 0 ? "{\"version\":" : ",{\"version\":";
                number(static_cast<std::int64_t>(v + 1));
                text("write_id", versions[v]);
                line_ += '}';
            }
            line_ += "]}\n";
            out_ << line_;
        }
    }

    std::ostream& out_;
    generate_options options_;
    std::mt19937_64 random_;
    std::vector<client> clients_;
    std::priority_queue<event, std::vector<event>, std::greater<>> events_;
    std::unordered_map<std::string, std::vector<std::string>> store_; // key -> write id of each version
    std::vector<std::string> order_;                                  // keys in order of first use
    std::vector<std::string> created_;                                // the created non-hot records
    std::int64_t now_ = 1 * millisecond;
    std::size_t recorded_ = 0;
    std::string line_;
};

} // namespace

void generate_history(std::ostream& out, const generate_options& options)
{
    simulation(out, options).run();
}

} // namespace reqstore::check
