// Unit tests for request types (request_type.hpp): parse_types with every key of a type, the exact message
// (naming the key) for each misconfiguration, and the state questions a type answers (docs/CONFIG.md,
// "Request types").
#include <reqstore/core/patch.hpp>
#include <reqstore/core/request_type.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace
{

namespace json = boost::json;
using reqstore::core::apply_merge_patch;
using reqstore::core::id_format;
using reqstore::core::parse_types;
using reqstore::core::request_type;
using reqstore::core::type_registry;
using reqstore::core::value_kind;

// A valid type "t" that each test changes with a merge patch.
constexpr std::string_view base_type = R"({
    "id_prefix": "t_",
    "states": ["open", "active", "done"],
    "initial": "open",
    "transitions": {"open": ["active"], "active": ["open", "done"]},
    "final": ["done"],
    "attributes": {
        "title": {"type": "string"},
        "ends_at": {"type": "datetime"}
    }
})";

json::object types_with(std::string_view patch)
{
    return json::object{{"t", apply_merge_patch(json::parse(base_type), json::parse(patch))}};
}

// parse_types' message for type "t" (the base type with `patch` merged over it), or "accepted".
std::string error_of(std::string_view patch)
{
    std::vector<request_type> out;
    const auto error = parse_types(types_with(patch), out);
    return error ? *error : "accepted";
}

// The parsed type "t"; fails the test when it does not parse.
request_type parsed(std::string_view patch)
{
    std::vector<request_type> out;
    if (const auto error = parse_types(types_with(patch), out))
        throw std::runtime_error("type does not parse: " + *error);
    return out.at(0);
}

// --- every key -------------------------------------------------------------------------------------------

TEST(ParseTypes, ReadsEveryKeyOfAType)
{
    const json::object types = json::parse(R"({"ticket": {
        "id_format": "prefixed",
        "id_prefix": "tkt_",
        "states": ["draft", "open", "closed", "expired"],
        "initial": "draft",
        "transitions": {"draft": ["open"], "open": ["closed", "expired"], "expired": ["open"]},
        "final": ["closed"],
        "additional_attributes": true,
        "require_if_match": true,
        "attributes": {
            "title": {"type": "string", "required": true, "max_length": 80},
            "kind": {"type": "enum", "enum": ["bug", "task"], "default": "task"},
            "size": {"type": "integer", "min": 1, "max": 13, "default": 3},
            "owner": {"type": "email", "mutable_in": ["draft"]},
            "account": {"type": "uuid", "read_only": true},
            "opened_at": {"type": "datetime", "read_only": true},
            "ends_at": {"type": "datetime"}
        },
        "requires": {"open": ["owner", "metadata", "callback_url"]},
        "updatable_in": ["draft", "open"],
        "timestamps": {"open": "opened_at"},
        "expires": {"attribute": "ends_at", "state": "expired"}
    }})")
                                   .as_object();
    std::vector<request_type> out;
    ASSERT_EQ(parse_types(types, out), std::nullopt);
    ASSERT_EQ(out.size(), 1u);
    const request_type& t = out[0];
    EXPECT_EQ(t.name, "ticket");
    EXPECT_EQ(t.format, id_format::prefixed);
    EXPECT_EQ(t.id_prefix, "tkt_");
    EXPECT_EQ(t.states, (std::vector<std::string>{"draft", "open", "closed", "expired"}));
    EXPECT_EQ(t.initial, "draft");
    EXPECT_EQ(t.allowed_from("open"), (std::vector<std::string>{"closed", "expired"}));
    EXPECT_EQ(t.final_states, (std::set<std::string, std::less<>>{"closed"}));
    EXPECT_TRUE(t.additional_attributes);
    EXPECT_EQ(t.require_if_match, std::optional<bool>(true));
    ASSERT_EQ(t.attributes.size(), 7u);
    std::vector<std::string> names;
    for (const auto& a : t.attributes)
        names.push_back(a.name);
    EXPECT_EQ(names, (std::vector<std::string>{"title", "kind", "size", "owner", "account", "opened_at",
                                               "ends_at"}));

    const auto* title = t.attribute("title");
    ASSERT_NE(title, nullptr);
    EXPECT_EQ(title->kind, value_kind::string);
    EXPECT_TRUE(title->required);
    EXPECT_EQ(title->max_length, std::optional<std::size_t>(80));
    EXPECT_FALSE(title->read_only);

    const auto* kind = t.attribute("kind");
    ASSERT_NE(kind, nullptr);
    EXPECT_EQ(kind->kind, value_kind::enum_);
    EXPECT_EQ(kind->enum_values, (std::vector<std::string>{"bug", "task"}));
    EXPECT_EQ(kind->default_value, std::optional<json::value>("task"));

    const auto* size = t.attribute("size");
    ASSERT_NE(size, nullptr);
    EXPECT_EQ(size->kind, value_kind::integer);
    EXPECT_EQ(size->min, std::optional<double>(1));
    EXPECT_EQ(size->max, std::optional<double>(13));
    EXPECT_EQ(size->default_value, std::optional<json::value>(3));

    const auto* owner = t.attribute("owner");
    ASSERT_NE(owner, nullptr);
    EXPECT_EQ(owner->kind, value_kind::email);
    EXPECT_EQ(owner->mutable_in, std::optional<std::vector<std::string>>({"draft"}));

    EXPECT_EQ(t.attribute("account")->kind, value_kind::uuid);
    EXPECT_TRUE(t.attribute("account")->read_only);
    EXPECT_EQ(t.attribute("account")->mutable_in, std::nullopt);

    EXPECT_EQ(t.requirements.at("open"), (std::vector<std::string>{"owner", "metadata", "callback_url"}));
    EXPECT_EQ(t.updatable_in, std::optional<std::vector<std::string>>({"draft", "open"}));
    EXPECT_EQ(t.timestamps.at("open"), "opened_at");
    ASSERT_TRUE(t.expires.has_value());
    EXPECT_EQ(t.expires->attribute, "ends_at");
    EXPECT_EQ(t.expires->state, "expired");
}

TEST(ParseTypes, DefaultsOfAMinimalType)
{
    const request_type t = parsed(R"({"transitions": null, "final": null, "attributes": null})");
    EXPECT_EQ(t.format, id_format::prefixed);
    EXPECT_FALSE(t.additional_attributes);
    EXPECT_EQ(t.require_if_match, std::nullopt);
    EXPECT_TRUE(t.attributes.empty());
    EXPECT_TRUE(t.transitions.empty());
    EXPECT_TRUE(t.final_states.empty());
    EXPECT_TRUE(t.requirements.empty());
    EXPECT_EQ(t.updatable_in, std::nullopt);
    EXPECT_TRUE(t.timestamps.empty());
    EXPECT_EQ(t.expires, std::nullopt);
}

TEST(ParseTypes, ReadsEveryIdFormatAndAttributeKind)
{
    EXPECT_EQ(parsed(R"({"id_format": "uuid", "id_prefix": null})").format, id_format::uuid);
    EXPECT_EQ(parsed(R"({"id_format": "numeric", "id_prefix": null})").format, id_format::numeric);
    const request_type t = parsed(R"({"attributes": {
        "s": {"type": "string"}, "i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
        "o": {"type": "object"}, "a": {"type": "array"}, "d": {"type": "datetime"}, "e": {"type": "email"},
        "u": {"type": "url"}, "x": {"type": "uuid"}, "m": {"type": "enum", "enum": ["v"]}}})");
    const std::vector<std::pair<std::string, value_kind>> expected = {
        {"s", value_kind::string},   {"i", value_kind::integer}, {"n", value_kind::number},
        {"b", value_kind::boolean},  {"o", value_kind::object},  {"a", value_kind::array},
        {"d", value_kind::datetime}, {"e", value_kind::email},   {"u", value_kind::url},
        {"x", value_kind::uuid},     {"m", value_kind::enum_}};
    for (const auto& [name, kind] : expected)
    {
        const auto* a = t.attribute(name);
        ASSERT_NE(a, nullptr) << name;
        EXPECT_EQ(a->kind, kind) << name;
    }
}

TEST(ParseTypes, ReadsSeveralTypesInOrder)
{
    const json::object types = json::parse(R"({
        "a": {"id_format": "numeric", "states": ["s"], "initial": "s"},
        "b": {"id_format": "uuid", "states": ["s"], "initial": "s"}
    })")
                                   .as_object();
    std::vector<request_type> out;
    ASSERT_EQ(parse_types(types, out), std::nullopt);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].name, "a");
    EXPECT_EQ(out[1].name, "b");
}

TEST(ParseTypes, NamesTheTypeThatIsWrong)
{
    const json::object types = json::parse(R"({
        "good": {"id_format": "numeric", "states": ["s"], "initial": "s"},
        "bad": {"id_format": "numeric", "states": ["s"], "initial": "x"}
    })")
                                   .as_object();
    std::vector<request_type> out;
    EXPECT_EQ(parse_types(types, out),
              std::optional<std::string>("types.bad.initial: \"x\" is not a declared state"));
}

TEST(ParseTypes, TypeMustBeAnObject)
{
    std::vector<request_type> out;
    EXPECT_EQ(parse_types(json::object{{"t", 5}}, out),
              std::optional<std::string>("types.t: must be an object"));
}

// --- misconfigurations: the type's own keys --------------------------------------------------------------

TEST(ParseTypesErrors, UnknownKeyInAType)
{
    EXPECT_EQ(error_of(R"({"colour": "red"})"), "types.t.colour: unknown key");
}

TEST(ParseTypesErrors, BadIdFormat)
{
    EXPECT_EQ(error_of(R"({"id_format": "ulid"})"),
              R"(types.t.id_format: must be "prefixed", "uuid" or "numeric")");
    EXPECT_EQ(error_of(R"({"id_format": 1})"),
              R"(types.t.id_format: must be "prefixed", "uuid" or "numeric")");
}

TEST(ParseTypesErrors, PrefixedWithoutPrefix)
{
    EXPECT_EQ(error_of(R"({"id_prefix": null})"),
              "types.t.id_prefix: a prefixed id format needs a non-empty prefix");
    EXPECT_EQ(error_of(R"({"id_prefix": ""})"),
              "types.t.id_prefix: a prefixed id format needs a non-empty prefix");
    EXPECT_EQ(error_of(R"({"id_format": "prefixed", "id_prefix": null})"),
              "types.t.id_prefix: a prefixed id format needs a non-empty prefix");
    EXPECT_EQ(error_of(R"({"id_prefix": 7})"), "types.t.id_prefix: must be a string");
}

TEST(ParseTypesErrors, StatesMissingEmptyOrDuplicated)
{
    EXPECT_EQ(error_of(R"({"states": null})"), "types.t.states: missing");
    EXPECT_EQ(error_of(R"({"states": []})"), "types.t.states: must name at least one state");
    EXPECT_EQ(error_of(R"({"states": ["open", "active", "open"]})"),
              R"(types.t.states[2]: "open" is declared twice)");
    EXPECT_EQ(error_of(R"({"states": "open"})"), "types.t.states: must be a list of state names");
    EXPECT_EQ(error_of(R"({"states": ["open", 2]})"), "types.t.states[1]: must be a string");
}

TEST(ParseTypesErrors, InitialMissingOrUndeclared)
{
    EXPECT_EQ(error_of(R"({"initial": "limbo"})"), R"(types.t.initial: "limbo" is not a declared state)");
    EXPECT_EQ(error_of(R"({"initial": null})"), "types.t.initial: must be a state name");
}

TEST(ParseTypesErrors, TransitionFromAnUndeclaredState)
{
    EXPECT_EQ(error_of(R"({"transitions": {"limbo": ["open"]}})"),
              R"(types.t.transitions.limbo: "limbo" is not a declared state)");
}

TEST(ParseTypesErrors, TransitionToAnUndeclaredState)
{
    EXPECT_EQ(error_of(R"({"transitions": {"open": ["active", "nowhere"]}})"),
              R"(types.t.transitions.open[1]: "nowhere" is not a declared state)");
}

TEST(ParseTypesErrors, FinalStateUndeclared)
{
    EXPECT_EQ(error_of(R"({"final": ["done", "gone"]})"),
              R"(types.t.final[1]: "gone" is not a declared state)");
}

TEST(ParseTypesErrors, FlagsMustBeBooleans)
{
    EXPECT_EQ(error_of(R"({"additional_attributes": "yes"})"),
              "types.t.additional_attributes: must be true or false");
    EXPECT_EQ(error_of(R"({"require_if_match": 1})"), "types.t.require_if_match: must be true or false");
}

// --- misconfigurations: attributes -----------------------------------------------------------------------

TEST(ParseTypesErrors, UnknownKeyInAnAttribute)
{
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"size": 3}}})"),
              "types.t.attributes.title.size: unknown key");
}

TEST(ParseTypesErrors, AttributeTypeUnknownOrMissing)
{
    EXPECT_EQ(
        error_of(R"({"attributes": {"title": {"type": "text"}}})"),
        "types.t.attributes.title.type: must be one of string, integer, number, boolean, object, array, "
        "datetime, email, url, uuid, enum");
    EXPECT_EQ(error_of(R"({"attributes": {"n": {"required": true}}})"), "types.t.attributes.n.type: missing");
}

TEST(ParseTypesErrors, EnumOnANonString)
{
    EXPECT_EQ(error_of(R"({"attributes": {"n": {"type": "integer", "enum": ["1", "2"]}}})"),
              "types.t.attributes.n.enum: only a string or enum attribute takes a list of values");
}

TEST(ParseTypesErrors, EnumAttributeWithoutValues)
{
    EXPECT_EQ(error_of(R"({"attributes": {"k": {"type": "enum"}}})"),
              "types.t.attributes.k.enum: an enum attribute needs its list of values");
    EXPECT_EQ(error_of(R"({"attributes": {"k": {"type": "enum", "enum": []}}})"),
              "types.t.attributes.k.enum: must be a non-empty list of strings");
    EXPECT_EQ(error_of(R"({"attributes": {"k": {"type": "enum", "enum": ["a", 2]}}})"),
              "types.t.attributes.k.enum[1]: must be a string");
}

TEST(ParseTypesErrors, BoundsOnANonNumber)
{
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"type": "string", "min": 1}}})"),
              "types.t.attributes.title.min: only an integer or number attribute has bounds");
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"type": "string", "max": 1}}})"),
              "types.t.attributes.title.max: only an integer or number attribute has bounds");
    EXPECT_EQ(error_of(R"({"attributes": {"n": {"type": "integer", "max": "10"}}})"),
              "types.t.attributes.n.max: must be a number");
}

TEST(ParseTypesErrors, MinAboveMax)
{
    EXPECT_EQ(error_of(R"({"attributes": {"n": {"type": "number", "min": 5, "max": 1}}})"),
              "types.t.attributes.n.min: must not exceed max");
}

TEST(ParseTypes, MinEqualToMaxIsAccepted)
{
    const auto type = parsed(R"({"attributes": {"n": {"type": "integer", "min": 2, "max": 2}}})");
    const auto* n = type.attribute("n");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->min, std::optional<double>(2));
    EXPECT_EQ(n->max, std::optional<double>(2));
}

TEST(ParseTypesErrors, MaxLengthNotAPositiveWholeNumber)
{
    for (const char* value : {"0", "1.5", "-1", "\"3\""})
        EXPECT_EQ(error_of(std::string(R"({"attributes": {"title": {"type": "string", "max_length": )") +
                           value + "}}}"),
                  "types.t.attributes.title.max_length: must be a positive whole number")
            << value;
}

TEST(ParseTypesErrors, DefaultThatDoesNotFit)
{
    EXPECT_EQ(error_of(R"({"attributes": {"n": {"type": "integer", "default": "x"}}})"),
              "types.t.attributes.n.default: must be an integer");
    EXPECT_EQ(error_of(R"({"attributes": {"n": {"type": "integer", "max": 5, "default": 6}}})"),
              "types.t.attributes.n.default: must be at most 5");
    EXPECT_EQ(error_of(R"({"attributes": {"k": {"type": "enum", "enum": ["a", "b"], "default": "c"}}})"),
              "types.t.attributes.k.default: must be one of a, b");
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"type": "string", "max_length": 2, "default": "abc"}}})"),
              "types.t.attributes.title.default: must be at most 2 characters long");
}

TEST(ParseTypesErrors, AttributeNamedLikeACommonMember)
{
    EXPECT_EQ(
        error_of(R"({"attributes": {"status": {"type": "string"}}})"),
        R"(types.t.attributes.status: "status" is a member every record has; it cannot be an attribute)");
    EXPECT_EQ(
        error_of(R"({"attributes": {"metadata": {"type": "object"}}})"),
        R"(types.t.attributes.metadata: "metadata" is a member every record has; it cannot be an attribute)");
    EXPECT_EQ(
        error_of(R"({"attributes": {"callback_url": {"type": "url"}}})"),
        R"(types.t.attributes.callback_url: "callback_url" is a member every record has; it cannot be an attribute)");
    EXPECT_EQ(
        error_of(R"({"attributes": {"version": {"type": "integer"}}})"),
        R"(types.t.attributes.version: "version" is a member every record has; it cannot be an attribute)");
}

TEST(ParseTypesErrors, MutableInNamingAnUndeclaredState)
{
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"type": "string", "mutable_in": ["open", "limbo"]}}})"),
              R"(types.t.attributes.title.mutable_in[1]: "limbo" is not a declared state)");
}

TEST(ParseTypesErrors, FlagsOfAnAttributeMustBeBooleans)
{
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"type": "string", "required": "yes"}}})"),
              "types.t.attributes.title.required: must be true or false");
    EXPECT_EQ(error_of(R"({"attributes": {"title": {"type": "string", "read_only": 1}}})"),
              "types.t.attributes.title.read_only: must be true or false");
}

// --- misconfigurations: state rules ----------------------------------------------------------------------

TEST(ParseTypesErrors, RequiresNamingAnUndeclaredState)
{
    EXPECT_EQ(error_of(R"({"requires": {"limbo": ["title"]}})"),
              R"(types.t.requires.limbo: "limbo" is not a declared state)");
}

TEST(ParseTypesErrors, RequiresNamingAnUnknownAttribute)
{
    EXPECT_EQ(error_of(R"({"requires": {"active": ["title", "owner"]}})"),
              R"(types.t.requires.active[1]: "owner" is not an attribute of type t)");
    EXPECT_EQ(error_of(R"({"requires": {"active": ["status"]}})"),
              R"(types.t.requires.active[0]: "status" is not an attribute of type t)");
}

TEST(ParseTypes, RequiresMayNameMetadataAndCallbackUrl)
{
    const request_type t = parsed(R"({"requires": {"active": ["metadata", "callback_url", "title"]}})");
    EXPECT_EQ(t.requirements.at("active"), (std::vector<std::string>{"metadata", "callback_url", "title"}));
}

TEST(ParseTypesErrors, UpdatableInNamingAFinalState)
{
    EXPECT_EQ(error_of(R"({"updatable_in": ["open", "done"]})"),
              R"(types.t.updatable_in[1]: "done" is a final state, in which nothing may change)");
}

TEST(ParseTypesErrors, UpdatableInNamingAnUndeclaredState)
{
    EXPECT_EQ(error_of(R"({"updatable_in": ["limbo"]})"),
              R"(types.t.updatable_in[0]: "limbo" is not a declared state)");
}

TEST(ParseTypesErrors, TimestampsNamingANonDatetimeAttribute)
{
    EXPECT_EQ(error_of(R"({"timestamps": {"active": "title"}})"),
              "types.t.timestamps.active: must name a datetime attribute of type t");
    EXPECT_EQ(error_of(R"({"timestamps": {"active": "missing_at"}})"),
              "types.t.timestamps.active: must name a datetime attribute of type t");
    EXPECT_EQ(error_of(R"({"timestamps": {"limbo": "ends_at"}})"),
              R"(types.t.timestamps.limbo: "limbo" is not a declared state)");
}

TEST(ParseTypesErrors, ExpiresWithAnUnknownKey)
{
    EXPECT_EQ(error_of(R"({"expires": {"attribute": "ends_at", "state": "done", "after": 5}})"),
              "types.t.expires.after: unknown key");
}

TEST(ParseTypesErrors, ExpiresNamingANonDatetimeAttribute)
{
    EXPECT_EQ(error_of(R"({"expires": {"attribute": "title", "state": "done"}})"),
              "types.t.expires.attribute: must name a datetime attribute of type t");
    EXPECT_EQ(error_of(R"({"expires": {"state": "done"}})"),
              "types.t.expires.attribute: must name a datetime attribute of type t");
}

TEST(ParseTypesErrors, ExpiresNamingAnUndeclaredState)
{
    EXPECT_EQ(error_of(R"({"expires": {"attribute": "ends_at", "state": "limbo"}})"),
              "types.t.expires.state: must name a declared state");
    EXPECT_EQ(error_of(R"({"expires": {"attribute": "ends_at"}})"),
              "types.t.expires.state: must name a declared state");
}

// --- what a type answers ---------------------------------------------------------------------------------

TEST(RequestType, UpdatableInEveryNonFinalStateWhenUpdatableInIsAbsent)
{
    const request_type t = parsed("{}");
    EXPECT_TRUE(t.updatable_in_state("open"));
    EXPECT_TRUE(t.updatable_in_state("active"));
    EXPECT_FALSE(t.updatable_in_state("done"));
}

TEST(RequestType, UpdatableOnlyInTheListedStates)
{
    const request_type t = parsed(R"({"updatable_in": ["open"]})");
    EXPECT_TRUE(t.updatable_in_state("open"));
    EXPECT_FALSE(t.updatable_in_state("active"));
    EXPECT_FALSE(t.updatable_in_state("done"));
}

TEST(RequestType, AttributeFindsDeclaredAttributesOnly)
{
    const request_type t = parsed("{}");
    ASSERT_NE(t.attribute("title"), nullptr);
    EXPECT_EQ(t.attribute("title")->name, "title");
    EXPECT_EQ(t.attribute("ends_at")->kind, value_kind::datetime);
    EXPECT_EQ(t.attribute("status"), nullptr);
    EXPECT_EQ(t.attribute("Title"), nullptr);
    EXPECT_EQ(t.attribute(""), nullptr);
}

TEST(RequestType, MayMoveAlongListedTransitionsOnly)
{
    const request_type t = parsed("{}");
    EXPECT_TRUE(t.may_move("open", "active"));
    EXPECT_TRUE(t.may_move("active", "done"));
    EXPECT_TRUE(t.may_move("active", "open"));
    EXPECT_FALSE(t.may_move("open", "done"));
    EXPECT_FALSE(t.may_move("open", "open"));
    EXPECT_FALSE(t.may_move("done", "open"));
    EXPECT_FALSE(t.may_move("limbo", "open"));
}

TEST(RequestType, AllowedFromListsTheTargetsInDeclarationOrder)
{
    const request_type t = parsed("{}");
    EXPECT_EQ(t.allowed_from("active"), (std::vector<std::string>{"open", "done"}));
    EXPECT_EQ(t.allowed_from("open"), (std::vector<std::string>{"active"}));
    EXPECT_TRUE(t.allowed_from("done").empty());
    EXPECT_TRUE(t.allowed_from("limbo").empty());
}

TEST(RequestType, FinalStatesAllowNoMoveEvenIfTransitionsListOne)
{
    const request_type t = parsed(R"({"transitions": {"done": ["open"]}})");
    EXPECT_TRUE(t.is_final("done"));
    EXPECT_TRUE(t.allowed_from("done").empty());
    EXPECT_FALSE(t.may_move("done", "open"));
}

TEST(RequestType, HasStateAndIsFinal)
{
    const request_type t = parsed("{}");
    EXPECT_TRUE(t.has_state("open"));
    EXPECT_FALSE(t.has_state("Open"));
    EXPECT_TRUE(t.is_final("done"));
    EXPECT_FALSE(t.is_final("active"));
}

TEST(TypeRegistry, FindsTypesByNameAndIdsByFormat)
{
    std::vector<request_type> types;
    types.push_back(parsed("{}"));
    request_type numeric = parsed(R"({"id_format": "numeric", "id_prefix": null})");
    numeric.name = "n";
    types.push_back(std::move(numeric));
    const type_registry registry(std::move(types));
    ASSERT_NE(registry.find("t"), nullptr);
    EXPECT_EQ(registry.find("n")->format, id_format::numeric);
    EXPECT_EQ(registry.find("x"), nullptr);
    EXPECT_TRUE(registry.any_type_fits("t_0000000000000000"));
    EXPECT_TRUE(registry.any_type_fits("42"));
    EXPECT_FALSE(registry.any_type_fits("u_0000000000000000"));
    EXPECT_FALSE(registry.any_type_fits("f47ac10b-58cc-4372-a567-0e02b2c3d479"));
    EXPECT_EQ(registry.all().size(), 2u);
}

} // namespace
