// Hostile clients: the total and per-address connection caps close excess connections at once while
// other clients are served, the refusals are counted and their log paced, and slow-header,
// slow-body and slow-read clients are cut within their deadline plus one second.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{

// A TCP connection to the server from a chosen loopback address, for what the harness client cannot
// do: choose where it connects from, shrink its receive window, or watch the server close.
class source_socket
{
public:
    // Connects from `source` (any port) to 127.0.0.1:port; `receive_buffer` > 0 sets SO_RCVBUF first,
    // which bounds the window the client advertises. Throws std::runtime_error on failure.
    source_socket(std::uint16_t port, const std::string& source, int receive_buffer = 0)
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        if (receive_buffer > 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        timeval timeout{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
            fail("bind to " + source);
        sockaddr_in remote{};
        remote.sin_family = AF_INET;
        remote.sin_port = htons(port);
        ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0)
            fail("connect");
    }
    ~source_socket()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    source_socket(source_socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    source_socket& operator=(source_socket&&) = delete;

    // Writes every byte; false when the server closed or reset the connection first.
    bool send(std::string_view bytes)
    {
        while (!bytes.empty())
        {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads what arrives until the server closes the connection (EOF or reset) or `within` passes.
    raw_read read_until_closed(millis within)
    {
        raw_read out;
        const auto give_up = steady::now() + within;
        char buffer[16384];
        for (;;)
        {
            const auto left = std::chrono::duration_cast<millis>(give_up - steady::now()).count();
            if (left <= 0)
                return out;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0)
                continue;
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0)
            {
                out.closed = true;
                return out;
            }
            out.data.append(buffer, static_cast<std::size_t>(n));
        }
    }

private:
    [[noreturn]] void fail(const std::string& what)
    {
        const std::string message = what + ": " + std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error(message);
    }

    int fd_ = -1;
};

// One GET on its own connection from `source`; nullopt when the server refused or closed it
// without a complete answer.
std::optional<response> get_from(std::uint16_t port, const std::string& source, std::string_view target)
{
    source_socket s(port, source);
    if (!s.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
        return std::nullopt;
    return parse_response(s.read_until_closed(5s).data);
}

// A counter or gauge from /metrics, read from 127.0.0.4 so that it counts against no cap the test
// fills from another address. Retries (bounded) while the server refuses the connection.
double metric(const server& srv, std::string_view name, std::string_view labels = {})
{
    const auto give_up = steady::now() + 5s;
    for (;;)
    {
        auto r = get_from(srv.port(), "127.0.0.4", "/metrics");
        if (r && r->status() == 200)
        {
            for (const auto& sample : parse_metrics(r->body()))
                if (sample.name == name && sample.labels == labels)
                    return sample.value;
            throw std::runtime_error("no sample " + std::string(name) + "{" + std::string(labels) + "}");
        }
        if (steady::now() > give_up)
            throw std::runtime_error("/metrics could not be read");
        std::this_thread::sleep_for(50ms);
    }
}

double refused(const server& srv, std::string_view reason)
{
    return metric(srv, "reqstore_connections_refused_total", "reason=\"" + std::string(reason) + "\"");
}

// The connection's answer is the refusal: a 503 problem that closes the connection.
testing::AssertionResult is_refusal(const raw_read& got, std::string_view detail_part)
{
    if (!got.closed)
        return testing::AssertionFailure() << "the connection stayed open";
    if (got.data.empty())
        return testing::AssertionSuccess(); // closed without an answer is a refusal too
    const auto r = parse_response(got.data);
    if (!r)
        return testing::AssertionFailure() << "not an HTTP answer: " << got.data;
    if (r->status() != 503 || r->header("Connection") != "close" ||
        r->header("Content-Type") != "application/problem+json")
        return testing::AssertionFailure() << *r;
    const auto body = r->object();
    if (text(body, "type") != "/problems/unavailable" || !contains(text(body, "detail"), detail_part))
        return testing::AssertionFailure() << *r;
    return testing::AssertionSuccess();
}

std::size_t count_of(std::string_view text, std::string_view part)
{
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + part.size()))
        ++n;
    return n;
}

// Waits until the server holds `n` client connections (the /metrics reader's own included).
bool wait_for_open_connections(const server& srv, double n, millis within)
{
    const auto give_up = steady::now() + within;
    while (steady::now() < give_up)
    {
        if (metric(srv, "reqstore_open_connections") == n)
            return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Caps

TEST(HostileClients, PerAddressCapClosesTheExcessAtOnceWhileAnotherAddressIsServed)
{
    server srv({.config = R"({"limits": {"max_connections_per_address": 3}})"});
    const double refused_before = refused(srv, "address_cap");
    std::vector<source_socket> held;
    for (int i = 0; i < 3; ++i)
        held.emplace_back(srv.port(), "127.0.0.2");

    const auto start = steady::now();
    source_socket excess(srv.port(), "127.0.0.2");
    const auto got = excess.read_until_closed(5s);
    EXPECT_LE(steady::now() - start, 1s) << "the excess connection was not closed at once";
    EXPECT_TRUE(is_refusal(got, "this address"));

    const auto other = get_from(srv.port(), "127.0.0.3", "/healthz");
    ASSERT_TRUE(other.has_value()) << "a client from another address was refused";
    EXPECT_EQ(other->status(), 200u) << *other;
    EXPECT_EQ(refused(srv, "address_cap") - refused_before, 1);
    EXPECT_EQ(refused(srv, "total_cap"), 0);

    // A connection that closes gives its place back.
    held.pop_back();
    // (The server notices the close when it reads the end of the stream: refusals until then.)
    const auto give_up = steady::now() + 5s;
    std::optional<response> again;
    for (;;)
    {
        again = get_from(srv.port(), "127.0.0.2", "/healthz");
        if ((again && again->status() != 503) || steady::now() > give_up)
            break;
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(again.has_value()) << "the address stayed refused after one of its connections closed";
    EXPECT_EQ(again->status(), 200u) << *again;
}

TEST(HostileClients, TotalCapClosesTheExcessFromAnyAddress)
{
    server srv({.config = R"({"limits": {"max_connections": 3, "max_connections_per_address": 0}})"});
    std::vector<source_socket> held;
    for (int i = 0; i < 3; ++i)
        held.emplace_back(srv.port(), "127.0.0.2");

    const auto start = steady::now();
    source_socket excess(srv.port(), "127.0.0.3");
    const auto got = excess.read_until_closed(5s);
    EXPECT_LE(steady::now() - start, 1s) << "the excess connection was not closed at once";
    EXPECT_TRUE(is_refusal(got, "as many connections open as it serves"));

    // One place freed: the counters can be read, and show the refusal under its cap.
    held.pop_back();
    EXPECT_GE(refused(srv, "total_cap"), 1);
    EXPECT_EQ(refused(srv, "address_cap"), 0);
    EXPECT_TRUE(srv.log_contains("connection refused: the connection cap is reached")) << srv.log();
}

TEST(HostileClients, AFloodFromOneAddressIsRefusedFastCountedAndLoggedSparingly)
{
    server srv({.config = R"({"limits": {"max_connections_per_address": 8}})"});
    const double refused_before = refused(srv, "address_cap");
    std::vector<source_socket> flood;
    for (int i = 0; i < 200; ++i)
        flood.emplace_back(srv.port(), "127.0.0.2");

    // Another address is served while the flood's connections are still being refused.
    const auto served_start = steady::now();
    const auto other = get_from(srv.port(), "127.0.0.3", "/healthz");
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->status(), 200u) << *other;
    EXPECT_LE(steady::now() - served_start, 1s);

    int closed = 0;
    for (std::size_t i = 8; i < flood.size(); ++i)
        closed += flood[i].read_until_closed(2s).closed ? 1 : 0;
    EXPECT_EQ(closed, 192) << "every connection over the cap is closed";
    for (std::size_t i = 0; i < 8; ++i)
    {
        EXPECT_TRUE(flood[i].send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        const auto r = parse_response(flood[i].read_until_closed(5s).data);
        ASSERT_TRUE(r.has_value()) << "connection " << i << " within the cap was not served";
        EXPECT_EQ(r->status(), 200u) << *r;
    }
    EXPECT_EQ(refused(srv, "address_cap") - refused_before, 192);

    // One line a second at most, each saying how many it stands for.
    ASSERT_TRUE(srv.log_contains("per-address connection cap is reached")) << srv.log();
    const auto log = srv.log();
    EXPECT_LE(count_of(log, "per-address connection cap is reached"), 6u) << log;
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST(HostileClients, SilentClientIsCutByTheHeaderDeadlineCountedFromTheAccept)
{
    server srv({.config = R"({"limits": {"header_timeout": 1}})"});
    source_socket silent(srv.port(), "127.0.0.2");
    const auto start = steady::now();
    const auto got = silent.read_until_closed(6s);
    const auto lived = steady::now() - start;
    EXPECT_TRUE(got.closed) << "a client that says nothing was not cut off (the idle timeout is 60 s)";
    EXPECT_LE(lived, 2s);
    EXPECT_GE(lived, 800ms) << "cut off before the header timeout";
}

TEST(HostileClients, SlowHeaderClientIsCutWithinTheHeaderDeadline)
{
    server srv({.config = R"({"limits": {"header_timeout": 1}})"});
    source_socket slow(srv.port(), "127.0.0.2");
    const auto start = steady::now();
    bool open = slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    // A header line every 200 ms: every read is quick, the header section never ends.
    raw_read got;
    for (int i = 0; open && !got.closed && steady::now() - start < 5s; ++i)
    {
        open = slow.send("X-Slow-" + std::to_string(i) + ": x\r\n");
        got = slow.read_until_closed(200ms);
    }
    const auto lived = steady::now() - start;
    EXPECT_TRUE(!open || got.closed) << "a header trickled line by line was not cut off";
    EXPECT_LE(lived, 2s);
    EXPECT_GE(lived, 800ms);
}

TEST(HostileClients, SlowBodyClientIsCutWithinTheBodyDeadline)
{
    server srv({.config = R"({"limits": {"body_timeout": 1}})"});
    source_socket slow(srv.port(), "127.0.0.2");
    bool open =
        slow.send("POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  "dev.dev-secret\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    const auto start = steady::now();
    raw_read got;
    while (open && !got.closed && steady::now() - start < 5s)
    {
        open = slow.send(" ");
        got = slow.read_until_closed(200ms);
    }
    const auto lived = steady::now() - start;
    EXPECT_TRUE(!open || got.closed) << "a body trickled byte by byte was not cut off";
    EXPECT_LE(lived, 2s);
    auto c = srv.connect();
    EXPECT_TRUE(list_all(c).empty()) << "the cut request created a record";
}

// A reader with a tiny window that never reads: the answers are more than the window but far less
// than what the kernel would buffer for a loopback connection unasked, so only a bound on unsent
// data lets the server's write wait on the reader, and the write timeout cut it.
TEST(HostileClients, SlowReaderIsCutByTheWriteTimeout)
{
    server srv({.config = R"({"limits": {"write_timeout": 1}})"});
    auto c = srv.connect();
    const auto record = create_record(c, {{"pad", std::string(200'000, 'p')}});
    const std::string path = path_of(text(record, "id"));
    c.close();

    source_socket reader(srv.port(), "127.0.0.2", 2048);
    std::string requests;
    for (int i = 0; i < 4; ++i)
        requests +=
            "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev.dev-secret\r\n\r\n";
    ASSERT_TRUE(reader.send(requests));
    const auto start = steady::now();

    // The /metrics reader's own connection is the one left once the slow reader is cut.
    EXPECT_TRUE(wait_for_open_connections(srv, 1, 5s)) << "the slow reader was not cut within 5 s";
    EXPECT_LE(steady::now() - start, 2s) << "cut later than the write timeout (1 s) + 1 s";
}
