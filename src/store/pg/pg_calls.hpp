// The shape of one call of the PostgreSQL engine's reads and outbox (pg_store.cpp, pg_outbox.cpp):
// its statements, run in one round trip on a reader connection, and the rows decoded.
#pragma once

#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pg_shared.hpp"

namespace reqstore::store::pg
{

inline statement sql(std::string text, std::vector<param> params = {})
{
    return statement{std::move(text), std::move(params)};
}

// Runs `statements` (one round trip, one transaction) on a reader connection and decodes the rows
// of every statement, in order, with `decode`. A decoding error is a mismatch between the SQL and
// its reader.
template <class T, class Decode>
boost::asio::awaitable<core::result<T>> run_all(std::shared_ptr<pg_store::shared> s,
                                                std::vector<statement> statements, std::string_view what,
                                                Decode decode)
{
    const auto deadline = clock::now() + s->options.read_timeout;
    {
        std::lock_guard lock(s->mutex);
        if (s->closed)
            co_return core::failure(core::errc::unavailable, "the store is closed");
    }
    auto leased = co_await s->readers.acquire(deadline);
    if (!leased)
        co_return failure_of(leased.error(), what);
    auto done = co_await (*leased)->execute(std::move(statements), deadline);
    if (!done)
        co_return failure_of(done.error(), what);
    try
    {
        co_return decode(*done);
    }
    catch (const std::exception& e)
    {
        co_return core::failure(core::errc::internal, std::string(what) + ": unexpected rows: " + e.what());
    }
}

// run_all, decoding the rows of the last statement only.
template <class T, class Decode>
boost::asio::awaitable<core::result<T>> run(std::shared_ptr<pg_store::shared> s,
                                            std::vector<statement> statements, std::string_view what,
                                            Decode decode)
{
    co_return co_await run_all<T>(std::move(s), std::move(statements), what,
                                  [&decode](const std::vector<rows>& all) { return decode(all.back()); });
}

// The decoding of a call whose rows nobody reads (a write, a delete).
inline core::result<void> no_rows(const rows&)
{
    return core::result<void>();
}

// Delivery `row` of `r`, its id in column `id_column` and its stored JSON in `json_column` (the
// column is the truth for the id: the JSON's may be 0). Throws on a JSON the codec cannot read.
core::delivery delivery_in(const rows& r, std::size_t row, std::size_t id_column, std::size_t json_column);

inline std::vector<statement> single(statement st)
{
    std::vector<statement> out;
    out.push_back(std::move(st));
    return out;
}

} // namespace reqstore::store::pg
