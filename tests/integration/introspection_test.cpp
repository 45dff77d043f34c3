// Introspection (contract section 15, docs/API.md "Introspection"): GET /v1/whoami names the calling
// key without its secret; GET /v1/types describes every configured type, and what it describes is what
// the server judges: every listed transition is taken and an unlisted one refused, and a value outside
// an attribute's schema is refused while one inside it is kept.
#include "harness.hpp"

using namespace reqstore::test;

namespace
{

// A type with every kind of rule, beside a key with a rate limit and a subject.
const std::string ticket_config = R"({
  "require_if_match": true,
  "types": {
    "docspring_data_request": null,
    "ticket": {
      "id_format": "numeric",
      "states": ["open", "working", "closed"],
      "initial": "open",
      "transitions": {"open": ["working"], "working": ["open", "closed"]},
      "final": ["closed"],
      "require_if_match": false,
      "attributes": {
        "title": {"type": "string", "required": true, "max_length": 20},
        "priority": {"type": "integer", "min": 1, "max": 5, "default": 3},
        "kind": {"type": "enum", "enum": ["bug", "idea"]},
        "reporter": {"type": "email", "read_only": true},
        "due": {"type": "datetime", "mutable_in": ["open"]}
      }
    }
  },
  "auth": {"keys": [
    {"id": "dev", "secret_sha256": "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
     "scopes": ["admin"]},
    {"id": "limited", "secret_sha256": "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
     "scopes": ["requests:write"], "rate_limit": {"per_second": 50, "burst": 100}, "subject": "subject-9"}
  ]}
})";

json::object type_named(const json::array& types, std::string_view name)
{
    for (const auto& t : types)
        if (t.as_object().at("name").as_string() == name)
            return t.as_object();
    throw std::runtime_error("no type " + std::string(name) + " in " + to_json(types));
}

} // namespace

TEST(Introspection, WhoamiNamesTheCallingKeyWithoutItsSecret)
{
    server srv({.config = ticket_config});
    auto c = srv.connect();
    auto me = c.get("/v1/whoami");
    ASSERT_EQ(me.status(), 200u) << me;
    EXPECT_EQ(to_json(me.json()), R"({"id":"dev","scopes":["admin"],"rate_limit":null,"subject":null})");
    EXPECT_EQ(me.header("Cache-Control"), "no-store");

    c.set_credentials(std::pair<std::string, std::string>{"Authorization", "Bearer limited.dev-secret"});
    auto limited = c.get("/v1/whoami");
    ASSERT_EQ(limited.status(), 200u) << limited;
    EXPECT_EQ(to_json(limited.json()),
              R"({"id":"limited","scopes":["requests:write"],)"
              R"("rate_limit":{"per_second":5E1,"burst":1E2},"subject":"subject-9"})");
    EXPECT_FALSE(contains(limited.body(), "298754db")) << "no secret hash";

    c.set_credentials(std::nullopt);
    EXPECT_TRUE(is_problem(c.get("/v1/whoami"), 401, "unauthorized"));
}

TEST(Introspection, TypesDescribeEveryConfiguredTypeWithItsRulesAndSchemas)
{
    server srv({.config = ticket_config});
    auto c = srv.connect();
    auto r = c.get("/v1/types");
    ASSERT_EQ(r.status(), 200u) << r;
    const auto document = r.object();
    const auto& types = document.at("data").as_array();
    std::vector<std::string> names;
    for (const auto& t : types)
        names.emplace_back(t.as_object().at("name").as_string());
    EXPECT_FALSE(contains(names, "docspring_data_request")) << "a type removed from the config is not listed";
    EXPECT_TRUE(contains(names, "request") && contains(names, "box_file_request") && contains(names, "dsr"));

    const auto ticket = type_named(types, "ticket");
    EXPECT_EQ(to_json(ticket.at("id_format")),
              R"({"kind":"numeric","prefix":null,"pattern":"^[1-9][0-9]{0,18}$"})");
    EXPECT_EQ(to_json(ticket.at("states")), R"(["open","working","closed"])");
    EXPECT_EQ(text(ticket, "initial"), "open");
    EXPECT_EQ(to_json(ticket.at("transitions")), R"({"open":["working"],"working":["open","closed"]})");
    EXPECT_EQ(to_json(ticket.at("final")), R"(["closed"])");
    EXPECT_EQ(ticket.at("require_if_match"), json::value(false)) << "the type's own setting";
    EXPECT_EQ(type_named(types, "request").at("require_if_match"), json::value(true)) << "the global setting";
    const auto& attributes = ticket.at("attributes").as_object();
    EXPECT_EQ(
        to_json(attributes.at("title")),
        R"({"schema":{"type":"string","maxLength":20},"required":true,"read_only":false,"mutable_in":null})");
    EXPECT_EQ(to_json(attributes.at("priority").at("schema")),
              R"({"type":"integer","minimum":1E0,"maximum":5E0,"default":3})");
    EXPECT_EQ(to_json(attributes.at("kind").at("schema")), R"({"enum":["bug","idea"]})");
    EXPECT_EQ(
        to_json(attributes.at("reporter")),
        R"({"schema":{"type":"string","format":"email","readOnly":true},"required":false,"read_only":true,"mutable_in":null})");
    EXPECT_EQ(to_json(attributes.at("due").at("mutable_in")), R"(["open"])");
    EXPECT_TRUE(type_named(types, "dsr").contains("dsr_types"));

    c.set_credentials(std::pair<std::string, std::string>{"Authorization", "Bearer limited.dev-secret"});
    EXPECT_TRUE(is_problem(c.get("/v1/types"), 403, "forbidden")) << "needs requests:read";
}

TEST(Introspection, WhatTypesDescribesIsWhatTheServerJudges)
{
    server srv({.config = ticket_config});
    auto c = srv.connect();
    const auto ticket = type_named(c.get("/v1/types").object().at("data").as_array(), "ticket");
    const auto& transitions = ticket.at("transitions").as_object();
    const auto& states = ticket.at("states").as_array();

    // Every move between two states: taken when listed, refused 409 when not.
    int id = 100;
    for (const auto& from : states)
        for (const auto& to : states)
        {
            if (from == to ||
                ticket.at("final").as_array().end() != std::find(ticket.at("final").as_array().begin(),
                                                                 ticket.at("final").as_array().end(), from))
                continue;
            const std::string path = path_of(std::to_string(++id));
            // Reach `from` by the listed moves (open → working → open).
            ASSERT_EQ(c.put(path, R"({"type":"ticket","title":"t"})", {{"If-None-Match", "*"}}).status(),
                      201u);
            if (from.as_string() == "working")
            {
                ASSERT_EQ(c.patch(path, R"({"status":"working"})",
                                  {{"Content-Type", "application/merge-patch+json"}})
                              .status(),
                          200u);
            }
            const auto* listed = transitions.if_contains(from.as_string());
            const bool allowed = listed && std::find(listed->as_array().begin(), listed->as_array().end(),
                                                     to) != listed->as_array().end();
            const auto moved = c.patch(path, R"({"status":)" + to_json(to) + "}",
                                       {{"Content-Type", "application/merge-patch+json"}});
            if (allowed)
                EXPECT_EQ(moved.status(), 200u) << from << " -> " << to << ": listed\n" << moved;
            else
                EXPECT_TRUE(is_problem(moved, 409, "invalid-transition"))
                    << from << " -> " << to << ": not listed";
        }

    // Values at and past each schema's bounds.
    const auto write = [&](std::string_view members)
    {
        return c.put(path_of(std::to_string(++id)), R"({"type":"ticket",)" + std::string(members) + "}",
                     {{"If-None-Match", "*"}});
    };
    EXPECT_EQ(write(R"("title":"12345678901234567890")").status(), 201u) << "maxLength 20 is allowed";
    EXPECT_TRUE(is_problem(write(R"("title":"123456789012345678901")"), 400, "validation-failed"));
    EXPECT_EQ(number(write(R"("title":"t")").object(), "priority"), 3) << "the default";
    EXPECT_TRUE(is_problem(write(R"("title":"t","priority":6)"), 400, "validation-failed"));
    EXPECT_TRUE(is_problem(write(R"("title":"t","kind":"chore")"), 400, "validation-failed"));
    EXPECT_TRUE(is_problem(write(R"("title":"t","reporter":"not an address")"), 400, "validation-failed"));
    EXPECT_TRUE(is_problem(write(R"("priority":2)"), 400, "validation-failed")) << "title is required";
}
