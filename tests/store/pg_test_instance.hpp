// Where the store/pg tests find their PostgreSQL: the throwaway instance of the ctest fixture `pg`
// (tests/pg/instance), or one named in the environment.
#pragma once

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

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

} // namespace reqstore::test
