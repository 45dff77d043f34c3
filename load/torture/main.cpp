// reqstore-torture: crashes reqstore again and again under a compare-and-swap load and checks,
// after every restart, that no acknowledged write or event was lost (audit.hpp); records the whole
// history for the linearizability checkers (reqstore-check); optionally checks webhook delivery
// across the crashes (webhooks.hpp). Exit status: 0 when every check passed, 1 when a promise was
// broken, 2 on a usage or setup error.
#include <reqstore/core/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sys/wait.h>
#include <thread>

#include "../common/json_file.hpp"
#include "audit.hpp"
#include "child_process.hpp"
#include "history.hpp"
#include "ledger.hpp"
#include "webhooks.hpp"
#include "workload.hpp"

// GCC 12 warns falsely that this file's largest coroutine frame, which Asio's recycling allocator
// takes from aligned_alloc, is released with a mismatched function (it is released with free, as
// aligned_alloc requires).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace reqstore;
using namespace reqstore::torture;
using steady = std::chrono::steady_clock;

namespace
{

constexpr std::string_view usage = R"(usage: reqstore-torture --server PATH --work-dir DIR [options]

Runs reqstore (PATH) on 127.0.0.1 with its data in DIR/data, puts a compare-and-swap load on it,
kills it at a random moment, restarts it and audits what survived, --cycles times; then audits
once more and writes DIR/history.jsonl and DIR/report.json. With --nodes N, runs N servers on one
PostgreSQL store (each with DIR/data-I and DIR/server-I.log), and each cycle kills one of them
while the others keep serving.

  --cycles N            crash-and-restart cycles (default 5); 0: one fault-free run of --duration
  --duration SECONDS    length of the fault-free run (default 60)
  --load-ms MIN:MAX     load before each crash, drawn uniformly (default 300:1500)
  --connections N       clients (default 64)
  --hot-keys N          keys that every client updates (default 16)
  --crash kill|power-loss
                        SIGKILL (default), or SIGUSR2 for a server built with the fault-injecting
                        file system (reqstore-faultfs), which then drops every unsynced byte
  --durability fsync|buffered
                        passed to the server (default fsync)
  --server-threads N    passed to the server as --threads (default: the server's own default)
  --check PATH          run reqstore-check (both checkers) over the history
  --sink PATH           start two reqstore-sink receivers (one failing 20% and hanging 5% of
                        attempts) and check webhook delivery across the crashes
  --sink-fail-rate R, --sink-hang-rate R
                        the failing receiver's rates (default 0.2 and 0.05)
  --healthy-lag-limit-ms N
                        the p99 lag of the healthy receiver's first deliveries during the last,
                        crash-free load above which head-of-line blocking is reported (2000)
  --writes put|merge-patch
                        compare-and-swaps as PUTs (default), or as merge patches that set the
                        writer's mark, so that the audit also sees updates lost in the content
  --engine rocksdb|postgres, --conninfo STR, --schema NAME
                        the servers' store (store.engine, store.postgres.conninfo and .schema);
                        default: each server's own RocksDB. The schema must be new
  --nodes N             servers sharing the PostgreSQL store (default 1); client i talks to node
                        i % N
  --between-cycles CMD  a shell command run after each cycle's kill and before the restart (e.g.
                        "tests/pg/instance crash D; tests/pg/instance restart D"); it must exit 0
  --seed N              fixes every random choice (default: from the clock)

The report gives, per cycle, the node killed and recovery_ms: the time from the kill to the
first 2xx that any node answered after the kill and the --between-cycles command.
)";

struct options
{
    std::string server;
    std::string work_dir;
    unsigned cycles = 5;
    unsigned duration_s = 60;
    unsigned load_min_ms = 300;
    unsigned load_max_ms = 1500;
    unsigned connections = 64;
    unsigned hot_keys = 16;
    bool power_loss = false;
    std::string durability = "fsync";
    unsigned server_threads = 0; // 0: the server's default
    std::string check;
    std::string sink;
    std::string fail_rate = "0.2"; // of the failing receiver's attempts
    std::string hang_rate = "0.05";
    unsigned healthy_lag_limit_ms = 2000;
    bool merge_patch = false;
    std::string engine; // "": the server's default
    std::string conninfo;
    std::string schema;
    unsigned nodes = 1;
    std::string between_cycles;
    std::uint64_t seed = 0;
};

std::optional<options> parse(int argc, char** argv, std::string& error)
{
    options o;
    o.seed = static_cast<std::uint64_t>(steady::now().time_since_epoch().count());
    for (int i = 1; i < argc; ++i)
    {
        const std::string flag = argv[i];
        if (flag == "--help")
            return std::nullopt;
        if (i + 1 >= argc)
        {
            error = flag + " needs a value";
            return std::nullopt;
        }
        const std::string value = argv[++i];
        try
        {
            if (flag == "--server")
                o.server = value;
            else if (flag == "--work-dir")
                o.work_dir = value;
            else if (flag == "--cycles")
                o.cycles = static_cast<unsigned>(std::stoul(value));
            else if (flag == "--duration")
                o.duration_s = static_cast<unsigned>(std::stoul(value));
            else if (flag == "--load-ms")
            {
                const auto colon = value.find(':');
                o.load_min_ms = static_cast<unsigned>(std::stoul(value.substr(0, colon)));
                o.load_max_ms = colon == std::string::npos
                                    ? o.load_min_ms
                                    : static_cast<unsigned>(std::stoul(value.substr(colon + 1)));
                if (o.load_max_ms < o.load_min_ms || o.load_min_ms == 0)
                    throw std::invalid_argument("range");
            }
            else if (flag == "--connections")
                o.connections = static_cast<unsigned>(std::stoul(value));
            else if (flag == "--hot-keys")
                o.hot_keys = static_cast<unsigned>(std::stoul(value));
            else if (flag == "--crash")
            {
                if (value != "kill" && value != "power-loss")
                    throw std::invalid_argument("crash");
                o.power_loss = value == "power-loss";
            }
            else if (flag == "--durability")
            {
                if (value != "fsync" && value != "buffered")
                    throw std::invalid_argument("durability");
                o.durability = value;
            }
            else if (flag == "--server-threads")
            {
                o.server_threads = static_cast<unsigned>(std::stoul(value));
                if (o.server_threads == 0)
                    throw std::invalid_argument("server-threads");
            }
            else if (flag == "--check")
                o.check = value;
            else if (flag == "--sink")
                o.sink = value;
            else if (flag == "--sink-fail-rate")
                o.fail_rate = std::to_string(std::stod(value));
            else if (flag == "--sink-hang-rate")
                o.hang_rate = std::to_string(std::stod(value));
            else if (flag == "--healthy-lag-limit-ms")
                o.healthy_lag_limit_ms = static_cast<unsigned>(std::stoul(value));
            else if (flag == "--writes")
            {
                if (value != "put" && value != "merge-patch")
                    throw std::invalid_argument("writes");
                o.merge_patch = value == "merge-patch";
            }
            else if (flag == "--engine")
            {
                if (value != "rocksdb" && value != "postgres")
                    throw std::invalid_argument("engine");
                o.engine = value;
            }
            else if (flag == "--conninfo")
                o.conninfo = value;
            else if (flag == "--schema")
                o.schema = value;
            else if (flag == "--nodes")
                o.nodes = static_cast<unsigned>(std::stoul(value));
            else if (flag == "--between-cycles")
                o.between_cycles = value;
            else if (flag == "--seed")
                o.seed = std::stoull(value);
            else
            {
                error = "unknown option " + flag;
                return std::nullopt;
            }
        }
        catch (const std::exception&)
        {
            error = flag + ": not a valid value: " + value;
            return std::nullopt;
        }
    }
    if (o.server.empty() || o.work_dir.empty())
        error = "--server and --work-dir are required";
    else if (o.connections == 0 || o.hot_keys == 0)
        error = "--connections and --hot-keys must be positive";
    else if (o.engine == "postgres" && o.conninfo.empty())
        error = "--engine postgres needs --conninfo";
    else if (o.engine != "postgres" && (!o.conninfo.empty() || !o.schema.empty()))
        error = "--conninfo and --schema need --engine postgres";
    else if (o.nodes == 0 || (o.nodes > 1 && o.engine != "postgres"))
        error = "--nodes above 1 needs --engine postgres (nodes share only a PostgreSQL store)";
    else if (o.engine == "postgres" && o.power_loss)
        error = "--crash power-loss simulates the loss of the embedded store's files: not with postgres";
    if (!error.empty())
        return std::nullopt;
    return o;
}

load::endpoint_info endpoint(net::io_context& io, std::uint16_t port, std::string authorization)
{
    net::ip::tcp::resolver resolver(io);
    return {resolver.resolve("127.0.0.1", std::to_string(port)), "127.0.0.1:" + std::to_string(port),
            std::move(authorization), std::chrono::seconds(5)};
}

// A fixed test secret for the receivers and the subscriptions (whsec_ + base64 of 32 bytes).
constexpr std::string_view webhook_secret = "whsec_dG9ydHVyZS10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWI=";
constexpr std::string_view dev_authorization = "Bearer dev.dev-secret";

class run
{
public:
    run(options o, net::io_context& io)
        : options_(std::move(o)), io_(io), book_(history_), audit_(book_, options_.merge_patch)
    {
    }

    net::awaitable<void> main();
    int exit_status() const
    {
        return setup_error_.empty() ? (book_.violation_count() == 0 && check_ok_ ? 0 : 1) : 2;
    }
    json::object report() const;
    void write_outputs();

private:
    struct node
    {
        std::unique_ptr<child_process> process = std::make_unique<child_process>();
        std::string name; // "" for a lone node, else "-I": the suffix of its files
    };

    bool write_configs();
    net::awaitable<bool> start_server(unsigned n);
    net::awaitable<bool> store_is_new();
    net::awaitable<void> pause(std::chrono::milliseconds d);
    net::awaitable<bool> subscribe(const std::string& url);
    net::awaitable<bool> run_between_cycles();
    net::awaitable<void> wait_for_recovery(std::size_t ops_at_kill);
    void note_recovery();
    void crash(unsigned n);
    const load::endpoint_info& auditor(unsigned cycle) const { return where_[cycle % where_.size()]; }

    options options_;
    net::io_context& io_;
    history history_;
    ledger book_;
    audit audit_;
    std::vector<node> nodes_;
    // Filled once every node first started, then constant: the load's connections hold references
    // to it, and a restarted node listens on its first port again.
    std::vector<load::endpoint_info> where_;
    std::vector<std::unique_ptr<child_process>> sinks_;
    std::vector<receiver> receivers_;
    std::string setup_error_;
    bool check_ok_ = true;
    json::object check_result_;
    json::object webhook_figures_;
    std::vector<std::int64_t> first_answer_ms_;
    json::array cycles_; // per cycle: the node killed, recovery_ms, the --between-cycles status
    std::uint64_t audited_versions_ = 0;
    unsigned crashes_ = 0;
    std::chrono::milliseconds loaded_{0};
    steady::time_point last_restart_;
    core::unix_millis quiet_from_ = 0; // when the last load, which no crash ends, began
    std::int64_t killed_at_ns_ = 0;    // the last kill, on the history's clock
    std::int64_t fault_over_ns_ = 0;   // the last kill, or the end of the --between-cycles after it
    std::optional<std::int64_t> first_2xx_after_kill_ns_;
};

net::awaitable<void> run::pause(std::chrono::milliseconds d)
{
    net::steady_timer timer(co_await net::this_coro::executor, d);
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
}

// One configuration file per node: short webhook retries and timeouts, so that deliveries failed on
// purpose are retried within the run (nothing else differs from the shipped defaults), the store,
// and the node's name.
bool run::write_configs()
{
    const auto work = std::filesystem::path(options_.work_dir);
    for (unsigned n = 0; n < options_.nodes; ++n)
    {
        json::object hooks{{"retry_schedule", json::array{0.01, 0.05, 0.1, 0.2, 0.5, 1, 1, 1, 1, 1, 1, 1}},
                           {"timeout", 0.25},
                           {"disable_after", 86400}};
        json::object config{{"webhooks", std::move(hooks)}};
        if (!options_.engine.empty())
        {
            json::object store{{"engine", options_.engine}};
            if (options_.engine == "postgres")
            {
                json::object postgres{{"conninfo", options_.conninfo}};
                if (!options_.schema.empty())
                    postgres["schema"] = options_.schema;
                store["postgres"] = std::move(postgres);
            }
            config["store"] = std::move(store);
        }
        if (options_.nodes > 1)
            config["node"] = json::object{{"id", "torture" + nodes_[n].name}};
        std::ofstream out(work / ("config" + nodes_[n].name + ".json"));
        out << json::serialize(config);
        if (!out.flush())
        {
            setup_error_ = "cannot write " + (work / ("config" + nodes_[n].name + ".json")).string();
            return false;
        }
    }
    return true;
}

// Starts node `n` (on its first port again when it ran before) and waits for its first 200 (GET
// /readyz), which must come within 5 s of the start: the time a restart takes to recover its store
// and serve.
net::awaitable<bool> run::start_server(unsigned n)
{
    const auto started = steady::now();
    const auto work = std::filesystem::path(options_.work_dir);
    node& server = nodes_[n];
    const bool restart = n < where_.size();
    const std::string listen = restart ? where_[n].authority : "127.0.0.1:0";
    std::vector<std::string> argv{options_.server,
                                  "--config",
                                  (work / ("config" + server.name + ".json")).string(),
                                  "--listen",
                                  listen,
                                  "--data-dir",
                                  (work / ("data" + server.name)).string(),
                                  "--durability",
                                  options_.durability};
    if (options_.server_threads > 0)
        argv.insert(argv.end(), {"--threads", std::to_string(options_.server_threads)});
    if (auto error = server.process->start(argv, (work / ("server" + server.name + ".log")).string(),
                                           std::chrono::seconds(60)))
    {
        setup_error_ = *error;
        co_return false;
    }
    if (!restart)
        where_.push_back(endpoint(io_, server.process->port(), std::string(dev_authorization)));
    load::connection conn(co_await net::this_coro::executor, where_[n]);
    while (true)
    {
        conn.prepare(http::verb::get, "/readyz");
        const auto ec = co_await conn.exchange();
        if (!ec && conn.status() == 200)
            break;
        if (steady::now() - started > std::chrono::seconds(60))
        {
            setup_error_ = "node " + std::to_string(n) + " did not answer 200 on /readyz within 60 s";
            co_return false;
        }
        co_await pause(std::chrono::milliseconds(5));
    }
    if (killed_at_ns_ != 0 && !first_2xx_after_kill_ns_)
        first_2xx_after_kill_ns_ = workload::now_ns();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count();
    first_answer_ms_.push_back(took);
    if (took > 5000)
        book_.report({"restart", "", "the first 200 came " + std::to_string(took) + " ms after the start"});
    last_restart_ = steady::now();
    co_return true;
}

// The audit reads every version and event of the store: one that holds records from an earlier run
// would be reported as phantoms. A new store has no event yet.
net::awaitable<bool> run::store_is_new()
{
    load::connection conn(co_await net::this_coro::executor, where_[0]);
    conn.prepare(http::verb::get, "/v1/events?limit=1");
    const auto ec = co_await conn.exchange();
    if (ec || conn.status() != 200)
    {
        setup_error_ = "reading the change feed failed: " +
                       (ec ? ec.message() : "status " + std::to_string(conn.status()));
        co_return false;
    }
    if (conn.body().find("\"seq\"") != std::string::npos)
    {
        setup_error_ = "the store already holds events: give the run a new --schema";
        co_return false;
    }
    co_return true;
}

net::awaitable<bool> run::subscribe(const std::string& url)
{
    load::connection conn(co_await net::this_coro::executor, where_[0]);
    const std::string body = json::serialize(
        json::object{{"url", url}, {"events", json::array{"*"}}, {"secret", std::string(webhook_secret)}});
    conn.prepare(http::verb::post, "/v1/webhooks", body);
    const auto ec = co_await conn.exchange();
    if (ec || conn.status() != 201)
    {
        setup_error_ = "subscribing " + url + " failed: " + (ec ? ec.message() : conn.body());
        co_return false;
    }
    co_return true;
}

// Kills node `n` under load (SIGKILL, or SIGUSR2 for a simulated power loss). A lone node's crash
// goes into the history once the process is gone: every operation still in flight took effect
// before that, or never. When other nodes share the store, no such mark is recorded: a commit the
// killed node had sent may still be applied by PostgreSQL after the kill, so its outcome stays
// unknown with no bound, as a write answered 503 or timed out does.
void run::crash(unsigned n)
{
    const auto status =
        nodes_[n].process->stop(options_.power_loss ? SIGUSR2 : SIGKILL, std::chrono::seconds(30));
    if (options_.power_loss && (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 137))
        setup_error_ = "the server did not end with status 137 after SIGUSR2: is it reqstore-faultfs?";
    killed_at_ns_ = workload::now_ns();
    fault_over_ns_ = killed_at_ns_;
    first_2xx_after_kill_ns_.reset();
    if (options_.nodes == 1)
        history_.crash(killed_at_ns_, options_.power_loss);
    ++crashes_;
}

// Runs --between-cycles on a thread of its own, so that the load on the other nodes goes on.
net::awaitable<bool> run::run_between_cycles()
{
    if (options_.between_cycles.empty())
        co_return true;
    auto status = std::make_shared<std::atomic<int>>(-1);
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread command(
        [line = options_.between_cycles, status, done]
        {
            status->store(std::system(line.c_str()));
            done->store(true);
        });
    const auto give_up = steady::now() + std::chrono::seconds(120);
    while (!done->load() && steady::now() < give_up)
        co_await pause(std::chrono::milliseconds(5));
    if (!done->load())
    {
        // std::system cannot be cancelled: the thread is left to finish while the run ends.
        command.detach();
        setup_error_ = "--between-cycles did not end within 120 s: " + options_.between_cycles;
        co_return false;
    }
    command.join();
    fault_over_ns_ = workload::now_ns();
    first_2xx_after_kill_ns_.reset();
    cycles_.back().as_object()["between_cycles_status"] = status->load();
    if (status->load() != 0)
    {
        setup_error_ = "--between-cycles exited with status " + std::to_string(status->load()) + ": " +
                       options_.between_cycles;
        co_return false;
    }
    co_return true;
}

// Waits, with the load still running on the other nodes, until one of them answered a 2xx after the
// last kill and the --between-cycles command after it, at most 30 s. Before the restart: starting a
// server holds up this thread (and the load) until it listens.
net::awaitable<void> run::wait_for_recovery(std::size_t ops_at_kill)
{
    const auto give_up = steady::now() + std::chrono::seconds(30);
    while (true)
    {
        const auto& ops = history_.ops();
        for (std::size_t i = ops_at_kill; i < ops.size(); ++i)
            if ((ops[i].status == 200 || ops[i].status == 201) && ops[i].complete &&
                *ops[i].complete > fault_over_ns_ &&
                (!first_2xx_after_kill_ns_ || *ops[i].complete < *first_2xx_after_kill_ns_))
                first_2xx_after_kill_ns_ = *ops[i].complete;
        ops_at_kill = ops.size();
        if (first_2xx_after_kill_ns_ || steady::now() >= give_up)
            break;
        co_await pause(std::chrono::milliseconds(2));
    }
}

// Once the killed node is back: the time from the kill to the first 2xx after the kill and the
// --between-cycles command, the restarted node's /readyz included.
void run::note_recovery()
{
    auto& entry = cycles_.back().as_object();
    if (!first_2xx_after_kill_ns_)
    {
        entry["recovery_ms"] = nullptr;
        book_.report({"recovery", "", "no node answered a 2xx after the kill"});
        return;
    }
    entry["recovery_ms"] = static_cast<double>(*first_2xx_after_kill_ns_ - killed_at_ns_) / 1e6;
}

net::awaitable<void> run::main()
{
    const auto work = std::filesystem::path(options_.work_dir);
    std::filesystem::create_directories(work);
    for (unsigned n = 0; n < options_.nodes; ++n)
    {
        nodes_.emplace_back();
        nodes_.back().name = options_.nodes == 1 ? "" : "-" + std::to_string(n);
        std::filesystem::remove_all(work / ("data" + nodes_.back().name));
    }
    where_.reserve(options_.nodes);
    if (!write_configs())
        co_return;
    if (!options_.sink.empty())
    {
        for (const bool misbehaves : {true, false})
        {
            auto sink = std::make_unique<child_process>();
            const std::string name = misbehaves ? "failing-receiver" : "healthy-receiver";
            std::vector<std::string> argv{options_.sink, "--listen", "127.0.0.1:0", "--secret",
                                          std::string(webhook_secret)};
            if (misbehaves)
                argv.insert(argv.end(), {"--fail-rate", options_.fail_rate, "--hang-rate", options_.hang_rate,
                                         "--seed", std::to_string(options_.seed)});
            if (auto error = sink->start(argv, (work / (name + ".log")).string(), std::chrono::seconds(30)))
            {
                setup_error_ = *error;
                co_return;
            }
            receivers_.push_back({name, endpoint(io_, sink->port(), ""), misbehaves});
            sinks_.push_back(std::move(sink));
        }
    }

    workload load(book_,
                  workload_options{options_.connections, options_.hot_keys, 0.15, 0.20,
                                   std::chrono::milliseconds(5000), options_.merge_patch},
                  options_.seed);
    std::mt19937_64 rng(options_.seed ^ 0x9e3779b97f4a7c15ull);
    std::uniform_int_distribution<unsigned> load_ms(options_.load_min_ms, options_.load_max_ms);
    std::uniform_int_distribution<unsigned> pick_node(0, options_.nodes - 1);
    auto executor = co_await net::this_coro::executor;
    std::optional<unsigned> down; // a lone node killed at the end of the last cycle

    for (unsigned cycle = 0; cycle <= options_.cycles; ++cycle)
    {
        if (cycle == 0)
        {
            for (unsigned n = 0; n < options_.nodes; ++n)
                if (!co_await start_server(n))
                    co_return;
            if (options_.engine == "postgres" && !co_await store_is_new())
                co_return;
            for (const auto& r : receivers_)
            {
                const std::string url = "http://" + r.where.authority + "/" + r.name;
                if (!co_await subscribe(url))
                    co_return;
            }
        }
        else
        {
            if (down)
            {
                if (!co_await start_server(*down))
                    co_return;
                note_recovery();
                history_.restart(workload::now_ns());
                down.reset();
            }
            audited_versions_ += co_await audit_.run(auditor(cycle), 16);
        }
        const bool last = cycle == options_.cycles && options_.cycles > 0;
        if (last && receivers_.empty())
            break; // the last start only audits
        if (last)
            quiet_from_ = core::now_millis(); // a load no crash ends, for the head-of-line check
        bool load_done = false;
        net::co_spawn(executor, load.run(where_),
                      [&load_done](std::exception_ptr e)
                      {
                          load_done = true;
                          if (e)
                              std::rethrow_exception(e);
                      });
        const auto length = options_.cycles == 0 ? std::chrono::milliseconds(options_.duration_s * 1000ull)
                            : last               ? std::chrono::milliseconds(2000)
                                                 : std::chrono::milliseconds(load_ms(rng));
        co_await pause(length);
        loaded_ += length;
        if (options_.cycles > 0 && !last)
        {
            // A lone node draws nothing, so that a seed replays the runs it made before --nodes.
            const unsigned victim = options_.nodes > 1 ? pick_node(rng) : 0;
            const std::size_t ops_at_kill = history_.ops().size();
            crash(victim);
            cycles_.push_back(json::object{{"cycle", cycle + 1}, {"node", victim}});
            if (options_.nodes == 1)
                down = victim; // restarted at the top of the next cycle, with no load running
            else
            {
                // The other nodes keep serving under the load while the killed one is down.
                bool back = setup_error_.empty() && co_await run_between_cycles();
                if (back)
                    co_await wait_for_recovery(ops_at_kill);
                back = back && co_await start_server(victim);
                if (!back)
                {
                    load.stop();
                    while (!load_done)
                        co_await pause(std::chrono::milliseconds(2));
                    co_return;
                }
                note_recovery();
            }
        }
        load.stop();
        while (!load_done)
            co_await pause(std::chrono::milliseconds(2));
        if (!setup_error_.empty())
            co_return;
        if (down && !co_await run_between_cycles())
            co_return;
        std::cerr << "reqstore-torture: "
                  << (last ? std::string("final load") : "cycle " + std::to_string(cycle + 1)) << ": "
                  << history_.ops().size() << " operations, " << book_.violation_count() << " violations\n";
        if (options_.cycles == 0 || last)
            audited_versions_ += co_await audit_.run(auditor(cycle), 16);
    }
    if (!receivers_.empty())
        webhook_figures_ =
            co_await check_webhooks(book_, audit_, receivers_, last_restart_, quiet_from_,
                                    webhook_limits{std::chrono::seconds(30),
                                                   std::chrono::milliseconds(options_.healthy_lag_limit_ms)});
    for (unsigned n = 0; n < nodes_.size(); ++n)
    {
        const auto stopped = nodes_[n].process->stop(SIGTERM, std::chrono::seconds(30));
        if (!stopped || !WIFEXITED(*stopped) || WEXITSTATUS(*stopped) != 0)
            book_.report({"shutdown", "", "node " + std::to_string(n) + " did not exit 0 after SIGTERM"});
    }
    for (auto& sink : sinks_)
        (void)sink->stop(SIGTERM, std::chrono::seconds(10));
}

void run::write_outputs()
{
    const auto work = std::filesystem::path(options_.work_dir);
    std::vector<std::pair<std::string, std::vector<version_entry>>> finals;
    for (const auto& [key, state] : book_.keys())
    {
        std::vector<version_entry> versions;
        for (std::size_t v = 0; v < state.versions.size(); ++v)
            versions.push_back({v + 1, state.versions[v]});
        finals.emplace_back(key, std::move(versions));
    }
    const auto history_file = (work / "history.jsonl").string();
    {
        std::ofstream out(history_file);
        history_.write(out, finals);
    }
    if (!options_.check.empty() && setup_error_.empty())
    {
        const std::string command =
            options_.check + " --checker both " + history_file + " > " + (work / "check.json").string();
        const int status = std::system(command.c_str());
        check_ok_ = status == 0;
        std::ifstream in(work / "check.json");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        boost::system::error_code ec;
        auto parsed = json::parse(text, ec);
        if (!ec && parsed.is_object())
            check_result_ = std::move(parsed.as_object());
        else
            check_result_ = {{"error", "reqstore-check printed no JSON"}, {"status", status}};
    }
    (void)tools::write_json_file((work / "report.json").string(), report());
}

json::object run::report() const
{
    std::uint64_t ok = 0, fail = 0, unknown = 0, writes_ok = 0, unavailable = 0;
    for (const auto& op : history_.ops())
    {
        ok += op.outcome == op_outcome::ok;
        fail += op.outcome == op_outcome::fail;
        unknown += op.outcome == op_outcome::unknown;
        writes_ok += op.outcome == op_outcome::ok && op.kind != op_kind::read;
        unavailable += op.status == 503;
    }
    json::object kinds;
    for (const auto& [kind, n] : book_.violations_by_kind())
        kinds[kind] = n;
    json::array listed;
    for (const auto& v : book_.violations())
        listed.push_back(json::object{{"kind", v.kind}, {"key", v.key}, {"detail", v.detail}});
    json::array first_answers;
    for (const auto ms : first_answer_ms_)
        first_answers.push_back(ms);
    const auto slowest =
        first_answer_ms_.empty() ? 0 : *std::max_element(first_answer_ms_.begin(), first_answer_ms_.end());
    double slowest_recovery = 0;
    for (const auto& c : cycles_)
        if (const auto* ms = c.as_object().if_contains("recovery_ms"); ms && ms->is_double())
            slowest_recovery = std::max(slowest_recovery, ms->as_double());
    json::object out{{"ok", exit_status() == 0},
                     {"seed", options_.seed},
                     {"crashes", crashes_},
                     {"crash", options_.power_loss ? "power-loss" : "kill"},
                     {"durability", options_.durability},
                     {"server_threads", options_.server_threads},
                     {"engine", options_.engine.empty() ? "default" : options_.engine},
                     {"nodes", options_.nodes},
                     {"writes", options_.merge_patch ? "merge-patch" : "put"},
                     {"connections", options_.connections},
                     {"load_seconds", static_cast<double>(loaded_.count()) / 1000.0},
                     {"operations", history_.ops().size()},
                     {"answered_ok", ok},
                     {"acknowledged_writes", writes_ok},
                     {"failed", fail},
                     {"unknown", unknown},
                     {"answered_503", unavailable},
                     {"keys", book_.keys().size()},
                     {"versions_audited", audited_versions_},
                     {"events_read", audit_.events_read()},
                     {"first_200_ms_max", slowest},
                     {"recovery_ms_max", slowest_recovery},
                     {"cycles", cycles_},
                     {"violations", book_.violation_count()},
                     {"violations_by_kind", std::move(kinds)},
                     {"violation_list", std::move(listed)}};
    if (!setup_error_.empty())
        out["error"] = setup_error_;
    if (!check_result_.empty())
        out["check"] = check_result_;
    if (!webhook_figures_.empty())
        out["webhooks"] = webhook_figures_;
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    std::signal(SIGPIPE, SIG_IGN);
    std::string error;
    const auto parsed = parse(argc, argv, error);
    if (!parsed)
    {
        if (!error.empty())
            std::cerr << "reqstore-torture: " << error << "\n";
        std::cerr << usage;
        return error.empty() ? 0 : 2;
    }
    net::io_context io(1);
    run torture(*parsed, io);
    net::co_spawn(io, torture.main(),
                  [](std::exception_ptr e)
                  {
                      if (e)
                          std::rethrow_exception(e);
                  });
    io.run();
    torture.write_outputs();
    const auto report = torture.report();
    std::cout << json::serialize(report) << std::endl;
    return torture.exit_status();
}
