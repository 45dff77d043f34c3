// reqstore-load (API.md section 11) as a program, against the real server: every scenario exits 0
// with a section 11 JSON report whose counts add up; the cas-update check finds no lost update on a
// hot key, and does find one when a writer outside the tool resets the counter behind its back;
// bad options exit 2 naming the option; an unreachable target exits 1.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "harness.hpp"

#ifndef REQSTORE_LOAD_BINARY
#define REQSTORE_LOAD_BINARY "reqstore-load"
#endif
#ifndef REQSTORE_SINK_BINARY
#define REQSTORE_SINK_BINARY "reqstore-sink"
#endif

using namespace reqstore::test;
namespace fs = std::filesystem;

namespace
{

constexpr std::string_view sink_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// A scratch directory for one test's files, removed at the end.
class scratch
{
public:
    scratch()
    {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() /
               ("reqstore-load-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(dir_);
    }
    ~scratch()
    {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    std::string file(std::string_view name) const { return (dir_ / name).string(); }

private:
    fs::path dir_;
};

std::string read_text(const std::string& file)
{
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct tool_result
{
    int status = -1; // exit code, or -N when killed by signal N
    std::string out;
    std::string err;
};

std::ostream& operator<<(std::ostream& os, const tool_result& r)
{
    return os << "exit " << r.status << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
}

// reqstore-load as a child process, its stdout and stderr in files of `where`. wait() bounds it
// with a deadline, after which the child is killed and the test fails.
class tool
{
public:
    tool(const scratch& where, std::vector<std::string> args)
        : out_(where.file("tool.out")), err_(where.file("tool.err"))
    {
        args.insert(args.begin(), program(REQSTORE_LOAD_BINARY));
        // Everything the child needs is made before fork(): only async-signal-safe calls after it.
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("fork failed");
        if (pid_ == 0)
        {
            const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out < 0 || err < 0 || ::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0)
                ::_exit(127);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~tool()
    {
        if (pid_ > 0)
        {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    tool(const tool&) = delete;
    tool& operator=(const tool&) = delete;

    bool running() { return pid_ > 0 && !finished_ && !poll(); }

    tool_result wait(millis deadline = 20s)
    {
        const auto until = steady::now() + deadline;
        while (!finished_ && !poll())
        {
            if (steady::now() > until)
            {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                pid_ = -1;
                throw std::runtime_error("reqstore-load did not exit within " +
                                         std::to_string(deadline.count()) + " ms; stdout:\n" +
                                         read_text(out_) + "\nstderr:\n" + read_text(err_));
            }
            std::this_thread::sleep_for(10ms);
        }
        return {status_, read_text(out_), read_text(err_)};
    }

private:
    bool poll()
    {
        int st = 0;
        const pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r != pid_)
            return false;
        finished_ = true;
        pid_ = -1;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        return true;
    }

    std::string out_;
    std::string err_;
    pid_t pid_ = -1;
    bool finished_ = false;
    int status_ = -1;
};

tool_result run_tool(const scratch& where, std::vector<std::string> args, millis deadline = 20s)
{
    tool t(where, std::move(args));
    return t.wait(deadline);
}

// The arguments every run against `srv` shares.
std::vector<std::string> against(const server& srv, std::vector<std::string> more)
{
    std::vector<std::string> args{"--target", "http://127.0.0.1:" + std::to_string(srv.port()), "--auth",
                                  "dev.dev-secret", "--quiet"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

server_options buffered()
{
    server_options o;
    o.durability = "buffered";
    return o;
}

double real(const json::object& o, std::string_view key)
{
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_number())
        throw std::runtime_error("no number \"" + std::string(key) + "\" in " + to_json(o));
    return v->to_number<double>();
}

// The report is section 11's shape, its counts add up, and its percentiles are ordered.
testing::AssertionResult is_report(const json::object& r, std::string_view scenario, int connections)
{
    for (const char* member : {"scenario", "connections", "duration_s", "requests", "rps", "latency_ms",
                               "status", "errors", "correctness"})
        if (!r.contains(member))
            return testing::AssertionFailure() << "no \"" << member << "\" in " << to_json(r);
    if (text(r, "scenario") != scenario)
        return testing::AssertionFailure() << "scenario " << text(r, "scenario");
    if (number(r, "connections") != connections)
        return testing::AssertionFailure() << "connections " << number(r, "connections");
    const auto& latency = r.at("latency_ms").as_object();
    double previous = 0;
    for (const char* p : {"p50", "p90", "p99", "p999", "max"})
    {
        const double v = real(latency, p);
        if (v < previous)
            return testing::AssertionFailure()
                   << p << " below the previous percentile in " << to_json(latency);
        previous = v;
    }
    std::int64_t sum = 0;
    for (const auto& member : r.at("status").as_object())
        sum += member.value().as_int64();
    if (sum != number(r, "requests"))
        return testing::AssertionFailure()
               << "requests " << number(r, "requests") << " but statuses add up to " << sum;
    const double rps = real(r, "rps");
    const double expected_rps = static_cast<double>(number(r, "requests")) / real(r, "duration_s");
    if (std::abs(rps - expected_rps) > 0.01 * expected_rps + 0.01)
        return testing::AssertionFailure() << "rps " << rps << " is not requests / duration_s";
    const auto& verdict = r.at("correctness").as_object();
    if (!verdict.contains("ok") || !verdict.at("ok").is_bool() || !verdict.contains("detail") ||
        !verdict.at("detail").is_string())
        return testing::AssertionFailure() << "correctness " << to_json(verdict);
    return testing::AssertionSuccess();
}

json::object report_of(const std::string& file)
{
    return parse_json(read_text(file)).as_object();
}

std::int64_t status_count(const json::object& report, std::string_view status)
{
    const auto& s = report.at("status").as_object();
    const auto* n = s.if_contains(status);
    return n == nullptr ? 0 : n->as_int64();
}

bool check_ok(const json::object& report)
{
    return report.at("correctness").as_object().at("ok").as_bool();
}

std::vector<std::string> lines_of(const std::string& file)
{
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.push_back(line);
    return out;
}

} // namespace

TEST(LoadTool, ReadRunWritesTheSection11ReportAndExitsZero)
{
    server srv(buffered());
    scratch dir;
    const auto r = run_tool(dir, against(srv, {"--scenario", "read", "--connections", "4", "--duration", "1",
                                               "--keys", "20", "--json", dir.file("report.json")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "read", 4));
    EXPECT_GT(number(report, "requests"), 100);
    EXPECT_EQ(status_count(report, "200"), number(report, "requests")) << to_json(report);
    EXPECT_EQ(number(report, "errors"), 0);
    EXPECT_TRUE(check_ok(report));
    EXPECT_TRUE(contains(r.out, "p99")) << r;
    EXPECT_TRUE(contains(r.out, "200: ")) << r;
}

TEST(LoadTool, CreateRunAnswers201ForEveryRequest)
{
    server srv(buffered());
    scratch dir;
    const auto r = run_tool(dir, against(srv, {"--scenario", "create", "--connections", "2", "--duration",
                                               "1", "--json", dir.file("report.json")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "create", 2));
    EXPECT_GT(number(report, "requests"), 0);
    EXPECT_EQ(status_count(report, "201"), number(report, "requests")) << to_json(report);
}

TEST(LoadTool, CasUpdateOnHotKeysConflictsAndLosesNoUpdate)
{
    server srv(buffered());
    scratch dir;
    const auto r =
        run_tool(dir, against(srv, {"--scenario", "cas-update", "--connections", "8", "--duration", "2",
                                    "--keys", "3", "--skew", "zipf:1.2", "--json", dir.file("report.json"),
                                    "--save-keys", dir.file("keys.txt")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "cas-update", 8));
    EXPECT_GT(status_count(report, "412"), 0)
        << "8 connections on 3 hot keys must collide: " << to_json(report);
    EXPECT_EQ(number(report, "conflicts"), status_count(report, "412"));
    EXPECT_EQ(status_count(report, "200") + status_count(report, "412"), number(report, "requests"));
    EXPECT_TRUE(check_ok(report)) << to_json(report);
    EXPECT_TRUE(report.at("correctness").as_object().at("checked").as_bool());

    // The same facts, seen from outside the tool: each counter went up by one per version.
    const auto keys = lines_of(dir.file("keys.txt"));
    ASSERT_EQ(keys.size(), 3u);
    auto c = srv.connect();
    std::int64_t total = 0;
    for (const auto& id : keys)
    {
        const auto record = get_record(c, id);
        EXPECT_EQ(number(record, "counter"), number(record, "version") - 1) << to_json(record);
        total += number(record, "counter");
    }
    EXPECT_EQ(total, number(report.at("updates").as_object(), "acknowledged"));
    EXPECT_EQ(static_cast<std::int64_t>(history_of(c, keys[0]).size()),
              number(get_record(c, keys[0]), "version"));
}

TEST(LoadTool, MixedRunReadsUpdatesAndCreates)
{
    server srv(buffered());
    scratch dir;
    const auto r =
        run_tool(dir, against(srv, {"--scenario", "mixed", "--connections", "4", "--duration", "1", "--keys",
                                    "10", "--skew", "zipf:1", "--json", dir.file("report.json")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "mixed", 4));
    EXPECT_GT(status_count(report, "200"), 0);
    EXPECT_GT(status_count(report, "201"), 0);
    EXPECT_GT(number(report.at("updates").as_object(), "acknowledged"), 0);
    EXPECT_TRUE(check_ok(report)) << to_json(report);
}

TEST(LoadTool, OpenLoopSendsExactlyTheScheduledRequestsAfterTheWarmup)
{
    server srv(buffered());
    scratch dir;
    // 400 slots a second over 4 connections; the first 0.5 s of slots are warmup and not counted.
    const auto r = run_tool(
        dir, against(srv, {"--scenario", "read", "--connections", "4", "--duration", "1.5", "--warmup", "0.5",
                           "--rate", "400", "--keys", "5", "--json", dir.file("report.json")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "read", 4));
    EXPECT_EQ(number(report, "requests"), 600) << to_json(report);
    EXPECT_DOUBLE_EQ(real(report, "rate"), 400);
    EXPECT_NEAR(real(report, "rps"), 400, 1);
}

TEST(LoadTool, RestProtocolReadsAFixedPath)
{
    server srv(buffered());
    scratch dir;
    const auto r = run_tool(
        dir, against(srv, {"--protocol", "rest", "--path", "/healthz", "--scenario", "read", "--connections",
                           "2", "--duration", "1", "--json", dir.file("report.json")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "read", 2));
    EXPECT_EQ(text(report, "protocol"), "rest");
    EXPECT_EQ(status_count(report, "200"), number(report, "requests"));
}

TEST(LoadTool, WebhookFanoutDeliversEveryVersionToTheSink)
{
    server srv(buffered());
    server_options sink_options;
    sink_options.binary = REQSTORE_SINK_BINARY;
    sink_options.extra_args = {"--secret", std::string(sink_secret)};
    server sink(sink_options);
    scratch dir;
    const auto r = run_tool(
        dir,
        against(srv, {"--scenario", "webhook-fanout", "--connections", "4", "--duration", "1", "--keys", "5",
                      "--sink", "http://127.0.0.1:" + std::to_string(sink.port()), "--sink-secret",
                      std::string(sink_secret), "--drain", "15", "--json", dir.file("report.json")}),
        40s);
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "webhook-fanout", 4));
    const auto& hooks = report.at("webhooks").as_object();
    EXPECT_GT(number(hooks, "committed"), 0) << to_json(hooks);
    EXPECT_EQ(number(hooks, "delivered"), number(hooks, "committed")) << to_json(hooks);
    EXPECT_EQ(number(hooks, "missing"), 0);
    EXPECT_EQ(number(hooks, "out_of_order"), 0);
    EXPECT_TRUE(hooks.at("lag_ms").as_object().contains("p99"));
    // The run's subscription is gone.
    auto c = srv.connect();
    EXPECT_EQ(c.get("/v1/webhooks/" + text(hooks, "subscription")).status(), 404u);
}

// The negative control: the check can fail. The tool works on two records the test made
// (--reuse-keys) while the test resets their counters behind its back (PUT without If-Match), which
// loses the tool's acknowledged increments: it must say so and exit 1.
TEST(LoadTool, ReportsALostUpdateWhenAnotherWriterResetsTheCounter)
{
    server srv(buffered());
    scratch dir;
    auto c = srv.connect();
    std::vector<std::string> ids;
    {
        std::ofstream keys(dir.file("keys.txt"));
        for (int i = 0; i < 2; ++i)
        {
            ids.push_back(text(create_record(c, {{"counter", 0}}), "id"));
            keys << ids.back() << "\n";
        }
    }
    tool t(dir, against(srv, {"--scenario", "cas-update", "--connections", "4", "--duration", "1.5",
                              "--reuse-keys", dir.file("keys.txt"), "--json", dir.file("report.json")}));
    const auto stop_writing = steady::now() + 1200ms;
    int resets = 0;
    while (steady::now() < stop_writing && t.running())
    {
        for (const auto& id : ids)
            if (c.put(path_of(id), R"({"counter":0})").status() == 200)
                ++resets;
        std::this_thread::sleep_for(20ms);
    }
    const auto r = t.wait();
    ASSERT_GT(resets, 10);
    ASSERT_EQ(r.status, 1) << r;
    EXPECT_TRUE(contains(r.out, "lost update")) << r;
    const auto report = report_of(dir.file("report.json"));
    EXPECT_TRUE(is_report(report, "cas-update", 4));
    EXPECT_FALSE(check_ok(report));
    EXPECT_TRUE(contains(text(report.at("correctness").as_object(), "detail"), "lost update"))
        << to_json(report);
}

TEST(LoadTool, ReusedKeysAreCheckedAgainstTheirCountersAtTheStart)
{
    server srv(buffered());
    scratch dir;
    auto c = srv.connect();
    const std::string id = text(create_record(c, {{"counter", 41}}), "id");
    ASSERT_EQ(c.put(path_of(id), R"({"note":"a version that does not touch the counter"})").status(), 200u);
    std::ofstream(dir.file("keys.txt")) << id << "\n";
    const auto r = run_tool(
        dir, against(srv, {"--scenario", "cas-update", "--connections", "2", "--duration", "1",
                           "--reuse-keys", dir.file("keys.txt"), "--json", dir.file("report.json")}));
    ASSERT_EQ(r.status, 0) << r;
    const auto report = report_of(dir.file("report.json"));
    const auto acknowledged = number(report.at("updates").as_object(), "acknowledged");
    EXPECT_GT(acknowledged, 0);
    const auto record = get_record(c, id);
    EXPECT_EQ(number(record, "counter"), 41 + acknowledged);
    EXPECT_EQ(number(record, "version"), 2 + acknowledged);
}

TEST(LoadTool, UsageErrorsExitTwoNamingTheOption)
{
    scratch dir;
    const std::vector<std::string> target{"--target", "http://127.0.0.1:9"};
    const auto with_target = [&target](std::vector<std::string> more)
    {
        std::vector<std::string> args = target;
        args.insert(args.end(), more.begin(), more.end());
        return args;
    };
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--scenario", "read"}, "--target"},
        {{"--target", "https://127.0.0.1:1", "--scenario", "read"}, "--target"},
        {{"--target", "http://127.0.0.1:1/v1", "--scenario", "read"}, "--target"},
        {with_target({}), "--scenario"},
        {with_target({"--scenario", "delete-all"}), "--scenario"},
        {with_target({"--scenario", "update"}), "--scenario"},
        {with_target({"--scenario", "read", "--connections", "0"}), "--connections"},
        {with_target({"--scenario", "read", "--duration", "-1"}), "--duration"},
        {with_target({"--scenario", "read", "--duration", "abc"}), "--duration"},
        {with_target({"--scenario", "read", "--warmup", "x"}), "--warmup"},
        {with_target({"--scenario", "read", "--keys", "0"}), "--keys"},
        {with_target({"--scenario", "read", "--skew", "zipf:"}), "--skew"},
        {with_target({"--scenario", "read", "--skew", "pareto:1"}), "--skew"},
        {with_target({"--scenario", "read", "--auth", "no-dot"}), "--auth"},
        {with_target({"--scenario", "read", "--rate", "0"}), "--rate"},
        {with_target({"--scenario", "read", "--threads", "0"}), "--threads"},
        {with_target({"--scenario", "read", "--protocol", "grpc"}), "--protocol"},
        {with_target({"--scenario", "read", "--protocol", "rest"}), "--path"},
        {with_target({"--scenario", "read", "--path", "/x"}), "--path"},
        {with_target({"--scenario", "cas-update", "--protocol", "rest", "--path", "/p/{id}"}), "--scenario"},
        {with_target({"--scenario", "webhook-fanout"}), "--sink"},
        {with_target(
             {"--scenario", "webhook-fanout", "--sink", "http://127.0.0.1:2", "--sink-secret", "nope"}),
         "--sink-secret"},
        {with_target({"--scenario", "read", "--timeout", "0"}), "--timeout"},
        {with_target({"--scenario", "read", "--seed", "-3"}), "--seed"},
        {with_target({"--scenario", "read", "--bogus", "1"}), "--bogus"},
        {with_target({"--scenario", "read", "--json"}), "--json"},
    };
    for (const auto& [args, option] : cases)
    {
        const auto r = run_tool(dir, args, 10s);
        EXPECT_EQ(r.status, 2) << option << "\n" << r;
        EXPECT_TRUE(starts_with(r.err, "reqstore-load: " + option)) << option << "\n" << r;
    }
    const auto help = run_tool(dir, {"--help"}, 10s);
    EXPECT_EQ(help.status, 0) << help;
    EXPECT_TRUE(contains(help.out, "--scenario")) << help;
}

TEST(LoadTool, AnUnreachableTargetExitsOne)
{
    // A port that was free a moment ago: nothing listens there.
    std::uint16_t port = 0;
    {
        server srv(buffered());
        port = srv.port();
        srv.stop();
    }
    scratch dir;
    const auto r = run_tool(dir, {"--target", "http://127.0.0.1:" + std::to_string(port), "--scenario",
                                  "read", "--duration", "1", "--quiet"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_TRUE(contains(r.err, "cannot reach")) << r;
}
