// Where the store/pg tests find their PostgreSQL: the throwaway instance of the ctest fixture `pg`
// (tests/pg/instance), or one named in the environment.
#pragma once

#include <reqstore/store/pg/connection.hpp>
#include <reqstore/store/pg/pg_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "store_test_support.hpp"

namespace reqstore::test
{

// The conninfo of the test PostgreSQL: REQSTORE_TEST_PG_CONNINFO when set, else the first line of
// the file REQSTORE_TEST_PG_CONNINFO_FILE names (ctest sets it). Throws when neither gives one: a
// test that needs PostgreSQL fails without it rather than passing unseen.
inline std::string pg_test_conninfo()
{
    if (const char* conninfo = std::getenv("REQSTORE_TEST_PG_CONNINFO");
        conninfo != nullptr && *conninfo != '\0')
        return conninfo;
    const char* file = std::getenv("REQSTORE_TEST_PG_CONNINFO_FILE");
    if (file == nullptr || *file == '\0')
        throw std::runtime_error(
            "no test PostgreSQL: run the tests with ctest (the fixture pg_instance_start starts one), or run "
            "`tests/pg/instance start DIR` and set REQSTORE_TEST_PG_CONNINFO_FILE=DIR/conninfo, or set "
            "REQSTORE_TEST_PG_CONNINFO");
    std::ifstream in(file);
    std::string conninfo;
    if (!in || !std::getline(in, conninfo) || conninfo.empty())
        throw std::runtime_error(std::string("no test PostgreSQL: cannot read a conninfo from ") + file +
                                 " (did the ctest fixture pg_instance_start run and pass?)");
    return conninfo;
}

// A pg_store on the test PostgreSQL, in a schema of its own (`prefix`, the process id and a counter)
// that is dropped on destruction. `executor` must belong to an io_context, which runs the opening.
class scratch_pg_store
{
public:
    scratch_pg_store(boost::asio::any_io_executor executor, core::commit_observer observer = {},
                     std::string_view prefix = "scratch")
    {
        static std::atomic<int> opened{0};
        schema_ = std::string(prefix) + "_" + std::to_string(::getpid()) + "_" + std::to_string(opened++);
        store::pg::pg_options options;
        options.conninfo = pg_test_conninfo();
        options.schema = schema_;
        options.readers = 2;
        options.follow_other_nodes = false; // the tests run their context until it has no work
        auto& context = static_cast<boost::asio::io_context&>(
            boost::asio::query(executor, boost::asio::execution::context));
        auto opened_store =
            run_with_deadline(context, store::pg::pg_store::open(options, executor, std::move(observer)));
        if (!opened_store)
            throw std::runtime_error("cannot open the PostgreSQL store: " + opened_store.error().detail);
        store_ = std::move(*opened_store);
    }

    ~scratch_pg_store()
    {
        store_.reset();
        drop_schema();
    }

    scratch_pg_store(const scratch_pg_store&) = delete;
    scratch_pg_store& operator=(const scratch_pg_store&) = delete;

    store::pg::pg_store& operator*() const { return *store_; }
    store::pg::pg_store* operator->() const { return store_.get(); }

private:
    void drop_schema() const
    {
        namespace pg = store::pg;
        boost::asio::io_context context;
        const auto deadline = pg::clock::now() + std::chrono::seconds(20);
        auto dropped =
            run_with_deadline(context,
                              [](std::string conninfo, std::string schema,
                                 pg::clock::time_point until) -> boost::asio::awaitable<bool>
                              {
                                  auto connected = co_await pg::connection::connect(
                                      co_await boost::asio::this_coro::executor, std::move(conninfo), until);
                                  if (!connected)
                                      co_return false;
                                  std::vector<pg::statement> drop;
                                  drop.push_back(pg::statement{"DROP SCHEMA \"" + schema + "\" CASCADE", {}});
                                  auto done = co_await (*connected)->execute(std::move(drop), until);
                                  co_return done.has_value();
                              }(pg_test_conninfo(), schema_, deadline));
        if (!dropped)
            ADD_FAILURE() << "could not drop schema " << schema_;
    }

    std::string schema_;
    std::unique_ptr<store::pg::pg_store> store_;
};

} // namespace reqstore::test
