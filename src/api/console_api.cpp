// The web console, served from the binary (docs/CONSOLE.md). The page runs under a strict
// Content-Security-Policy: its scripts and styles come only from this origin, nothing inline. The
// assets' names carry a hash of their content, so they are cached for a year; the page itself is
// revalidated on every load, so that a new build reaches browsers at once.
#include <reqstore/api/console_api.hpp>
#include <reqstore/core/preconditions.hpp>
#include <reqstore/http/problem.hpp>

#include <algorithm>
#include <string>
#include <string_view>

namespace reqstore::api
{
namespace net = boost::asio;

namespace
{

constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view media_type_of(std::string_view path)
{
    const auto ends_with = [path](std::string_view suffix)
    {
        return path.ends_with(suffix);
    };
    if (ends_with(".html"))
        return "text/html; charset=utf-8";
    // A module script must have a JavaScript type under nosniff.
    if (ends_with(".js"))
        return "text/javascript; charset=utf-8";
    if (ends_with(".css"))
        return "text/css; charset=utf-8";
    if (ends_with(".svg"))
        return "image/svg+xml";
    if (ends_with(".png"))
        return "image/png";
    if (ends_with(".woff2"))
        return "font/woff2";
    return "application/octet-stream";
}

void set_protective_headers(http::response& r)
{
    r.set("Content-Security-Policy", std::string(content_security_policy));
    r.set("X-Content-Type-Options", "nosniff");
    r.set("Referrer-Policy", "no-referrer");
    r.set("Cross-Origin-Opener-Policy", "same-origin");
}

// Does If-None-Match (a list of entity-tags, or *) match the entity-tag `opaque`? Weak comparison,
// as RFC 9110 section 13.1.2 asks for this field. A field that does not parse matches nothing.
bool none_match_holds(std::string_view field, const std::string& opaque)
{
    const auto list = core::parse_entity_tag_list(field);
    if (!list)
        return false;
    const core::entity_tag ours{opaque, false};
    return list->any ||
           std::any_of(list->tags.begin(), list->tags.end(),
                       [&ours](const core::entity_tag& tag) { return core::weak_match(tag, ours); });
}

http::response file_answer(const embedded_file& file, const http::request& req, bool immutable)
{
    http::response r;
    // 128 bits of the content's SHA-256 tell versions apart.
    const std::string opaque(file.sha256.substr(0, 32));
    r.set("ETag", "\"" + opaque + "\"");
    r.set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
    set_protective_headers(r);
    if (const auto field = req.header("if-none-match"); field && none_match_holds(*field, opaque))
    {
        r.status = 304;
        return r;
    }
    r.content_type = std::string(media_type_of(file.path));
    r.body = std::string(file.bytes);
    return r;
}

const embedded_file* find(std::span<const embedded_file> files, std::string_view path)
{
    const auto at = std::lower_bound(files.begin(), files.end(), path,
                                     [](const embedded_file& f, std::string_view p) { return f.path < p; });
    return at != files.end() && at->path == path ? &*at : nullptr;
}

http::response not_found(const http::request& req)
{
    return http::problem_response(core::errc::not_found, "the console has no such file", req.path());
}

// Coroutines of their own (not lambdas), so that nothing they use lives in a handler's captures.
net::awaitable<http::response> redirect_to_page()
{
    http::response r;
    r.status = 301;
    r.set("Location", "/console/");
    co_return r;
}

net::awaitable<http::response> serve(std::span<const embedded_file> files, std::string path, bool immutable,
                                     const http::request& req)
{
    const embedded_file* file = find(files, path);
    co_return file != nullptr ? file_answer(*file, req, immutable) : not_found(req);
}

} // namespace

void add_console_routes(http::router& routes, std::span<const embedded_file> files)
{
    using http::method;
    routes.add("/console", {{method::get, "",
                             [](http::handler_context&)
                             {
                                 return redirect_to_page();
                             }}});
    routes.add("/console/", {{method::get, "",
                              [files](http::handler_context& ctx)
                              {
                                  return serve(files, "index.html", false, ctx.req);
                              }}});
    // Vite writes every asset flat into assets/, so one segment names any of them.
    routes.add("/console/assets/{file}", {{method::get, "",
                                           [files](http::handler_context& ctx)
                                           {
                                               return serve(files, "assets/" + std::string(ctx.params[0]),
                                                            true, ctx.req);
                                           }}});
}

} // namespace reqstore::api
