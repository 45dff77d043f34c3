// The server built in-process by app::server, as the fuzz target of the HTTP server builds it (src/main.cpp
// builds the same one through app::serve): it answers over HTTP on the port it bound, and halts with its
// store closed, so that a second server on the same directory serves what the first one acknowledged.
#include <reqstore/app/config.hpp>
#include <reqstore/app/server.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "harness.hpp"

namespace
{

namespace app = reqstore::app;
namespace test = reqstore::test;

// A fresh directory under the system's temporary directory, removed with everything in it.
class scratch_directory
{
public:
    scratch_directory()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "reqstore-app-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = pattern;
    }
    ~scratch_directory()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_directory(const scratch_directory&) = delete;
    scratch_directory& operator=(const scratch_directory&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// The built-in defaults on a free loopback port, with the store in `data_dir`.
app::server_config local_config(const std::filesystem::path& data_dir)
{
    const std::string dir = data_dir.string();
    const char* argv[] = {"reqstore", "--listen", "127.0.0.1:0", "--data-dir", dir.c_str(), "--threads", "2"};
    auto loaded = app::load_config(static_cast<int>(std::size(argv)), argv);
    if (auto* error = std::get_if<app::config_error>(&loaded))
        throw std::runtime_error("the test configuration is refused: " + error->message);
    return std::get<app::config_outcome>(loaded).config;
}

// A server opened, bound, started and running on threads of its own; its port.
std::pair<std::unique_ptr<app::server>, std::uint16_t> running_server(const app::server_config& config)
{
    auto opened = app::server::open(config, app::server_options{.deliver_webhooks = false});
    if (!opened)
        throw std::runtime_error("the store does not open: " + opened.error().detail);
    std::unique_ptr<app::server> s = std::move(*opened);
    const auto endpoint = s->listen();
    if (!endpoint)
        throw std::runtime_error("the server does not bind: " + endpoint.error().detail);
    if (auto started = s->start(); !started)
        throw std::runtime_error("the server does not start: " + started.error().detail);
    s->run_in_background();
    return {std::move(s), endpoint->port()};
}

} // namespace

TEST(InProcessServer, AnswersOnTheBoundPortAndHaltsWithTheStoreClosed)
{
    scratch_directory dir;
    const app::server_config config = local_config(dir.path() / "data");
    std::string id;
    {
        auto [s, port] = running_server(config);
        test::client c(port);
        EXPECT_EQ(c.get("/healthz").status(), 200u);
        EXPECT_EQ(c.get("/readyz").status(), 200u);
        id = test::text(test::create_record(c), "id");
        const auto closed = s->halt();
        EXPECT_TRUE(closed) << closed.error().detail;
    }
    auto [s, port] = running_server(config);
    test::client c(port);
    EXPECT_EQ(test::text(test::get_record(c, id), "id"), id);
    const auto closed = s->halt();
    EXPECT_TRUE(closed) << closed.error().detail;
}

TEST(InProcessServer, RefusesASecondServerOnAnOpenStore)
{
    scratch_directory dir;
    const app::server_config config = local_config(dir.path() / "data");
    auto [first, port] = running_server(config);
    const auto second = app::server::open(config);
    EXPECT_FALSE(second) << "RocksDB's lock should keep a second server off an open store";
    const auto closed = first->halt();
    EXPECT_TRUE(closed) << closed.error().detail;
}
