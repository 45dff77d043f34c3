// The integration-test harness: child process control, a deadline-bound HTTP/1.1 client, helpers.
#include "harness.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#ifndef REQSTORE_BINARY
#define REQSTORE_BINARY "reqstore"
#endif

namespace reqstore::test
{
namespace net = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;

namespace
{

int remaining_ms(steady::time_point deadline)
{
    auto left = std::chrono::ceil<millis>(deadline - steady::now()).count();
    return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1'000'000));
}

// Waits until fd is ready for `events` or the deadline passes. Returns false on timeout.
bool wait_ready(int fd, short events, steady::time_point deadline, error_code& ec)
{
    for (;;)
    {
        if (steady::now() >= deadline)
        {
            ec = net::error::timed_out;
            return false;
        }
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0)
        {
            if (errno == EINTR)
                continue;
            ec.assign(errno, boost::system::system_category());
            return false;
        }
        if (r > 0)
            return true;
    }
}

std::size_t recv_some(int fd, void* data, std::size_t size, steady::time_point deadline, error_code& ec)
{
    ec = {};
    for (;;)
    {
        if (!wait_ready(fd, POLLIN, deadline, ec))
            return 0;
        ssize_t n = ::recv(fd, data, size, 0);
        if (n > 0)
            return static_cast<std::size_t>(n);
        if (n == 0)
        {
            ec = net::error::eof;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) // SO_RCVTIMEO
        {
            ec = net::error::timed_out;
            return 0;
        }
        ec.assign(errno, boost::system::system_category());
        return 0;
    }
}

std::size_t send_some(int fd, const iovec* iov, int count, steady::time_point deadline, error_code& ec)
{
    ec = {};
    for (;;)
    {
        if (!wait_ready(fd, POLLOUT, deadline, ec))
            return 0;
        msghdr msg{};
        msg.msg_iov = const_cast<iovec*>(iov);
        msg.msg_iovlen = static_cast<std::size_t>(count);
        ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return static_cast<std::size_t>(n);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) // SO_SNDTIMEO
        {
            ec = net::error::timed_out;
            return 0;
        }
        ec.assign(errno, boost::system::system_category());
        return 0;
    }
}

// A SyncReadStream / SyncWriteStream over a connected socket, every call bounded by one deadline.
class deadline_stream
{
public:
    deadline_stream(int fd, steady::time_point deadline) : fd_(fd), deadline_(deadline) {}

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, error_code& ec)
    {
        for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it)
        {
            net::mutable_buffer b = *it;
            if (b.size() > 0)
                return recv_some(fd_, b.data(), b.size(), deadline_, ec);
        }
        ec = {};
        return 0;
    }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers)
    {
        error_code ec;
        auto n = read_some(buffers, ec);
        if (ec)
            throw boost::system::system_error(ec);
        return n;
    }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, error_code& ec)
    {
        std::array<iovec, 16> iov{};
        int count = 0;
        for (auto it = net::buffer_sequence_begin(buffers);
             it != net::buffer_sequence_end(buffers) && count < static_cast<int>(iov.size()); ++it)
        {
            net::const_buffer b = *it;
            if (b.size() == 0)
                continue;
            iov[static_cast<std::size_t>(count)].iov_base = const_cast<void*>(b.data());
            iov[static_cast<std::size_t>(count)].iov_len = b.size();
            ++count;
        }
        if (count == 0)
        {
            ec = {};
            return 0;
        }
        return send_some(fd_, iov.data(), count, deadline_, ec);
    }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers)
    {
        error_code ec;
        auto n = write_some(buffers, ec);
        if (ec)
            throw boost::system::system_error(ec);
        return n;
    }

private:
    int fd_;
    steady::time_point deadline_;
};

static_assert(boost::beast::is_sync_read_stream<deadline_stream>::value);
static_assert(boost::beast::is_sync_write_stream<deadline_stream>::value);

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) {
                                                  return std::tolower(static_cast<unsigned char>(x)) ==
                                                         std::tolower(static_cast<unsigned char>(y));
                                              });
}

std::string tail(const std::string& s, std::size_t n = 4000)
{
    return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

struct child
{
    pid_t pid;
    int stdout_fd;
};

// fork + execve of program(args[0]) with stdin from /dev/null, stdout into a pipe, stderr appended to
// log_path, and the test's environment with `env` set on top.
child spawn(const std::vector<std::string>& args, const fs::path& log_path,
            const std::vector<std::pair<std::string, std::string>>& env = {})
{
    // Built before fork: only async-signal-safe calls are allowed in the child.
    std::vector<std::string> env_strings;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    {
        std::string_view entry(*e);
        const auto name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const auto& kv : env)
            replaced = replaced || kv.first == name;
        if (!replaced)
            env_strings.emplace_back(entry);
    }
    for (const auto& kv : env)
        env_strings.push_back(kv.first + "=" + kv.second);
    std::vector<char*> envp;
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0)
        throw std::system_error(errno, std::generic_category(), "open log or /dev/null");

    const std::string path = program(args.at(0));
    std::vector<char*> argv{const_cast<char*>(path.c_str())};
    for (auto a = args.begin() + 1; a != args.end(); ++a)
        argv.push_back(const_cast<char*>(a->c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid == 0)
    {
        // Only async-signal-safe calls from here on.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::dup2(null_fd, 0);
        ::dup2(out[1], 1);
        ::dup2(log_fd, 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    int saved = errno;
    ::close(out[1]);
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0)
    {
        ::close(out[0]);
        throw std::system_error(saved, std::generic_category(), "fork");
    }
    return {pid, out[0]};
}

int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return -1000;
}

// Reaps pid within the deadline; nullopt when it is still running then.
std::optional<int> reap(pid_t pid, steady::time_point deadline)
{
    for (;;)
    {
        int st = 0;
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return decode_status(st);
        if (r < 0 && errno != EINTR)
            return -1000;
        if (steady::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
}

void kill_and_reap(pid_t pid)
{
    ::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR)
    {
    }
}

fs::path make_temp_root()
{
    std::string pattern = (fs::temp_directory_path() / "reqstore-it-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    return pattern;
}

const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

} // namespace

std::string read_file(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---------------------------------------------------------------------------------------------
// response

std::string response::header(std::string_view name) const
{
    auto it = message.find(boost::beast::string_view(name.data(), name.size()));
    return it == message.end() ? std::string() : std::string(it->value());
}

bool response::has_header(std::string_view name) const
{
    return message.find(boost::beast::string_view(name.data(), name.size())) != message.end();
}

std::vector<std::string> response::headers(std::string_view name) const
{
    std::vector<std::string> out;
    auto range = message.equal_range(boost::beast::string_view(name.data(), name.size()));
    for (auto it = range.first; it != range.second; ++it)
        out.emplace_back(it->value());
    return out;
}

json::value response::json() const
{
    return parse_json(body());
}

json::object response::object() const
{
    auto v = json();
    if (!v.is_object())
        throw std::runtime_error("answer body is not a JSON object: " + describe(*this));
    return v.as_object();
}

std::string describe(const response& r)
{
    std::ostringstream os;
    os << "HTTP " << r.status() << ' ' << r.message.reason() << '\n';
    for (const auto& f : r.message)
        os << f.name_string() << ": " << f.value() << '\n';
    os << '\n';
    const auto& b = r.body();
    os << (b.size() > 3000 ? b.substr(0, 3000) + "...(" + std::to_string(b.size()) + " bytes)" : b);
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const response& r)
{
    return os << "\n--- answer ---\n" << describe(r) << "\n--------------";
}

std::optional<response> parse_response(std::string_view bytes, bool head_request)
{
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(64u << 20);
    parser.header_limit(1u << 20);
    if (head_request)
        parser.skip(true);
    error_code ec;
    std::size_t used = 0;
    while (!parser.is_done())
    {
        if (used == bytes.size())
        {
            parser.put_eof(ec);
            if (ec)
                return std::nullopt;
            break;
        }
        std::size_t n = parser.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
        used += n;
        if (ec == http::error::need_more)
            ec = {};
        if (ec)
            return std::nullopt;
        if (n == 0)
            used = bytes.size(); // the parser needs more than there is: finish at EOF
    }
    return response{parser.release()};
}

// ---------------------------------------------------------------------------------------------
// client

client::client(std::uint16_t port, millis timeout)
    : port_(port), timeout_(timeout),
      credentials_(std::pair<std::string, std::string>{
          "Authorization", "Bearer " + std::string(dev_key_id) + "." + std::string(dev_key_secret)})
{
}

client::~client()
{
    close();
}

client::client(client&& other) noexcept
    : port_(other.port_), timeout_(other.timeout_), fd_(std::exchange(other.fd_, -1)),
      connections_opened_(other.connections_opened_), buffer_(std::move(other.buffer_)),
      credentials_(std::move(other.credentials_))
{
}

client& client::operator=(client&& other) noexcept
{
    if (this != &other)
    {
        close();
        port_ = other.port_;
        timeout_ = other.timeout_;
        fd_ = std::exchange(other.fd_, -1);
        connections_opened_ = other.connections_opened_;
        buffer_ = std::move(other.buffer_);
        credentials_ = std::move(other.credentials_);
    }
    return *this;
}

void client::set_credentials(std::optional<std::pair<std::string, std::string>> header)
{
    credentials_ = std::move(header);
}

void client::open()
{
    if (fd_ >= 0)
        return;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "socket");
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    {
        int e = errno;
        ::close(fd);
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port_) + ": " + std::strerror(e));
    }
    fd_ = fd;
    ++connections_opened_;
    buffer_.clear();
}

void client::close()
{
    if (fd_ >= 0)
    {
        ::close(fd_);
        fd_ = -1;
    }
    buffer_.clear();
}

response client::request(http::verb method, std::string_view target, std::string_view body,
                         const header_list& headers)
{
    http::request<http::string_body> req{method, std::string(target), 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    req.set(http::field::user_agent, "reqstore-integration-tests");
    bool has_type = false;
    bool has_credentials = false;
    for (const auto& [name, value] : headers)
    {
        req.insert(boost::beast::string_view(name.data(), name.size()), value);
        if (iequals(name, "Content-Type"))
            has_type = true;
        if (iequals(name, "Authorization") || iequals(name, "X-API-Key"))
            has_credentials = true;
    }
    if (!has_credentials && credentials_)
        req.set(credentials_->first, credentials_->second);
    if (!body.empty() && !has_type)
        req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
    req.prepare_payload();

    const std::string what = std::string(http::to_string(method)) + " " + std::string(target);
    open();
    deadline_stream stream(fd_, steady::now() + timeout_);
    error_code ec;
    http::write(stream, req, ec);
    if (ec)
    {
        close();
        throw std::runtime_error(what + ": sending failed: " + ec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.header_limit(1u << 20);
    if (method == http::verb::head)
        parser.skip(true);
    http::read(stream, buffer_, parser, ec);
    if (ec)
    {
        close();
        throw std::runtime_error(what + ": no answer: " + ec.message());
    }
    response r{parser.release()};
    if (!r.message.keep_alive())
        close();
    return r;
}

response client::get(std::string_view target, const header_list& headers)
{
    return request(http::verb::get, target, {}, headers);
}

response client::head(std::string_view target, const header_list& headers)
{
    return request(http::verb::head, target, {}, headers);
}

response client::del(std::string_view target, const header_list& headers)
{
    return request(http::verb::delete_, target, {}, headers);
}

response client::post(std::string_view target, std::string_view body, const header_list& headers)
{
    return request(http::verb::post, target, body, headers);
}

response client::put(std::string_view target, std::string_view body, const header_list& headers)
{
    return request(http::verb::put, target, body, headers);
}

response client::patch(std::string_view target, std::string_view body, const header_list& headers)
{
    return request(http::verb::patch, target, body, headers);
}

bool client::send_raw(std::string_view bytes)
{
    open();
    const auto deadline = steady::now() + timeout_;
    std::size_t sent = 0;
    while (sent < bytes.size())
    {
        iovec iov{const_cast<char*>(bytes.data() + sent), bytes.size() - sent};
        error_code ec;
        std::size_t n = send_some(fd_, &iov, 1, deadline, ec);
        if (ec == net::error::timed_out)
            throw std::runtime_error("send_raw: timed out after " + std::to_string(sent) + " bytes");
        if (ec)
            return false;
        sent += n;
    }
    return true;
}

response client::read_response(bool head_request)
{
    if (fd_ < 0)
        throw std::runtime_error("read_response: not connected");
    deadline_stream stream(fd_, steady::now() + timeout_);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.header_limit(1u << 20);
    if (head_request)
        parser.skip(true);
    error_code ec;
    http::read(stream, buffer_, parser, ec);
    if (ec)
    {
        close();
        throw std::runtime_error("read_response: " + ec.message());
    }
    return response{parser.release()};
}

raw_read client::drain(millis within)
{
    raw_read out;
    auto pending = buffer_.data();
    out.data.assign(static_cast<const char*>(pending.data()), pending.size());
    buffer_.consume(buffer_.size());
    if (fd_ < 0)
    {
        out.closed = true;
        return out;
    }
    const auto deadline = steady::now() + within;
    std::array<char, 65536> chunk{};
    for (;;)
    {
        error_code ec;
        std::size_t n = recv_some(fd_, chunk.data(), chunk.size(), deadline, ec);
        if (ec == net::error::timed_out)
            break;
        if (ec)
        {
            out.closed = true; // EOF or reset
            break;
        }
        out.data.append(chunk.data(), n);
    }
    if (out.closed)
        close();
    return out;
}

// ---------------------------------------------------------------------------------------------
// server

// The suite runs a second time on PostgreSQL (tests/CMakeLists.txt): with REQSTORE_IT_POSTGRES_FILE
// naming a file that holds a conninfo, every server stores its records there instead of in its data
// directory, in a schema named after that directory: servers a test starts on one data directory
// share their records, as they would on disk. A test whose configuration names store.engine keeps it.
std::optional<std::string> test_postgres_if_any()
{
    const char* file = std::getenv("REQSTORE_IT_POSTGRES_FILE");
    if (file == nullptr)
        return std::nullopt;
    std::ifstream in(file);
    std::string conninfo;
    std::getline(in, conninfo);
    if (conninfo.empty())
        throw std::runtime_error(
            std::string("REQSTORE_IT_POSTGRES_FILE names ") + file +
            ", which holds no conninfo: is the test PostgreSQL running (tests/pg/instance)?");
    return conninfo;
}

std::string shared_test_postgres()
{
    auto conninfo = test_postgres_if_any();
    if (!conninfo)
        throw std::runtime_error(
            "REQSTORE_IT_POSTGRES_FILE is not set: run this test through ctest (label postgres)");
    return std::move(*conninfo);
}

std::string with_engine_from_environment(const std::string& config, const fs::path& data_dir)
{
    const auto conninfo = test_postgres_if_any();
    if (!conninfo)
        return config;
    json::object patch = config.empty() ? json::object() : json::parse(config).as_object();
    if (const auto* store = patch.if_contains("store");
        store != nullptr && store->is_object() && store->as_object().contains("engine"))
        return config;
    char schema[32];
    std::snprintf(schema, sizeof schema, "it_%016zx", std::hash<std::string>{}(data_dir.string()));
    json::object postgres{{"conninfo", *conninfo}, {"schema", schema}};
    json::value& store = patch["store"];
    if (!store.is_object())
        store = json::object();
    store.as_object()["engine"] = "postgres";
    store.as_object()["postgres"] = std::move(postgres);
    return json::serialize(patch);
}

server::server(server_options options) : options_(std::move(options))
{
    root_ = make_temp_root();
    data_dir_ = root_ / "data";
    log_path_ = root_ / "server.log";
    config_path_ = root_ / "config.json";
    fs::create_directories(data_dir_);
    fs::path effective_data_dir = data_dir_;
    for (std::size_t i = 0; i + 1 < options_.extra_args.size(); ++i)
        if (options_.extra_args[i] == "--data-dir")
            effective_data_dir = options_.extra_args[i + 1];
    options_.config = with_engine_from_environment(options_.config, effective_data_dir);
    if (!options_.config.empty())
    {
        std::ofstream(config_path_) << options_.config;
    }
    start();
}

server::~server()
{
    if (pid_ > 0)
    {
        kill_and_reap(pid_);
        pid_ = -1;
    }
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
    expect_no_secret_in(root_);
    if (std::getenv("REQSTORE_IT_KEEP") == nullptr)
    {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    else
    {
        std::fprintf(stderr, "kept %s\n", root_.c_str());
    }
}

void server::start()
{
    if (pid_ > 0)
        throw std::logic_error("server::start: already running");
    if (stdout_fd_ >= 0)
    {
        ::close(stdout_fd_);
        stdout_fd_ = -1;
    }
    const std::string program = !options_.binary.empty()            ? options_.binary
                                : !options_.reqstore_binary.empty() ? options_.reqstore_binary
                                                                    : std::string(REQSTORE_BINARY);
    std::vector<std::string> args{program, "--listen", "127.0.0.1:0"};
    if (options_.binary.empty())
    {
        args.push_back("--data-dir");
        args.push_back(data_dir_.string());
        if (!options_.durability.empty())
        {
            args.push_back("--durability");
            args.push_back(options_.durability);
        }
        if (!options_.config.empty())
        {
            args.push_back("--config");
            args.push_back(config_path_.string());
        }
        if (options_.threads > 0)
        {
            args.push_back("--threads");
            args.push_back(std::to_string(options_.threads));
        }
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

    {
        std::ofstream(log_path_, std::ios::app) << "=== harness: starting " << args[0] << " ===\n";
    }
    auto c = spawn(args, log_path_, options_.env);
    pid_ = c.pid;
    stdout_fd_ = c.stdout_fd;

    const auto deadline = steady::now() + 20s;
    std::string line;
    for (;;)
    {
        error_code ec;
        if (!wait_ready(stdout_fd_, POLLIN, deadline, ec))
        {
            kill_and_reap(pid_);
            pid_ = -1;
            throw std::runtime_error("reqstore printed no listening line within 20 s (got \"" + line +
                                     "\"); stderr:\n" + tail(log()));
        }
        char ch = 0;
        ssize_t n = ::read(stdout_fd_, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
        {
            auto st = reap(pid_, steady::now() + 5s);
            if (!st)
                kill_and_reap(pid_);
            pid_ = -1;
            throw std::runtime_error("reqstore exited (status " + (st ? std::to_string(*st) : "?") +
                                     ") before printing its listening line; stdout \"" + line +
                                     "\"; stderr:\n" + tail(log()));
        }
        if (ch == '\n')
            break;
        line += ch;
        if (line.size() > 4096)
        {
            kill_and_reap(pid_);
            pid_ = -1;
            throw std::runtime_error("reqstore's first stdout line is too long");
        }
    }
    static const std::regex listening{R"(^listening on 127\.0\.0\.1:([0-9]{1,5})$)"};
    std::smatch m;
    if (!std::regex_match(line, m, listening) || std::stoi(m[1].str()) <= 0 || std::stoi(m[1].str()) > 65535)
    {
        kill_and_reap(pid_);
        pid_ = -1;
        throw std::runtime_error("reqstore's first stdout line is not `listening on 127.0.0.1:PORT`: \"" +
                                 line + "\"");
    }
    listening_line_ = line;
    port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
}

std::string server::next_stdout_line(millis within)
{
    const auto deadline = steady::now() + within;
    std::string line;
    for (;;)
    {
        error_code ec;
        if (!wait_ready(stdout_fd_, POLLIN, deadline, ec))
            throw std::runtime_error("reqstore wrote no further stdout line (got \"" + line + "\")");
        char ch = 0;
        const ssize_t n = ::read(stdout_fd_, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error("reqstore closed stdout before another line (got \"" + line + "\")");
        if (ch == '\n')
            return line;
        line += ch;
    }
}

int server::stop(millis deadline)
{
    return stop_with(SIGTERM, deadline);
}

int server::stop_with(int signal, millis deadline)
{
    send_signal(signal);
    return wait_exit(deadline);
}

void server::send_signal(int signal)
{
    if (pid_ <= 0)
        throw std::logic_error("server::send_signal: not running");
    ::kill(pid_, signal);
}

int server::wait_exit(millis deadline)
{
    if (pid_ <= 0)
        throw std::logic_error("server::wait_exit: not running");
    auto st = reap(pid_, steady::now() + deadline);
    if (!st)
    {
        kill_and_reap(pid_);
        pid_ = -1;
        throw std::runtime_error("reqstore did not exit within " + std::to_string(deadline.count()) +
                                 " ms (killed); stderr:\n" + tail(log()));
    }
    pid_ = -1;
    if (stdout_fd_ >= 0)
    {
        ::close(stdout_fd_);
        stdout_fd_ = -1;
    }
    return *st;
}

void server::kill_hard()
{
    if (pid_ <= 0)
        throw std::logic_error("server::kill_hard: not running");
    kill_and_reap(pid_);
    pid_ = -1;
    if (stdout_fd_ >= 0)
    {
        ::close(stdout_fd_);
        stdout_fd_ = -1;
    }
}

std::string server::log() const
{
    return read_file(log_path_);
}

bool server::log_contains(std::string_view text, millis within) const
{
    const auto deadline = steady::now() + within;
    for (;;)
    {
        if (contains(log(), text))
            return true;
        if (steady::now() >= deadline)
            return false;
        std::this_thread::sleep_for(20ms);
    }
}

void expect_no_secret_in(const std::filesystem::path& dir)
{
#ifdef REQSTORE_SECRET_SCAN_BINARY
    if (!fs::exists(dir))
        return;
    const auto scan =
        run_program_to_exit(REQSTORE_SECRET_SCAN_BINARY, {REQSTORE_SECRETS_FILE, dir.string()}, 60s);
    if (scan.status != 0)
        ADD_FAILURE() << "a secret the suite uses was found in the data directory or a log of " << dir
                      << ":\n"
                      << scan.out << scan.err;
#else
    (void)dir;
#endif
}

std::string program(const std::string& built)
{
    const char* folder = std::getenv("REQSTORE_IT_PROGRAMS");
    const fs::path path(built);
    if (folder == nullptr || *folder == '\0' || path.parent_path() != fs::path(REQSTORE_BINARY).parent_path())
        return built;
    const fs::path replacement = fs::path(folder) / path.filename();
    if (!fs::exists(replacement))
        throw std::runtime_error("REQSTORE_IT_PROGRAMS names " + std::string(folder) + ", which has no " +
                                 path.filename().string());
    return replacement.string();
}

exit_result run_to_exit(const std::vector<std::string>& args, millis deadline)
{
    return run_program_to_exit(REQSTORE_BINARY, args, deadline);
}

exit_result run_program_to_exit(const std::string& program, const std::vector<std::string>& args,
                                millis deadline)
{
    auto root = make_temp_root();
    auto log_path = root / "stderr.log";
    std::vector<std::string> full{program};
    full.insert(full.end(), args.begin(), args.end());
    auto c = spawn(full, log_path);
    const auto until = steady::now() + deadline;
    exit_result result;
    error_code ec;
    for (;;)
    {
        if (!wait_ready(c.stdout_fd, POLLIN, until, ec))
            break;
        char buf[4096];
        ssize_t n = ::read(c.stdout_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        result.out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(c.stdout_fd);
    auto st = reap(c.pid, until);
    result.err = read_file(log_path);
    std::error_code rm;
    fs::remove_all(root, rm);
    if (!st)
    {
        kill_and_reap(c.pid);
        throw std::runtime_error("reqstore did not exit within " + std::to_string(deadline.count()) +
                                 " ms (killed); stdout: " + result.out + "; stderr:\n" + tail(result.err));
    }
    result.status = *st;
    return result;
}

// ---------------------------------------------------------------------------------------------
// JSON and records

json::value parse_json(std::string_view text)
{
    error_code ec;
    json::parse_options opts;
    opts.max_depth = 10000;
    auto v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
    if (ec)
        throw std::runtime_error("not JSON (" + ec.message() + "): " + std::string(text.substr(0, 2000)));
    return v;
}

std::string to_json(const json::value& v)
{
    return json::serialize(v);
}

std::string text(const json::object& o, std::string_view key)
{
    auto it = o.find(json::string_view(key.data(), key.size()));
    if (it == o.end())
        throw std::runtime_error("no member \"" + std::string(key) + "\" in " + json::serialize(o));
    if (!it->value().is_string())
        throw std::runtime_error("member \"" + std::string(key) + "\" is not a string in " +
                                 json::serialize(o));
    return std::string(it->value().as_string());
}

std::int64_t number(const json::object& o, std::string_view key)
{
    auto it = o.find(json::string_view(key.data(), key.size()));
    if (it == o.end())
        throw std::runtime_error("no member \"" + std::string(key) + "\" in " + json::serialize(o));
    const auto& v = it->value();
    if (v.is_int64())
        return v.as_int64();
    if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.as_uint64());
    if (v.is_double() && v.as_double() == static_cast<double>(static_cast<std::int64_t>(v.as_double())))
        return static_cast<std::int64_t>(v.as_double());
    throw std::runtime_error("member \"" + std::string(key) + "\" is not an integer in " +
                             json::serialize(o));
}

std::vector<std::string> keys_of(const json::object& o)
{
    std::vector<std::string> out;
    for (const auto& kv : o)
        out.emplace_back(kv.key());
    return out;
}

std::string etag_of(std::int64_t version)
{
    return "\"" + std::to_string(version) + "\"";
}

std::string path_of(std::string_view id)
{
    return "/v1/requests/" + std::string(id);
}

std::string fresh_id()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<millis>(std::chrono::system_clock::now().time_since_epoch()).count());
    std::string id = "req_";
    for (int i = 9; i >= 0; --i)
        id += crockford[(ms >> (5 * i)) & 31];
    for (int i = 0; i < 10; ++i)
        id += crockford[rng() & 31];
    return id;
}

json::object create_record(client& c, json::object body)
{
    if (!body.contains("type"))
        body["type"] = "request";
    auto r = c.post("/v1/requests", json::serialize(body));
    if (r.status() != 201)
        throw std::runtime_error("create failed: POST /v1/requests " + json::serialize(body) + "\n" +
                                 describe(r));
    return r.object();
}

json::object get_record(client& c, std::string_view id)
{
    auto r = c.get(path_of(id));
    if (r.status() != 200)
        throw std::runtime_error("GET " + path_of(id) + " failed:\n" + describe(r));
    return r.object();
}

namespace
{
std::vector<json::object> follow_pages(client& c, const std::string& base, const std::string& query)
{
    std::vector<json::object> out;
    std::string cursor;
    for (int page = 0; page < 10000; ++page)
    {
        std::string target = base;
        std::string q = query;
        if (!cursor.empty())
        {
            const std::string escaped = url_encode(cursor); // cursors are opaque
            q += (q.empty() ? "" : "&") + std::string("cursor=") + escaped;
        }
        if (!q.empty())
            target += "?" + q;
        auto r = c.get(target);
        if (r.status() != 200)
            throw std::runtime_error("GET " + target + " failed:\n" + describe(r));
        auto o = r.object();
        if (!o.contains("data") || !o.at("data").is_array())
            throw std::runtime_error("GET " + target + ": no data array:\n" + describe(r));
        for (const auto& e : o.at("data").as_array())
        {
            if (!e.is_object())
                throw std::runtime_error("GET " + target + ": a data entry is not an object");
            out.push_back(e.as_object());
        }
        if (!o.contains("next_cursor"))
            throw std::runtime_error("GET " + target + ": no next_cursor member:\n" + describe(r));
        const auto& next = o.at("next_cursor");
        if (next.is_null())
            return out;
        if (!next.is_string())
            throw std::runtime_error("GET " + target + ": next_cursor is neither null nor a string");
        cursor = std::string(next.as_string());
    }
    throw std::runtime_error("listing " + base + " did not end after 10000 pages");
}
} // namespace

std::vector<json::object> history_of(client& c, std::string_view id)
{
    return follow_pages(c, path_of(id) + "/versions", "");
}

std::vector<json::object> list_all(client& c, std::string_view query)
{
    return follow_pages(c, "/v1/requests", std::string(query));
}

std::string slug_of(const response& r)
{
    try
    {
        auto v = parse_json(r.body());
        if (!v.is_object() || !v.as_object().contains("type") || !v.as_object().at("type").is_string())
            return {};
        std::string type(v.as_object().at("type").as_string());
        return starts_with(type, "/problems/") ? type.substr(10) : type;
    }
    catch (const std::exception&)
    {
        return {};
    }
}

testing::AssertionResult is_problem(const response& r, unsigned status, std::string_view slug,
                                    std::string_view instance)
{
    if (r.status() != status)
        return testing::AssertionFailure() << "expected status " << status << " (" << slug << ")" << r;
    if (!starts_with(r.header("Content-Type"), "application/problem+json"))
        return testing::AssertionFailure() << "Content-Type is not application/problem+json" << r;
    json::object o;
    try
    {
        o = r.object();
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
    const std::string type = "/problems/" + std::string(slug);
    if (!o.contains("type") || o.at("type") != json::value(type))
        return testing::AssertionFailure() << "expected type " << type << r;
    if (!o.contains("title") || !o.at("title").is_string() || o.at("title").as_string().empty())
        return testing::AssertionFailure() << "no title" << r;
    if (!o.contains("status") || !o.at("status").is_number() || o.at("status").to_number<double>() != status)
        return testing::AssertionFailure() << "member status is not " << status << r;
    if (!o.contains("detail") || !o.at("detail").is_string())
        return testing::AssertionFailure() << "no detail string" << r;
    if (!o.contains("instance") || !o.at("instance").is_string())
        return testing::AssertionFailure() << "no instance string" << r;
    if (!instance.empty() &&
        o.at("instance") != json::value(json::string_view(instance.data(), instance.size())))
        return testing::AssertionFailure() << "expected instance " << instance << r;
    return testing::AssertionSuccess();
}

testing::AssertionResult unchanged(client& c, const json::object& before)
{
    try
    {
        const std::string id = text(before, "id");
        auto now = get_record(c, id);
        if (now != before)
            return testing::AssertionFailure() << "record changed:\nbefore " << json::serialize(before)
                                               << "\nnow    " << json::serialize(now);
        auto h = history_of(c, id);
        if (static_cast<std::int64_t>(h.size()) != number(before, "version"))
            return testing::AssertionFailure()
                   << "history has " << h.size() << " entries, expected " << number(before, "version");
        return testing::AssertionSuccess();
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure() << e.what();
    }
}

// ---------------------------------------------------------------------------------------------
// Time and text

bool is_timestamp(std::string_view s)
{
    static const std::regex re{R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)"};
    return std::regex_match(s.begin(), s.end(), re) && parse_timestamp(s).has_value();
}

std::optional<sys_time> parse_timestamp(std::string_view s)
{
    static const std::regex re{R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$)"};
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(s.begin(), s.end(), m, re))
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = std::stoi(m[1].str()) - 1900;
    tm.tm_mon = std::stoi(m[2].str()) - 1;
    tm.tm_mday = std::stoi(m[3].str());
    tm.tm_hour = std::stoi(m[4].str());
    tm.tm_min = std::stoi(m[5].str());
    tm.tm_sec = std::stoi(m[6].str());
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return std::nullopt;
    time_t secs = ::timegm(&tm);
    long long ms = 0;
    if (m[7].matched)
    {
        std::string frac = m[7].str();
        frac.resize(3, '0');
        ms = std::stoll(frac.substr(0, 3));
    }
    return std::chrono::system_clock::from_time_t(secs) + millis(ms);
}

std::string format_timestamp(sys_time t)
{
    auto ms = std::chrono::duration_cast<millis>(t.time_since_epoch()).count();
    time_t secs = static_cast<time_t>(ms / 1000);
    if (ms % 1000 < 0)
        --secs;
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(((ms % 1000) + 1000) % 1000));
    return buf;
}

std::optional<sys_time> parse_http_date(std::string_view s)
{
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const std::regex re{
        R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$)"};
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(s.begin(), s.end(), m, re))
        return std::nullopt;
    std::tm tm{};
    tm.tm_mday = std::stoi(m[2].str());
    for (int i = 0; i < 12; ++i)
        if (m[3].str() == months[i])
            tm.tm_mon = i;
    tm.tm_year = std::stoi(m[4].str()) - 1900;
    tm.tm_hour = std::stoi(m[5].str());
    tm.tm_min = std::stoi(m[6].str());
    tm.tm_sec = std::stoi(m[7].str());
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string format_http_date(sys_time t)
{
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t secs = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string base64(std::string_view data)
{
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3)
    {
        unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                     (static_cast<unsigned char>(data[i + 1]) << 8) | static_cast<unsigned char>(data[i + 2]);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i + 1 == data.size())
    {
        unsigned v = static_cast<unsigned char>(data[i]) << 16;
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += "==";
    }
    else if (i + 2 == data.size())
    {
        unsigned v =
            (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string url_encode(std::string_view s)
{
    std::string out;
    for (unsigned char ch : s)
    {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            out += static_cast<char>(ch);
        else
        {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view s, std::string_view part)
{
    return s.find(part) != std::string_view::npos;
}

bool contains(const std::vector<std::string>& v, std::string_view item)
{
    return std::find(v.begin(), v.end(), item) != v.end();
}

std::vector<metric_sample> parse_metrics(std::string_view text)
{
    std::vector<metric_sample> out;
    std::size_t pos = 0;
    while (pos < text.size())
    {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line[0] == '#')
            continue;
        metric_sample s;
        std::size_t brace = line.find('{');
        std::size_t space = line.find(' ');
        std::string_view rest;
        if (brace != std::string_view::npos && (space == std::string_view::npos || brace < space))
        {
            std::size_t close = line.rfind('}');
            if (close == std::string_view::npos || close < brace)
                continue;
            s.name = std::string(line.substr(0, brace));
            s.labels = std::string(line.substr(brace + 1, close - brace - 1));
            rest = line.substr(close + 1);
        }
        else
        {
            if (space == std::string_view::npos)
                continue;
            s.name = std::string(line.substr(0, space));
            rest = line.substr(space);
        }
        while (!rest.empty() && rest.front() == ' ')
            rest.remove_prefix(1);
        std::string value(rest.substr(0, rest.find(' ')));
        try
        {
            if (value == "+Inf")
                s.value = INFINITY;
            else if (value == "-Inf")
                s.value = -INFINITY;
            else
                s.value = std::stod(value);
        }
        catch (const std::exception&)
        {
            continue;
        }
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace reqstore::test
