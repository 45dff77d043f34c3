// A record service over the memory engine, with an io_context on two threads: the harness the unit tests of
// the record service build their fixtures on.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/record_service.hpp>
#include <reqstore/core/request_type.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/store/memory/memory_store.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace reqstore::test
{

// Every asynchronous wait of a harness ends by then: a bug fails the test instead of hanging it.
inline constexpr auto deadline = std::chrono::seconds(30);

// `f` as "<slug>: <detail>", followed by its extension members as JSON when it has any.
inline std::string describe(const core::failure& f)
{
    std::string out = std::string(http::describe_failure(f.code).slug) + ": " + f.detail;
    if (!f.extensions.empty())
        out += " " + boost::json::serialize(f.extensions);
    return out;
}

class service_harness
{
public:
    boost::asio::io_context ioc{2};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
    std::vector<std::thread> threads; // run `ioc` for at most twice the deadline
    std::unique_ptr<reqstore::store::memory_store> store;
    core::type_registry types;
    std::unique_ptr<core::record_service> service;

    // Serves the types in `declared` (each member `<name>: <definition>` as under `types` in the config);
    // throws std::runtime_error naming the problem when they do not parse.
    explicit service_harness(const boost::json::object& declared, core::service_options options = {})
    {
        std::vector<core::request_type> parsed;
        if (const auto error = core::parse_types(declared, parsed))
            throw std::runtime_error("the test types do not parse: " + *error);
        types = core::type_registry(std::move(parsed));

        store = std::make_unique<reqstore::store::memory_store>();
        service = std::make_unique<core::record_service>(ioc.get_executor(), *store, types, options);
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { ioc.run_for(2 * deadline); });
    }

    ~service_harness() { shut_down(); }

    service_harness(const service_harness&) = delete;
    service_harness& operator=(const service_harness&) = delete;

    // Lets the io_context run out of work, joins its threads and stops it; later calls do
    // nothing. A fixture with work of its own on the io_context (an expiry scheduler's loop) ends that work
    // and calls this in its destructor, before its members go.
    void shut_down()
    {
        if (shut_)
            return;
        shut_ = true;
        work.reset();
        for (auto& t : threads)
            t.join();
        ioc.stop();
    }

    // Runs `op` on the io_context and waits for it, at most `deadline`; throws std::runtime_error when it
    // takes longer.
    template <class T>
    T await(boost::asio::awaitable<T> op)
    {
        auto outcome = boost::asio::co_spawn(ioc, std::move(op), boost::asio::use_future);
        if (outcome.wait_for(deadline) != std::future_status::ready)
            throw std::runtime_error("a service call did not complete within the deadline");
        return outcome.get();
    }

    // A write of `body` as `media` by the actor "tester".
    static core::write_input input(std::string body, core::body_media media = core::body_media::json)
    {
        core::write_input in;
        in.body = std::move(body);
        in.media = media;
        in.actor = "tester";
        return in;
    }

    // A write that must succeed: its outcome; throws std::runtime_error describing the failure otherwise.
    static core::write_outcome must(core::result<core::write_outcome> r)
    {
        if (!r)
            throw std::runtime_error("the write failed: " + describe(r.error()));
        return std::move(*r);
    }

    // The current version of record `id` as stored; throws std::runtime_error when it cannot be loaded.
    core::stored_version current(const std::string& id)
    {
        auto loaded = await(store->load(id));
        if (!loaded || !*loaded)
            throw std::runtime_error("record " + id + " cannot be loaded");
        return std::move(**loaded);
    }

    // The body of the current version of record `id`.
    boost::json::object record(const std::string& id)
    {
        return boost::json::parse(current(id).body).as_object();
    }

private:
    bool shut_ = false;
};

// The failure of a write that must be refused; a test failure (and errc::internal) when it was accepted.
inline core::failure refused(const core::result<core::write_outcome>& r)
{
    if (r)
    {
        ADD_FAILURE() << "the write was accepted: version " << r->record.version << " " << r->record.body;
        return core::failure(core::errc::internal, "accepted");
    }
    return r.error();
}

} // namespace reqstore::test
