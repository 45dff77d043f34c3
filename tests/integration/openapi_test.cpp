// The OpenAPI document (contract section 15, docs/API.md "OpenAPI"): GET /openapi.json serves
// docs/openapi.json byte for byte, and the document and the router agree both ways: every native
// route and method is a documented operation with the route's scope, and every documented operation
// is routed. The seed surfaces' routes are theirs, not the native API's, and the web console's page
// and files are no API operation: both are left out.
#include <reqstore/app/config.hpp>
#include <reqstore/app/server.hpp>
#include <reqstore/http/router.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "harness.hpp"

using namespace reqstore::test;
namespace app = reqstore::app;
namespace rhttp = reqstore::http;

namespace
{

std::string repository_document()
{
    return read_file(std::string(REQSTORE_SOURCE_DIR) + "/docs/openapi.json");
}

// "GET /v1/requests/{id}" → the scope it needs ("" for none beyond a key; "public" for none at all).
using operation_scopes = std::map<std::string, std::string>;

operation_scopes documented_operations()
{
    const auto doc = parse_json(repository_document()).as_object();
    operation_scopes out;
    for (const auto& [path, item] : doc.at("paths").as_object())
        for (const auto& [verb, operation] : item.as_object())
        {
            std::string method(verb);
            for (auto& ch : method)
                ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            const auto& security = operation.as_object().at("security").as_array();
            std::string scope = "public";
            if (!security.empty())
            {
                // Every scheme of the operation names the same scope, or none.
                std::set<std::string> named;
                for (const auto& requirement : security)
                    for (const auto& [scheme, scopes] : requirement.as_object())
                        named.insert(scopes.as_array().empty()
                                         ? std::string()
                                         : std::string(scopes.as_array()[0].as_string()));
                scope = named.size() == 1 ? *named.begin() : "<schemes disagree>";
            }
            out[method + " " + std::string(path)] = scope;
        }
    return out;
}

operation_scopes routed_operations()
{
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("reqstore-openapi-" + fresh_id());
    std::filesystem::create_directories(dir);
    const std::string data = (dir / "data").string();
    const char* argv[] = {"reqstore", "--listen", "127.0.0.1:0", "--data-dir", data.c_str()};
    auto loaded = app::load_config(static_cast<int>(std::size(argv)), argv);
    auto opened =
        app::server::open(std::get<app::config_outcome>(loaded).config, {.deliver_webhooks = false});
    if (!opened)
        throw std::runtime_error("the store does not open: " + opened.error().detail);
    const rhttp::router& routes = (*opened)->routes();
    operation_scopes out;
    for (const auto& route : routes.summary())
    {
        const auto* surface = routes.surface_for(route.pattern);
        if (surface && surface->name != "native")
            continue; // a seed surface's route
        if (route.pattern == "/console" || starts_with(route.pattern, "/console/"))
            continue; // the web console's page and files: not an API operation
        for (const auto& [method, scope] : route.methods)
            out[std::string(rhttp::method_name(method)) + " " + route.pattern] =
                surface ? std::string(scope) : std::string("public");
    }
    (void)(*opened)->halt();
    opened->reset();
    std::filesystem::remove_all(dir);
    return out;
}

} // namespace

TEST(OpenApi, TheServerServesTheRepositorysDocumentByteForByte)
{
    server srv;
    auto c = srv.connect();
    c.set_credentials(std::nullopt);
    const auto r = c.get("/openapi.json");
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_TRUE(r.body() == repository_document()) << "GET /openapi.json differs from docs/openapi.json";
    EXPECT_EQ(text(r.object(), "openapi"), "3.1.0");
}

TEST(OpenApi, EveryRouteIsADocumentedOperationWithItsScopeAndEveryOperationIsRouted)
{
    const auto documented = documented_operations();
    const auto routed = routed_operations();
    ASSERT_GT(routed.size(), 20u);
    for (const auto& [operation, scope] : routed)
    {
        const auto found = documented.find(operation);
        if (found == documented.end())
            ADD_FAILURE() << operation << " is routed but not in docs/openapi.json";
        else
            EXPECT_EQ(found->second, scope)
                << operation << ": the document's security and the route's scope differ";
    }
    for (const auto& [operation, scope] : documented)
        EXPECT_TRUE(routed.contains(operation)) << operation << " is documented but not routed";
}

TEST(OpenApi, EveryOperationHasAStableIdAndEveryReferenceResolves)
{
    const auto doc = parse_json(repository_document()).as_object();
    std::set<std::string> ids;
    for (const auto& [path, item] : doc.at("paths").as_object())
        for (const auto& [verb, operation] : item.as_object())
        {
            const std::string id(operation.as_object().at("operationId").as_string());
            EXPECT_TRUE(ids.insert(id).second) << "operationId " << id << " is used twice";
            EXPECT_TRUE(operation.as_object().contains("responses")) << id;
        }
    // Every "$ref" names a component that exists.
    std::vector<const json::value*> pending{&doc.at("paths"), &doc.at("webhooks"), &doc.at("components")};
    std::size_t references = 0;
    while (!pending.empty())
    {
        const json::value* v = pending.back();
        pending.pop_back();
        if (v->is_array())
            for (const auto& item : v->as_array())
                pending.push_back(&item);
        if (!v->is_object())
            continue;
        for (const auto& [key, member] : v->as_object())
        {
            if (key == "$ref")
            {
                ++references;
                std::string target(member.as_string());
                ASSERT_TRUE(starts_with(target, "#/components/")) << target;
                target = target.substr(std::string("#/components/").size());
                const auto slash = target.find('/');
                const auto* section = doc.at("components").as_object().if_contains(target.substr(0, slash));
                EXPECT_TRUE(section && section->as_object().contains(target.substr(slash + 1)))
                    << member.as_string() << " does not resolve";
            }
            else
                pending.push_back(&member);
        }
    }
    EXPECT_GT(references, 100u);
}
