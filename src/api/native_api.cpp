// Handlers of /v1/requests: decode the HTTP request, call the core, encode the answer.
#include <reqstore/api/idempotency.hpp>
#include <reqstore/api/native_api.hpp>
#include <reqstore/auth/keys.hpp>
#include <reqstore/http/header_text.hpp>
#include <reqstore/http/problem.hpp>
#include <reqstore/http/validators.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/params_encoded_view.hpp>

#include <array>
#include <charconv>
#include <optional>
#include <utility>

#include "request_parsing.hpp"

namespace reqstore::api
{
namespace net = boost::asio;
namespace json = boost::json;
using core::errc;
using core::failure;
using http::handler_context;
using http::response;

namespace
{

constexpr std::string_view accept_patch =
    "application/merge-patch+json, application/json-patch+json, application/json";

core::body_media json_media(const http::request& req)
{
    return http::media_type(req) == "application/json" ? core::body_media::json
                                                       : core::body_media::unsupported;
}

core::body_media patch_media(const http::request& req)
{
    const std::string type = http::media_type(req);
    if (type == "application/merge-patch+json" || type == "application/json")
        return core::body_media::merge_patch;
    if (type == "application/json-patch+json")
        return core::body_media::json_patch;
    return core::body_media::unsupported;
}

bool prefers_minimal(const http::request& req)
{
    const auto prefer = req.header_list("prefer");
    if (!prefer)
        return false;
    const std::string value = http::lowercase(*prefer);
    std::string_view rest = value;
    while (!rest.empty())
    {
        const auto comma = rest.find(',');
        const std::string_view token = rest.substr(0, comma);
        if (http::trim(token.substr(0, token.find(';'))) == "return=minimal")
            return true;
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 1);
    }
    return false;
}

core::conditional_headers conditions_of(const http::request& req)
{
    core::conditional_headers h;
    h.if_match = req.header_list("if-match");
    h.if_none_match = req.header_list("if-none-match");
    if (const auto v = req.header("if-unmodified-since"))
        h.if_unmodified_since = std::string(*v);
    if (const auto v = req.header("if-modified-since"))
        h.if_modified_since = std::string(*v);
    return h;
}

std::string record_path(std::string_view id)
{
    return "/v1/requests/" + std::string(id);
}

response failure_answer(const failure& f, const http::request& req)
{
    // The client sees a generic sentence for server-side failures; the detail goes to the log.
    http::log_server_failure(f, req);
    response r = http::problem_response(f, req.path());
    http::set_current_etag(r, f);
    if (f.code == errc::unsupported_media_type && req.verb() == http::method::patch)
        r.set("Accept-Patch", std::string(accept_patch));
    return r;
}

response record_answer(unsigned status, const core::stored_version& v)
{
    response r = json_answer(status, v.body);
    http::set_validators(r, v.version, v.updated_at);
    return r;
}

class native_api
{
public:
    native_api(core::record_service& service, idempotency_keys& idempotency)
        : service_(service), idempotency_(idempotency)
    {
    }

    net::awaitable<response> create(handler_context& ctx)
    {
        if (json_media(ctx.req) != core::body_media::json)
            co_return failure_answer({errc::unsupported_media_type, "POST takes application/json"}, ctx.req);
        co_return co_await write(ctx, write_kind::create, {}, core::body_media::json);
    }

    net::awaitable<response> read(handler_context& ctx)
    {
        const auto& req = ctx.req;
        const std::string_view id = ctx.params[0];
        if (!service_.id_is_valid(id))
            co_return invalid_id(id, req);
        auto found = co_await service_.read(id, conditions_of(req));
        if (!found)
            co_return failure_answer(found.error(), req);
        if (found->not_modified)
            co_return http::not_modified(found->record.version, found->record.updated_at);
        co_return record_answer(200, found->record);
    }

    net::awaitable<response> list(handler_context& ctx)
    {
        const auto& req = ctx.req;
        auto params = query_parameters(req, {"type", "status", "updated_since", "limit", "cursor"});
        if (!params)
            co_return failure_answer(params.error(), req);
        core::list_filter filter;
        std::size_t limit = 100;
        std::string cursor;
        for (const auto& [key, value] : *params)
        {
            if (key == "type")
                filter.type = value;
            else if (key == "status")
                filter.status = value;
            else if (key == "updated_since")
            {
                filter.updated_since = core::parse_rfc3339(value);
                if (!filter.updated_since)
                    co_return failure_answer(
                        {errc::bad_request, "updated_since must be an RFC 3339 date-time"}, req);
            }
            else if (key == "limit")
            {
                auto n = integer_parameter("limit", value, 1, 1000);
                if (!n)
                    co_return failure_answer(n.error(), req);
                limit = *n;
            }
            else if (key == "cursor")
            {
                if (!service_.id_is_valid(value))
                    co_return failure_answer({errc::bad_request, "cursor is not one this server gave out"},
                                             req);
                cursor = value;
            }
        }
        auto page = co_await service_.list(filter, cursor, limit);
        if (!page)
            co_return failure_answer(page.error(), req);
        std::string body = "{\"data\":[";
        for (std::size_t i = 0; i < page->records.size(); ++i)
        {
            if (i)
                body.push_back(',');
            body += page->records[i].body; // stored JSON text, spliced without re-serializing
        }
        body += "],\"next_cursor\":";
        body += page->last_examined_id ? json::serialize(json::string(*page->last_examined_id)) : "null";
        body += "}";
        co_return json_answer(200, std::move(body));
    }

    net::awaitable<response> put(handler_context& ctx)
    {
        co_return co_await write_to(ctx, write_kind::put, json_media(ctx.req));
    }

    net::awaitable<response> patch(handler_context& ctx)
    {
        co_return co_await write_to(ctx, write_kind::patch, patch_media(ctx.req));
    }

    net::awaitable<response> remove(handler_context& ctx)
    {
        co_return co_await write_to(ctx, write_kind::remove, core::body_media::none);
    }

    net::awaitable<response> versions(handler_context& ctx)
    {
        const auto& req = ctx.req;
        const std::string_view id = ctx.params[0];
        if (!service_.id_is_valid(id))
            co_return invalid_id(id, req);
        auto params = query_parameters(req, {"limit", "cursor"});
        if (!params)
            co_return failure_answer(params.error(), req);
        std::size_t limit = 100;
        std::uint64_t below = 0;
        for (const auto& [key, value] : *params)
        {
            auto n = key == "limit" ? integer_parameter("limit", value, 1, 1000)
                                    : integer_parameter("cursor", value, 1, UINT64_MAX);
            if (!n)
                co_return failure_answer(n.error(), req);
            (key == "limit" ? limit : below) = *n;
        }
        auto history = co_await service_.history(id, below, limit);
        if (!history)
            co_return failure_answer(history.error(), req);
        json::array data;
        for (const auto& v : *history)
        {
            json::array changed;
            for (const auto& name : v.changed)
                changed.emplace_back(name);
            json::object entry{
                {"version", v.version},       {"etag", core::etag_for_version(v.version)},
                {"status", v.status},         {"updated_at", core::format_rfc3339(v.updated_at)},
                {"updated_by", v.updated_by}, {"changed", std::move(changed)}};
            if (v.deleted)
                entry["deleted"] = true;
            data.push_back(std::move(entry));
        }
        const bool more = history->size() == limit && history->back().version > 1;
        const json::object body{{"data", std::move(data)},
                                {"next_cursor", more ? json::value(std::to_string(history->back().version))
                                                     : json::value(nullptr)}};
        co_return json_answer(200, json::serialize(body));
    }

    net::awaitable<response> version(handler_context& ctx)
    {
        const auto& req = ctx.req;
        const std::string_view id = ctx.params[0];
        if (!service_.id_is_valid(id))
            co_return invalid_id(id, req);
        auto n = integer_parameter("the version in the path", ctx.params[1], 1, UINT64_MAX);
        if (!n)
            co_return failure_answer(n.error(), req);
        auto found = co_await service_.read_version(id, *n);
        if (!found)
            co_return failure_answer(found.error(), req);
        co_return record_answer(200, *found);
    }

private:
    enum class write_kind
    {
        create,
        put,
        patch,
        remove
    };

    // A write to the record named in the path.
    net::awaitable<response> write_to(handler_context& ctx, write_kind kind, core::body_media media)
    {
        std::string id(ctx.params[0]);
        if (!service_.id_is_valid(id))
            co_return invalid_id(id, ctx.req);
        co_return co_await write(ctx, kind, std::move(id), media);
    }

    // Every write: the Idempotency-Key lookup (before any precondition), the core call, the answer.
    net::awaitable<response> write(handler_context& ctx, write_kind kind, std::string id,
                                   core::body_media media)
    {
        const http::request& req = ctx.req;
        const bool minimal = prefers_minimal(req);
        // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
        std::function<response(const core::kept_answer&)> replay = [&req](const core::kept_answer& kept)
        {
            const auto form = answer_form_from(kept.answer_form);
            if (!form)
                return failure_answer({errc::internal, "a kept answer has an unknown form"}, req);
            return answer_for(form->first, kept.outcome, form->second);
        };
        auto decision = co_await idempotency_.begin(req, ctx.key ? ctx.key->id : std::string_view(),
                                                    answer_form_of(kind, minimal), replay);
        if (auto* answer = std::get_if<response>(&decision))
            co_return std::move(*answer);
        core::write_input input = write_input_of(ctx, media);
        std::optional<idempotency_keys::claim> held;
        std::optional<core::idempotency_hook> hook;
        if (auto* ahead = std::get_if<idempotency_keys::go_ahead>(&decision))
        {
            hook = ahead->hook;
            input.idempotency = std::move(ahead->hook);
            held.emplace(std::move(ahead->held));
        }
        core::result<core::write_outcome> written;
        switch (kind)
        {
        case write_kind::create:
            written = co_await service_.create(std::move(input));
            break;
        case write_kind::put:
            written = co_await service_.put(std::move(id), std::move(input));
            break;
        case write_kind::patch:
            written = co_await service_.patch(std::move(id), std::move(input));
            break;
        case write_kind::remove:
            written = co_await service_.remove(std::move(id), std::move(input));
            break;
        }
        if (!written && written.error().code == errc::idempotency_in_flight && hook)
            co_return co_await idempotency_.answer_of_duplicate(*hook, req, replay);
        if (!written)
            co_return failure_answer(written.error(), req);
        co_return answer_for(kind, *written, minimal);
    }

    // How a write is answered, in the words kept with an Idempotency-Key: its kind, and " minimal"
    // when the client asked for return=minimal.
    static constexpr std::array<std::string_view, 4> kind_names{"create", "put", "patch", "remove"};
    static std::string answer_form_of(write_kind kind, bool minimal)
    {
        return std::string(kind_names[static_cast<std::size_t>(kind)]) + (minimal ? " minimal" : "");
    }
    static std::optional<std::pair<write_kind, bool>> answer_form_from(std::string_view form)
    {
        const bool minimal = form.ends_with(" minimal");
        if (minimal)
            form.remove_suffix(std::string_view(" minimal").size());
        for (std::size_t i = 0; i < kind_names.size(); ++i)
            if (kind_names[i] == form)
                return std::pair{static_cast<write_kind>(i), minimal};
        return std::nullopt;
    }

    // The answer to a write that succeeded, and to a repeat of it with its Idempotency-Key.
    static response answer_for(write_kind kind, const core::write_outcome& written, bool minimal)
    {
        switch (kind)
        {
        case write_kind::create:
            return created_answer(written.record, written.id);
        case write_kind::put:
            return written.created ? created_answer(written.record, written.id)
                                   : update_answer(written, written.id, minimal);
        case write_kind::patch:
            return update_answer(written, written.id, minimal);
        case write_kind::remove:
            break;
        }
        response r;
        r.status = 204;
        r.set("ETag", core::etag_for_version(written.record.version));
        return r;
    }

    static core::write_input write_input_of(handler_context& ctx, core::body_media media)
    {
        core::write_input input;
        input.conditions = conditions_of(ctx.req);
        input.body = ctx.req.body();
        input.media = media;
        input.actor = ctx.key ? ctx.key->id : std::string();
        return input;
    }

    static response invalid_id(std::string_view id, const http::request& req)
    {
        return failure_answer(
            {errc::invalid_id, "\"" + std::string(id) + "\" is not an id of any request type"}, req);
    }

    static response created_answer(const core::stored_version& v, std::string_view id)
    {
        response r = record_answer(201, v);
        r.set("Location", record_path(id));
        return r;
    }

    static response update_answer(const core::write_outcome& written, std::string_view id, bool minimal)
    {
        if (minimal)
        {
            response r;
            r.status = 204;
            r.set("ETag", core::etag_for_version(written.record.version));
            r.set("Preference-Applied", "return=minimal");
            return r;
        }
        response r = record_answer(200, written.record);
        r.set("Content-Location", record_path(id));
        return r;
    }

    core::record_service& service_;
    idempotency_keys& idempotency_;
};

} // namespace

http::surface native_surface()
{
    http::surface s;
    s.name = "native";
    s.authenticate = [](const http::request& req, const auth::key_registry& keys)
    {
        return keys.authenticate({req.header("authorization"), req.header("x-api-key")},
                                 req.verified_credentials());
    };
    s.render_failure = [](const failure& f, const http::request& req)
    {
        return failure_answer(f, req);
    };
    s.www_authenticate = std::string(auth::www_authenticate);
    return s;
}

void add_native_routes(http::router& routes, core::record_service& service, idempotency_keys& idempotency)
{
    auto api = std::make_shared<native_api>(service, idempotency);
    using http::method;
    routes.add("/v1/requests",
               {{method::get, auth::scope_read, http::handler_of(api, &native_api::list)},
                {method::post, auth::scope_write, http::handler_of(api, &native_api::create)}});
    routes.add("/v1/requests/{id}",
               {{method::get, auth::scope_read, http::handler_of(api, &native_api::read)},
                {method::put, auth::scope_write, http::handler_of(api, &native_api::put)},
                {method::patch, auth::scope_write, http::handler_of(api, &native_api::patch)},
                {method::delete_, auth::scope_write, http::handler_of(api, &native_api::remove)}});
    routes.add("/v1/requests/{id}/versions",
               {{method::get, auth::scope_read, http::handler_of(api, &native_api::versions)}});
    routes.add("/v1/requests/{id}/versions/{n}",
               {{method::get, auth::scope_read, http::handler_of(api, &native_api::version)}});
}

} // namespace reqstore::api
