// Unit tests for data-subject request types (docs/CONFIG.md "Data-subject request types"): parsing
// `dsr_types` with exact messages, validate_dsr and accept_uploads (dsr_rules.hpp), and the record
// service keeping uploads beside a record (on the memory engine), with the write_input::admit hook.
#include <reqstore/app/config.hpp>
#include <reqstore/core/dsr_rules.hpp>
#include <reqstore/core/errc.hpp>
#include <reqstore/core/patch.hpp>
#include <reqstore/core/record_service.hpp>
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

#include "service_harness.hpp"

// Lets failures print JSON as JSON. Static: other test files may give these types a printer of their own.
namespace boost::json
{
[[maybe_unused]] static void PrintTo(const value& v, std::ostream* os)
{
    *os << serialize(v);
}
[[maybe_unused]] static void PrintTo(const object& o, std::ostream* os)
{
    *os << serialize(o);
}
} // namespace boost::json

namespace
{

namespace json = boost::json;
using reqstore::core::accept_uploads;
using reqstore::core::apply_merge_patch;
using reqstore::core::attachment_blob;
using reqstore::core::body_media;
using reqstore::core::dsr_requirements;
using reqstore::core::errc;
using reqstore::core::failure;
using reqstore::core::parse_types;
using reqstore::core::record_service;
using reqstore::core::request_type;
using reqstore::core::result;
using reqstore::core::stored_version;
using reqstore::core::type_registry;
using reqstore::core::validate_dsr;
using reqstore::core::write_input;
using reqstore::core::write_outcome;
using reqstore::test::describe;
using reqstore::test::refused;
using reqstore::test::service_harness;

constexpr std::string_view hello_sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
constexpr std::string_view empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A valid DSR type "t" that each parse test changes with a merge patch. `extra` has no rules at all.
constexpr std::string_view dsr_base = R"({
    "id_prefix": "d_",
    "states": ["draft", "submitted", "canceled"],
    "initial": "draft",
    "transitions": {"draft": ["submitted", "canceled"]},
    "final": ["canceled"],
    "attributes": {
        "type_id": {"type": "string", "required": true},
        "owner": {"type": "string"},
        "data": {"type": "object", "default": {}},
        "attachments": {"type": "object", "default": {}}
    },
    "requires": {"submitted": ["owner", "data", "attachments"]},
    "dsr_types": {
        "access": {
            "data": {
                "email": {"type": "email", "required": true},
                "age": {"type": "integer", "min": 0},
                "reason": {"type": "string", "max_length": 20}
            },
            "attachments": {
                "id_document": {"required": true, "content_types": ["image/png", "application/pdf"],
                                "max_bytes": 10},
                "extra": {}
            }
        },
        "erasure": {
            "data": {"scope": {"type": "enum", "enum": ["all", "marketing"], "required": true}},
            "attachments": {}
        }
    }
})";

json::value dsr_type_with(std::string_view patch)
{
    return apply_merge_patch(json::parse(dsr_base), json::parse(patch));
}

// parse_types' message for `type` declared as "t", or "accepted".
std::string error_for(const json::value& type)
{
    std::vector<request_type> out;
    const auto error = parse_types(json::object{{"t", type}}, out);
    return error ? *error : "accepted";
}

std::string error_of(std::string_view patch)
{
    return error_for(dsr_type_with(patch));
}

request_type parsed(std::string_view patch = "{}")
{
    std::vector<request_type> out;
    if (const auto error = parse_types(json::object{{"t", dsr_type_with(patch)}}, out))
        throw std::runtime_error("type does not parse: " + *error);
    return out.at(0);
}

// The shipped `dsr` type (src/app/config_defaults.cpp), as the server would read it.
json::value shipped_dsr_type()
{
    return json::parse(reqstore::app::default_config_text()).at("types").at("dsr");
}

std::string base64(std::string_view bytes)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3)
    {
        const unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                           static_cast<unsigned char>(bytes[i + 1]) << 8 |
                           static_cast<unsigned char>(bytes[i + 2]);
        for (int shift : {18, 12, 6, 0})
            out += alphabet[(n >> shift) & 63];
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0)
    {
        unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2)
            n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::set<std::string> keys_of(const json::object& o)
{
    std::set<std::string> out;
    for (const auto& member : o)
        out.emplace(member.key());
    return out;
}

// --- parsing dsr_types -----------------------------------------------------------------------------------

TEST(DsrTypes, ParsesEveryKey)
{
    const request_type t = parsed();
    ASSERT_EQ(t.dsr_types.size(), 2u);
    const auto& access = t.dsr_types.at("access");
    EXPECT_EQ(access.name, "access");
    ASSERT_EQ(access.data.size(), 3u);
    ASSERT_NE(access.field("email"), nullptr);
    EXPECT_TRUE(access.field("email")->required);
    EXPECT_EQ(access.field("email")->kind, reqstore::core::value_kind::email);
    ASSERT_NE(access.field("reason"), nullptr);
    EXPECT_EQ(access.field("reason")->max_length, 20u);
    EXPECT_EQ(access.field("nickname"), nullptr);
    const auto* id_document = access.slot("id_document");
    ASSERT_NE(id_document, nullptr);
    EXPECT_TRUE(id_document->required);
    EXPECT_EQ(id_document->content_types, (std::vector<std::string>{"image/png", "application/pdf"}));
    EXPECT_EQ(id_document->max_bytes, 10u);
    const auto* extra = access.slot("extra");
    ASSERT_NE(extra, nullptr);
    EXPECT_FALSE(extra->required);
    EXPECT_TRUE(extra->content_types.empty());
    EXPECT_FALSE(extra->max_bytes.has_value());
    EXPECT_TRUE(t.dsr_types.at("erasure").attachments.empty());
}

TEST(DsrTypes, DsrTypeOfFindsTheTypeByTypeId)
{
    const request_type t = parsed();
    EXPECT_EQ(t.dsr_type_of(json::parse(R"({"type_id": "access"})").as_object()), &t.dsr_types.at("access"));
    EXPECT_EQ(t.dsr_type_of(json::parse(R"({"type_id": "erasure"})").as_object()),
              &t.dsr_types.at("erasure"));
    EXPECT_EQ(t.dsr_type_of(json::parse(R"({"type_id": "portability"})").as_object()), nullptr);
    EXPECT_EQ(t.dsr_type_of(json::parse(R"({"type_id": 1})").as_object()), nullptr);
    EXPECT_EQ(t.dsr_type_of(json::object()), nullptr);

    std::vector<request_type> plain;
    ASSERT_FALSE(parse_types(json::parse(R"({"p": {"id_prefix": "p_", "states": ["a"], "initial": "a",
        "attributes": {"type_id": {"type": "string"}}}})")
                                 .as_object(),
                             plain));
    EXPECT_EQ(plain.at(0).dsr_type_of(json::parse(R"({"type_id": "access"})").as_object()), nullptr);
}

TEST(DsrTypes, ShippedDsrTypeParses)
{
    std::vector<request_type> out;
    const auto error = parse_types(json::object{{"dsr", shipped_dsr_type()}}, out);
    ASSERT_FALSE(error) << *error;
    const request_type& t = out.at(0);
    std::set<std::string> ids;
    for (const auto& [id, unused] : t.dsr_types)
        ids.insert(id);
    EXPECT_EQ(ids, (std::set<std::string>{"access", "erasure"}));
    EXPECT_EQ(t.requirements.at("submitted"), (std::vector<std::string>{"owner", "data", "attachments"}));
}

TEST(DsrTypes, MustBeANonEmptyObject)
{
    const std::string message =
        "types.t.dsr_types: must be an object from DSR type id to {\"data\", \"attachments\"}";
    EXPECT_EQ(error_of(R"({"dsr_types": []})"), message);
    EXPECT_EQ(error_of(R"({"dsr_types": "access"})"), message);
    json::value type = dsr_type_with("{}");
    type.as_object()["dsr_types"] = json::object();
    EXPECT_EQ(error_for(type), message);
    type.as_object()["dsr_types"] = nullptr;
    EXPECT_EQ(error_for(type), message);
}

TEST(DsrTypes, NeedsTypeIdDataAndAttachmentsAttributes)
{
    // `requires` names data and attachments: dropped so that the dsr_types rule is the one reached.
    EXPECT_EQ(error_of(R"({"requires": null, "attributes": {"type_id": null}})"),
              "types.t.dsr_types: a type with dsr_types needs the string attribute type_id");
    EXPECT_EQ(error_of(R"({"requires": null, "attributes": {"data": null}})"),
              "types.t.dsr_types: a type with dsr_types needs the object attribute data");
    EXPECT_EQ(error_of(R"({"requires": null, "attributes": {"attachments": null}})"),
              "types.t.dsr_types: a type with dsr_types needs the object attribute attachments");
    EXPECT_EQ(error_of(R"({"attributes": {"type_id": {"type": "integer"}}})"),
              "types.t.dsr_types: a type with dsr_types needs the string attribute type_id");
    EXPECT_EQ(error_of(R"({"attributes": {"data": {"type": "array", "default": []}}})"),
              "types.t.dsr_types: a type with dsr_types needs the object attribute data");
    EXPECT_EQ(error_of(R"({"attributes": {"attachments": {"type": "string", "default": null}}})"),
              "types.t.dsr_types: a type with dsr_types needs the object attribute attachments");
}

TEST(DsrTypes, ADsrTypeTakesOnlyDataAndAttachments)
{
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"files": {}}}})"),
              "types.t.dsr_types.access.files: unknown key");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": 5}})"),
              "types.t.dsr_types.access: must be {\"data\": {...}, \"attachments\": {...}}");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": ["email"]}}})"),
              "types.t.dsr_types.access.data: must be an object from name to its schema");
    EXPECT_EQ(error_of(R"({"dsr_types": {"erasure": {"attachments": true}}})"),
              "types.t.dsr_types.erasure.attachments: must be an object from name to its schema");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"": {"type": "string"}}}}})"),
              "types.t.dsr_types.access.data: a name cannot be empty");
    EXPECT_EQ(error_of(R"({"dsr_types": {"portability": {}}})"), "accepted");
}

TEST(DsrTypes, AnAttachmentTakesOnlyItsThreeKeys)
{
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"attachments": {"id_document": {"maxBytes": 5}}}}})"),
              "types.t.dsr_types.access.attachments.id_document.maxBytes: unknown key");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"attachments": {"id_document": "image/png"}}}})"),
              "types.t.dsr_types.access.attachments.id_document: must be {\"required\", \"content_types\", "
              "\"max_bytes\"}");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"attachments": {"id_document": {"required": "yes"}}}}})"),
              "types.t.dsr_types.access.attachments.id_document.required: must be true or false");
    EXPECT_EQ(
        error_of(R"({"dsr_types": {"access": {"attachments": {"id_document": {"content_types": "a/b"}}}}})"),
        "types.t.dsr_types.access.attachments.id_document.content_types: must be a list of media types");
}

TEST(DsrTypes, AContentTypeNeedsASlash)
{
    EXPECT_EQ(
        error_of(R"({"dsr_types": {"access": {"attachments": {"id_document":
                  {"content_types": ["image/png", "pdf"]}}}}})"),
        "types.t.dsr_types.access.attachments.id_document.content_types[1]: must be a media type such as "
        "image/png");
    EXPECT_EQ(
        error_of(R"({"dsr_types": {"access": {"attachments": {"id_document": {"content_types": [7]}}}}})"),
        "types.t.dsr_types.access.attachments.id_document.content_types[0]: must be a media type such as "
        "image/png");
    EXPECT_EQ(
        error_of(R"({"dsr_types": {"access": {"attachments": {"id_document": {"content_types": []}}}}})"),
        "accepted");
}

TEST(DsrTypes, MaxBytesMustBeAPositiveWholeNumber)
{
    const std::string message =
        "types.t.dsr_types.access.attachments.id_document.max_bytes: must be a positive "
        "whole number";
    for (const char* bad : {"0", "1.5", "-3", "\"10\"", "[]", "true"})
        EXPECT_EQ(error_of(std::string(
                               R"({"dsr_types": {"access": {"attachments": {"id_document": {"max_bytes": )") +
                           bad + "}}}}}"),
                  message)
            << bad;
    EXPECT_EQ(parsed(R"({"dsr_types": {"access": {"attachments": {"id_document": {"max_bytes": 1}}}}})")
                  .dsr_types.at("access")
                  .slot("id_document")
                  ->max_bytes,
              1u);
    EXPECT_EQ(parsed(R"({"dsr_types": {"access": {"attachments": {"id_document": {"max_bytes": 2.0}}}}})")
                  .dsr_types.at("access")
                  .slot("id_document")
                  ->max_bytes,
              2u);
}

TEST(DsrTypes, AFieldTakesNoMutableInReadOnlyOrDefault)
{
    const std::string message =
        "types.t.dsr_types.access.data.email: a DSR field takes no mutable_in, read_only or default";
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"email": {"mutable_in": ["draft"]}}}}})"),
              message);
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"email": {"read_only": true}}}}})"), message);
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"email": {"default": "a@b.co"}}}}})"), message);
}

TEST(DsrTypes, AFieldSchemaIsJudgedAsAnAttributeSchemaUnderItsKey)
{
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"email": {"type": null}}}}})"),
              "types.t.dsr_types.access.data.email.type: missing");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"email": {"pattern": ".*"}}}}})"),
              "types.t.dsr_types.access.data.email.pattern: unknown key");
    EXPECT_EQ(error_of(R"({"dsr_types": {"erasure": {"data": {"scope": {"enum": null}}}}})"),
              "types.t.dsr_types.erasure.data.scope.enum: an enum attribute needs its list of values");
    EXPECT_EQ(error_of(R"({"dsr_types": {"access": {"data": {"email": "email"}}}})"),
              "types.t.dsr_types.access.data.email: must be an object");
}

// --- validate_dsr ----------------------------------------------------------------------------------------

json::object dsr_errors(const request_type& t, std::string_view record)
{
    json::object errors;
    validate_dsr(t, json::parse(record).as_object(), errors);
    return errors;
}

// A record of DSR type access holding one stored file in id_document with `members` merged over it.
std::string with_file(std::string_view members)
{
    json::value file = json::parse(R"({"fileName": "id.png", "contentType": "image/png", "size": 5})");
    file.as_object()["sha256"] = hello_sha256;
    file = apply_merge_patch(file, json::parse(members));
    return json::serialize(json::object{{"type_id", "access"},
                                        {"attachments", json::object{{"id_document", json::array{file}}}}});
}

TEST(DsrValidate, AFittingRecordHasNoErrors)
{
    const request_type t = parsed();
    EXPECT_EQ(dsr_errors(t, with_file("{}")), json::object());
    EXPECT_EQ(
        dsr_errors(t, R"({"type_id": "access", "data": {"email": "a@b.example", "age": 3, "reason": null},
                               "attachments": {"id_document": [], "extra": []}})"),
        json::object());
    // Required fields and slots are required only to enter a state (dsr_requirements).
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "erasure", "data": {}, "attachments": {}})"), json::object());
}

TEST(DsrValidate, UnknownTypeIdNamesTheDeclaredIds)
{
    const request_type t = parsed();
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "portability", "data": {"anything": 1}})"),
              json::parse(R"({"/type_id": "\"portability\" is not a DSR type; declared: access, erasure"})"));
}

TEST(DsrValidate, DataFieldOfTheWrongKind)
{
    const request_type t = parsed();
    const json::object errors = dsr_errors(
        t,
        R"({"type_id": "access", "data": {"email": 5, "age": -1, "reason": "this is much too long to fit"}})");
    EXPECT_EQ(keys_of(errors), (std::set<std::string>{"/data/email", "/data/age", "/data/reason"}))
        << json::serialize(errors);
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "erasure", "data": {"scope": "some"}})").size(), 1u);
}

TEST(DsrValidate, UnknownDataFieldIsNamed)
{
    const request_type t = parsed();
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "access", "data": {"nickname": "x", "a/b": 1}})"),
              json::parse(R"({"/data/nickname": "is not a field of DSR type access",
                              "/data/a~1b": "is not a field of DSR type access"})"));
    // A field of another DSR type is not a field of this one.
    EXPECT_EQ(keys_of(dsr_errors(t, R"({"type_id": "access", "data": {"scope": "all"}})")),
              (std::set<std::string>{"/data/scope"}));
}

TEST(DsrValidate, UndeclaredSlotAndSlotNotAList)
{
    const request_type t = parsed();
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "access", "attachments": {"passport": []}})"),
              json::parse(R"({"/attachments/passport": "is not an attachment of DSR type access"})"));
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "erasure", "attachments": {"id_document": []}})"),
              json::parse(R"({"/attachments/id_document": "is not an attachment of DSR type erasure"})"));
    EXPECT_EQ(dsr_errors(t, R"({"type_id": "access", "attachments": {"id_document": {}}})"),
              json::parse(R"({"/attachments/id_document": "must be a list of files"})"));
}

TEST(DsrValidate, ContentTypeMustBeOneTheSlotTakes)
{
    const request_type t = parsed();
    EXPECT_EQ(
        dsr_errors(t, with_file(R"({"contentType": "image/gif"})")),
        json::parse(
            R"({"/attachments/id_document/0/contentType": "must be one of image/png, application/pdf"})"));
    EXPECT_EQ(dsr_errors(t, with_file(R"({"contentType": null})")),
              json::parse(R"({"/attachments/id_document/0/contentType": "must be the file's media type"})"));
    EXPECT_EQ(dsr_errors(t, with_file(R"({"contentType": "application/pdf"})")), json::object());
    // A slot without content_types takes any media type.
    json::object record = json::parse(with_file(R"({"contentType": "image/gif"})")).as_object();
    record["attachments"].as_object()["extra"] = record["attachments"].as_object()["id_document"];
    record["attachments"].as_object().erase("id_document");
    json::object errors;
    validate_dsr(t, record, errors);
    EXPECT_EQ(errors, json::object());
}

TEST(DsrValidate, SizeOverMaxBytes)
{
    const request_type t = parsed();
    EXPECT_EQ(dsr_errors(t, with_file(R"({"size": 11})")),
              json::parse(R"({"/attachments/id_document/0": "is 11 bytes; id_document takes at most 10"})"));
    EXPECT_EQ(dsr_errors(t, with_file(R"({"size": 10})")), json::object());
    EXPECT_EQ(dsr_errors(t, with_file(R"({"size": 0})")), json::object());
}

TEST(DsrValidate, BadStoredEntryIsNamed)
{
    const request_type t = parsed();
    const json::object expected =
        json::parse(
            R"({"/attachments/id_document/0": "must be a file: {\"fileName\", \"contentType\", \"data\": <base64>}"})")
            .as_object();
    std::string upper(hello_sha256);
    for (auto& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& bad : {R"({"sha256": ")" + upper + R"("})",
                                   R"({"sha256": ")" + std::string(hello_sha256.substr(1)) + R"("})",
                                   R"({"sha256": ")" + std::string(hello_sha256.substr(1)) + R"(g"})",
                                   std::string(R"({"sha256": null})"), std::string(R"({"size": null})"),
                                   std::string(R"({"size": "5"})"), std::string(R"({"size": 1.5})")})
        EXPECT_EQ(dsr_errors(t, with_file(bad)), expected) << bad;
    EXPECT_EQ(
        dsr_errors(t, with_file(R"({"fileName": ""})")),
        json::parse(
            R"({"/attachments/id_document/0/fileName": "must be a file name of 1 to 255 characters"})"));
    EXPECT_EQ(dsr_errors(t, with_file(R"({"fileName": null})")).size(), 1u);
    EXPECT_EQ(dsr_errors(t, with_file(R"({"fileName": ")" + std::string(256, 'a') + R"("})")).size(), 1u);
    EXPECT_EQ(dsr_errors(t, with_file(R"({"fileName": ")" + std::string(255, 'a') + R"("})")),
              json::object());
}

// Regression: validate_dsr read a negative size with to_number<std::uint64_t>(), which threw when the slot
// had max_bytes; without max_bytes a negative size was accepted.
TEST(DsrValidate, NegativeSizeIsAnErrorNotAnException)
{
    const request_type t = parsed();
    json::object errors;
    EXPECT_NO_THROW(validate_dsr(t, json::parse(with_file(R"({"size": -1})")).as_object(), errors));
    EXPECT_TRUE(errors.contains("/attachments/id_document/0")) << json::serialize(errors);

    json::object record = json::parse(with_file(R"({"size": -1})")).as_object();
    record["attachments"].as_object()["extra"] = record["attachments"].as_object()["id_document"];
    record["attachments"].as_object().erase("id_document");
    json::object unlimited;
    EXPECT_NO_THROW(validate_dsr(t, record, unlimited));
    EXPECT_TRUE(unlimited.contains("/attachments/extra/0")) << json::serialize(unlimited);
}

// Regression: the 255 limit was counted in bytes, not characters as the message says and as max_length
// counts: 255 two-byte characters were refused.
TEST(DsrValidate, FileNameLimitCountsCharacters)
{
    const request_type t = parsed();
    std::string name;
    for (int i = 0; i < 255; ++i)
        name += "\xc3\xa9"; // U+00E9
    EXPECT_EQ(dsr_errors(t, with_file(R"({"fileName": ")" + name + R"("})")), json::object());
}

TEST(DsrValidate, TypesWithoutDsrTypesAreNotJudged)
{
    std::vector<request_type> plain;
    ASSERT_FALSE(parse_types(
        json::parse(R"({"p": {"id_prefix": "p_", "states": ["a"], "initial": "a"}})").as_object(), plain));
    EXPECT_EQ(dsr_errors(plain.at(0), R"({"type_id": "x", "attachments": {"y": 1}})"), json::object());
}

TEST(DsrValidate, RequirementsNameEveryMissingFieldAndSlot)
{
    const request_type t = parsed();
    json::object errors;
    dsr_requirements(t,
                     json::parse(R"({"type_id": "access", "data": {"email": null, "age": 1}})").as_object(),
                     true, true, "submitted", errors);
    EXPECT_EQ(errors, json::parse(R"({"/data/email": "is required to enter state submitted",
                                      "/attachments/id_document": "is required to enter state submitted"})"));
    json::object only_data;
    dsr_requirements(t, json::parse(R"({"type_id": "access"})").as_object(), true, false, "submitted",
                     only_data);
    EXPECT_EQ(keys_of(only_data), (std::set<std::string>{"/data/email"}));
    json::object record = json::parse(with_file("{}")).as_object();
    record["data"] = json::parse(R"({"email": "a@b.example"})");
    json::object none;
    dsr_requirements(t, record, true, true, "submitted", none);
    EXPECT_EQ(none, json::object());
}

// --- accept_uploads --------------------------------------------------------------------------------------

struct uploads
{
    json::object record;
    std::vector<attachment_blob> blobs;
    json::object errors;
};

uploads accepted(const request_type& t, const json::object& record, const json::object* previous = nullptr)
{
    uploads out{record, {}, {}};
    accept_uploads(t, out.record, previous, out.blobs, out.errors);
    return out;
}

// A record of DSR type access whose id_document holds `files`.
json::object holding(json::array files)
{
    return json::object{{"type_id", "access"},
                        {"attachments", json::object{{"id_document", std::move(files)}}}};
}

json::object upload(std::string_view data, std::string_view name = "id.png")
{
    return json::object{{"fileName", name}, {"contentType", "image/png"}, {"data", data}};
}

json::value first_file(const json::object& record)
{
    return record.at("attachments").at("id_document").at(0);
}

TEST(DsrUploads, Base64BecomesAStoredEntryAndABlob)
{
    const request_type t = parsed();
    const uploads u = accepted(t, holding({upload("aGVsbG8=", "hello.txt")}));
    EXPECT_EQ(u.errors, json::object());
    json::object expected{
        {"fileName", "hello.txt"}, {"contentType", "image/png"}, {"size", 5}, {"sha256", hello_sha256}};
    EXPECT_EQ(first_file(u.record), expected);
    ASSERT_EQ(u.blobs.size(), 1u);
    EXPECT_EQ(u.blobs[0].sha256, hello_sha256);
    EXPECT_EQ(u.blobs[0].bytes, "hello");
}

TEST(DsrUploads, PaddingVariantsDecodeToTheirSizes)
{
    const request_type t = parsed();
    struct example
    {
        std::string_view text;
        std::string bytes;
    };
    for (const example& e : {example{"YQ==", "a"}, example{"YWI=", "ab"}, example{"YWJj", "abc"},
                             example{"AP8=", std::string("\0\xff", 2)}})
    {
        const uploads u = accepted(t, holding({upload(e.text)}));
        EXPECT_EQ(u.errors, json::object()) << e.text;
        EXPECT_EQ(first_file(u.record).at("size"), e.bytes.size()) << e.text;
        ASSERT_EQ(u.blobs.size(), 1u) << e.text;
        EXPECT_EQ(u.blobs[0].bytes, e.bytes) << e.text;
    }
}

TEST(DsrUploads, AnEmptyFileIsRefused)
{
    // An empty upload would satisfy a required slot without being a file.
    const uploads u = accepted(parsed(), holding({upload("")}));
    EXPECT_EQ(u.errors, (json::object{{"/attachments/id_document/0/data",
                                       "must not be empty: a file has at least one byte"}}));
    EXPECT_TRUE(u.blobs.empty());
}

TEST(DsrUploads, EveryFileOfEverySlotIsAccepted)
{
    const request_type t = parsed();
    json::object record = holding({upload("YQ=="), upload("YWI=")});
    record["attachments"].as_object()["extra"] = json::array{upload("YWJj")};
    const uploads u = accepted(t, record);
    EXPECT_EQ(u.errors, json::object());
    EXPECT_EQ(u.blobs.size(), 3u);
    EXPECT_EQ(u.record.at("attachments").at("id_document").at(1).at("size"), 2);
    EXPECT_EQ(u.record.at("attachments").at("extra").at(0).at("size"), 3);
}

TEST(DsrUploads, InvalidBase64IsAnErrorAtItsData)
{
    const request_type t = parsed();
    for (const std::string_view bad : {"aGVsbG8", "aGVsbG8==", "aGVs*G8=", "YQ==YQ==", "Y===", "====", "YQ=A",
                                       " aGVsbG8=", "aGVsbG8=\n", "aGVs bG8=", "aGVsbG8_"})
    {
        const uploads u = accepted(t, holding({upload("YQ=="), upload(bad)}));
        ASSERT_TRUE(u.errors.contains("/attachments/id_document/1/data"))
            << bad << " " << json::serialize(u.errors);
        EXPECT_EQ(u.errors.at("/attachments/id_document/1/data"), "must be the file's bytes in base64")
            << bad;
        EXPECT_EQ(u.errors.size(), 1u) << bad << " " << json::serialize(u.errors);
    }
    json::object not_text = holding({upload("YQ==")});
    not_text["attachments"].as_object()["id_document"].as_array()[0].as_object()["data"] = 5;
    EXPECT_TRUE(accepted(t, not_text).errors.contains("/attachments/id_document/0/data"));
}

TEST(DsrUploads, AnEntryWithoutDataMustBeAFileThePreviousRecordHolds)
{
    const request_type t = parsed();
    const json::object previous = accepted(t, holding({upload("aGVsbG8=")})).record;
    const json::value held = first_file(previous);

    const uploads kept = accepted(t, holding({held}), &previous);
    EXPECT_EQ(kept.errors, json::object());
    EXPECT_TRUE(kept.blobs.empty());
    EXPECT_EQ(first_file(kept.record), held);

    json::value unknown = held;
    unknown.as_object()["sha256"] = empty_sha256;
    const std::string message =
        "must carry its bytes in data (base64), or be a file this request already holds, exactly as stored";
    EXPECT_EQ(accepted(t, holding({unknown}), &previous).errors,
              (json::object{{"/attachments/id_document/0", message}}));
    // At creation there is nothing held.
    EXPECT_EQ(accepted(t, holding({held})).errors, (json::object{{"/attachments/id_document/0", message}}));
}

// Regression: an entry without data was kept when its sha256 was held, whatever else it said: the record
// then claimed size 1 (or another fileName/contentType) for bytes stored as 5, which also let a file escape
// a slot's max_bytes by being moved to it with a smaller size.
TEST(DsrUploads, AKeptEntryMustMatchTheHeldFile)
{
    const request_type t = parsed();
    const json::object previous = accepted(t, holding({upload("aGVsbG8=")})).record;
    json::value lying = first_file(previous);
    lying.as_object()["size"] = 1;
    EXPECT_FALSE(accepted(t, holding({lying}), &previous).errors.empty());
}

TEST(DsrUploads, AnUploadTakesOnlyFileNameContentTypeAndData)
{
    const request_type t = parsed();
    json::object file = upload("aGVsbG8=");
    file["size"] = 5;
    file["sha256"] = hello_sha256;
    const uploads u = accepted(t, holding({file}));
    EXPECT_EQ(u.errors, json::parse(R"({"/attachments/id_document/0/size": "is not a member of an upload",
                                        "/attachments/id_document/0/sha256": "is not a member of an upload"})"));

    const uploads missing = accepted(
        t, holding({json::object{{"data", "aGVsbG8="}}, json::object{{"fileName", "a"}, {"data", "YQ=="}}}));
    EXPECT_EQ(missing.errors, json::parse(R"({"/attachments/id_document/0/fileName": "is required",
                                              "/attachments/id_document/0/contentType": "is required",
                                              "/attachments/id_document/1/contentType": "is required"})"));
    EXPECT_EQ(accepted(t, holding({"id.png"})).errors, json::parse(R"({"/attachments/id_document/0":
                              "must be a file: {\"fileName\", \"contentType\", \"data\": <base64>}"})"));
}

TEST(DsrUploads, TypesWithoutDsrTypesKeepTheirAttachmentsAsGiven)
{
    std::vector<request_type> plain;
    ASSERT_FALSE(parse_types(
        json::parse(R"({"p": {"id_prefix": "p_", "states": ["a"], "initial": "a"}})").as_object(), plain));
    const json::object record = holding({upload("aGVsbG8=")});
    const uploads u = accepted(plain.at(0), record);
    EXPECT_EQ(u.record, record);
    EXPECT_TRUE(u.blobs.empty());
    EXPECT_EQ(u.errors, json::object());
}

// --- through the record service --------------------------------------------------------------------------

// The harness serving the shipped `dsr` type and "t".
struct dsr_fixture : service_harness
{
    dsr_fixture() : service_harness(json::object{{"dsr", shipped_dsr_type()}, {"t", dsr_type_with("{}")}}) {}

    result<write_outcome> create(std::string body) { return await(service->create(input(std::move(body)))); }
    result<write_outcome> put(const std::string& id, std::string body)
    {
        return await(service->put(id, input(std::move(body))));
    }
    result<write_outcome> put(const std::string& id, write_input in)
    {
        return await(service->put(id, std::move(in)));
    }
    result<write_outcome> patch(const std::string& id, write_input in)
    {
        return await(service->patch(id, std::move(in)));
    }
    result<write_outcome> remove(const std::string& id, write_input in = input("", body_media::none))
    {
        return await(service->remove(id, std::move(in)));
    }

    // A draft access request; its id.
    std::string draft(std::string_view type_id = "access")
    {
        return must(create(R"({"type": "dsr", "type_id": ")" + std::string(type_id) + R"("})")).id;
    }

    std::vector<stored_version> versions(const std::string& id)
    {
        auto h = await(service->history(id, 0, 100));
        if (!h)
            throw std::runtime_error("history failed: " + describe(h.error()));
        return *h;
    }

    std::optional<std::string> attachment(const std::string& id, std::string_view sha256)
    {
        auto loaded = await(store->load_attachment(id, sha256));
        if (!loaded)
            throw std::runtime_error("load_attachment failed: " + describe(loaded.error()));
        return *loaded;
    }
};

std::string attachments_body(const json::array& files)
{
    return json::serialize(json::object{{"attachments", json::object{{"id_document", files}}}});
}

TEST(DsrService, UploadIsStoredBesideTheRecordAndNeverInIt)
{
    dsr_fixture f;
    const std::string id = f.draft();
    std::string png("\x89PNG\r\n\x1a\n", 8);
    for (int i = 0; i < 3000; ++i)
        png += static_cast<char>(i * 7 % 256);
    const std::string png_base64 = base64(png);
    const write_outcome w =
        f.must(f.put(id, attachments_body({upload("aGVsbG8="), upload(png_base64, "scan.png")})));
    EXPECT_TRUE(w.committed);
    EXPECT_EQ(w.record.version, 2u);

    const json::array files = f.record(id).at("attachments").at("id_document").as_array();
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(
        files[0],
        (json::object{
            {"fileName", "id.png"}, {"contentType", "image/png"}, {"size", 5}, {"sha256", hello_sha256}}));
    EXPECT_EQ(files[1].at("size"), png.size());
    EXPECT_EQ(f.attachment(id, hello_sha256), "hello");
    EXPECT_EQ(f.attachment(id, std::string(files[1].at("sha256").as_string())), png);
    // Kept per record: another record does not reach them.
    EXPECT_EQ(f.attachment(f.draft(), hello_sha256), std::nullopt);
    EXPECT_EQ(f.attachment(id, empty_sha256), std::nullopt);

    for (const stored_version& v : f.versions(id))
    {
        EXPECT_EQ(v.body.find("aGVsbG8="), std::string::npos) << "version " << v.version;
        EXPECT_EQ(v.body.find(png_base64.substr(0, 64)), std::string::npos) << "version " << v.version;
    }
    EXPECT_EQ(w.record.body.find("aGVsbG8="), std::string::npos);
}

TEST(DsrService, UploadAtCreationIsStored)
{
    dsr_fixture f;
    const write_outcome w = f.must(f.create(R"({"type": "dsr", "type_id": "access", "attachments":
        {"id_document": [{"fileName": "a.pdf", "contentType": "application/pdf", "data": "YWJj"}]}})"));
    EXPECT_EQ(f.record(w.id).at("attachments").at("id_document").at(0).at("size"), 3);
    EXPECT_EQ(f.attachment(w.id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc");
    EXPECT_EQ(w.record.body.find("YWJj"), std::string::npos);
}

TEST(DsrService, RefusedUploadsCommitNothing)
{
    dsr_fixture f;
    const std::string id = f.draft();
    const failure bad = refused(f.put(id, attachments_body({upload("aGVsbG8")})));
    EXPECT_EQ(bad.code, errc::validation_failed);
    EXPECT_TRUE(bad.extensions.at("errors").as_object().contains("/attachments/id_document/0/data"))
        << describe(bad);

    json::object gif = upload("aGVsbG8=");
    gif["contentType"] = "image/gif";
    const failure wrong_type = refused(f.put(id, attachments_body({gif})));
    EXPECT_EQ(wrong_type.code, errc::validation_failed);
    EXPECT_EQ(keys_of(wrong_type.extensions.at("errors").as_object()),
              (std::set<std::string>{"/attachments/id_document/0/contentType"}));

    // The shipped id_document takes at most 524288 bytes.
    const failure too_big = refused(f.put(id, attachments_body({upload(base64(std::string(524289, 'x')))})));
    EXPECT_EQ(too_big.code, errc::validation_failed);
    EXPECT_EQ(too_big.extensions.at("errors").at("/attachments/id_document/0"),
              "is 524289 bytes; id_document takes at most 524288");
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.attachment(id, hello_sha256), std::nullopt);
    EXPECT_TRUE(f.must(f.put(id, attachments_body({upload(base64(std::string(524288, 'x')))}))).committed);
}

TEST(DsrService, SubmittingReportsEveryMissingRequirementAtOnce)
{
    dsr_fixture f;
    const std::string id = f.draft();
    const failure missing = refused(f.put(id, R"({"status": "submitted"})"));
    EXPECT_EQ(missing.code, errc::requirements_missing) << describe(missing);
    ASSERT_TRUE(missing.extensions.contains("errors")) << describe(missing);
    EXPECT_EQ(missing.extensions.at("errors"),
              json::parse(R"({"/owner": "is required to enter state submitted",
                              "/data/email": "is required to enter state submitted",
                              "/data/full_name": "is required to enter state submitted",
                              "/attachments/id_document": "is required to enter state submitted"})"));
    EXPECT_EQ(f.current(id).version, 1u);

    // Partly there: only what is still missing is named, and the data given in the same write is not applied.
    const failure partly = refused(f.put(id, R"({"status": "submitted", "owner": {"id": "u1"},
        "data": {"email": "ann@example.com", "full_name": null}, "attachments": {"id_document": []}})"));
    EXPECT_EQ(partly.code, errc::requirements_missing);
    EXPECT_EQ(keys_of(partly.extensions.at("errors").as_object()),
              (std::set<std::string>{"/data/full_name", "/attachments/id_document"}));
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.record(id).at("data"), json::object());

    const write_outcome submitted = f.must(f.put(id, json::serialize(json::parse(R"({"status": "submitted",
        "owner": {"id": "u1"}, "data": {"email": "ann@example.com", "full_name": "Ann"}, "attachments":
        {"id_document": [{"fileName": "id.png", "contentType": "image/png", "data": "aGVsbG8="}]}})"))));
    EXPECT_TRUE(submitted.committed);
    EXPECT_EQ(f.record(id).at("status"), "submitted");
    EXPECT_TRUE(f.record(id).at("submitted_at").is_string());
    EXPECT_EQ(f.attachment(id, hello_sha256), "hello");
}

TEST(DsrService, AnErasureNeedsNoAttachment)
{
    dsr_fixture f;
    const std::string id = f.draft("erasure");
    const failure missing = refused(f.put(id, R"({"status": "submitted", "owner": {"id": "u1"}})"));
    EXPECT_EQ(missing.extensions.at("errors"),
              json::parse(R"({"/data/email": "is required to enter state submitted",
                              "/data/scope": "is required to enter state submitted"})"));
    EXPECT_TRUE(f.must(f.put(id, R"({"status": "submitted", "owner": {"id": "u1"},
        "data": {"email": "ann@example.com", "scope": "marketing"}})"))
                    .committed);
}

TEST(DsrService, CancelFromDraftNeedsNothing)
{
    dsr_fixture f;
    const std::string id = f.draft();
    const write_outcome w = f.must(f.put(id, R"({"status": "canceled"})"));
    EXPECT_TRUE(w.committed);
    EXPECT_EQ(f.current(id).status, "canceled");
}

TEST(DsrService, ResendingTheStoredEntriesChangesNothing)
{
    dsr_fixture f;
    const std::string id = f.draft();
    f.must(f.put(id, json::serialize(json::parse(R"({"data": {"email": "ann@example.com"}, "attachments":
        {"id_document": [{"fileName": "id.png", "contentType": "image/png", "data": "aGVsbG8="}]}})"))));
    const json::object held = f.record(id);
    const json::object body{{"data", held.at("data")}, {"attachments", held.at("attachments")}};
    const write_outcome again = f.must(f.put(id, json::serialize(body)));
    EXPECT_FALSE(again.committed);
    EXPECT_EQ(again.record.version, 2u);
    EXPECT_EQ(f.current(id).version, 2u);

    // Uploading the same bytes again produces the same entry: no version either.
    EXPECT_FALSE(f.must(f.put(id, attachments_body({upload("aGVsbG8=")}))).committed);

    // A held entry may stay while another is added; a removed one may not come back without its bytes.
    EXPECT_TRUE(
        f.must(f.put(id, attachments_body({held.at("attachments").at("id_document").at(0), upload("YQ==")})))
            .committed);
    EXPECT_TRUE(f.must(f.put(id, R"({"attachments": {"id_document": []}})")).committed);
    const failure gone = refused(f.put(id, json::serialize(body)));
    EXPECT_EQ(gone.code, errc::validation_failed);
    EXPECT_TRUE(gone.extensions.at("errors").as_object().contains("/attachments/id_document/0"))
        << describe(gone);
}

TEST(DsrService, PatchesUploadToo)
{
    dsr_fixture f;
    const std::string id = f.draft();
    const write_outcome merged = f.must(
        f.patch(id, dsr_fixture::input(
                        R"({"attachments": {"id_document": [{"fileName": "a.png", "contentType": "image/png",
            "data": "YQ=="}]}})",
                        body_media::merge_patch)));
    EXPECT_TRUE(merged.committed);
    EXPECT_EQ(f.attachment(id, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"), "a");

    const write_outcome patched =
        f.must(f.patch(id, dsr_fixture::input(R"([{"op": "add", "path": "/attachments/id_document/-", "value":
            {"fileName": "h.png", "contentType": "image/png", "data": "aGVsbG8="}}])",
                                              body_media::json_patch)));
    EXPECT_TRUE(patched.committed);
    EXPECT_EQ(f.attachment(id, hello_sha256), "hello");
    const json::array files = f.record(id).at("attachments").at("id_document").as_array();
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[1].at("size"), 5);
    EXPECT_FALSE(files[1].as_object().contains("data"));
}

// Regression: a field's `default` was parsed but never applied, so the key was silently without effect; it
// is now refused at startup.
TEST(DsrService, AFieldDefaultIsAppliedOrRefused)
{
    const json::value type =
        dsr_type_with(R"({"dsr_types": {"access": {"data": {"reason": {"default": "not given"}}}}})");
    if (error_for(type) != "accepted")
        return;    // refusing the key is one right answer
    dsr_fixture f; // its store, with a service of its own over the type with the default
    std::vector<request_type> declared;
    ASSERT_FALSE(parse_types(json::object{{"t", type}}, declared));
    const type_registry registry(std::move(declared));
    record_service with_default(f.ioc.get_executor(), *f.store, registry, reqstore::core::service_options{});
    const write_outcome created =
        f.must(f.await(with_default.create(dsr_fixture::input(R"({"type": "t", "type_id": "access"})"))));
    EXPECT_EQ(f.record(created.id).at("data"), json::parse(R"({"reason": "not given"})"));
}

TEST(DsrService, UnknownTypeIdIsRefusedAtCreation)
{
    dsr_fixture f;
    const failure bad = refused(f.create(R"({"type": "dsr", "type_id": "portability"})"));
    EXPECT_EQ(bad.code, errc::validation_failed);
    EXPECT_EQ(bad.extensions.at("errors"),
              json::parse(R"({"/type_id": "\"portability\" is not a DSR type; declared: access, erasure"})"));
}

// Regression: normalize_integers covered the type's attributes only, so an integer DSR field given as a
// whole double (3.0) was stored as a double and read back as 3E0, not 3.
TEST(DsrService, WholeDoubleInAnIntegerFieldReadsBackAsAnInteger)
{
    dsr_fixture f;
    const write_outcome w = f.must(f.create(R"({"type": "t", "type_id": "access", "data": {"age": 3.0}})"));
    const json::value age = f.record(w.id).at("data").at("age");
    EXPECT_TRUE(age.is_int64() || age.is_uint64()) << json::serialize(age);
}

// Regression: the size a kept entry claimed was not checked against the held file; the record was
// committed claiming 1 byte for the 5 stored (see DsrUploads.AKeptEntryMustMatchTheHeldFile).
TEST(DsrService, AKeptEntryCannotRewriteTheHeldFileSize)
{
    dsr_fixture f;
    const std::string id = f.draft();
    f.must(f.put(id, attachments_body({upload("aGVsbG8=")})));
    json::value lying = f.record(id).at("attachments").at("id_document").at(0);
    lying.as_object()["size"] = 1;
    EXPECT_FALSE(f.put(id, attachments_body({lying})).has_value());
    EXPECT_EQ(f.current(id).version, 2u);
}

// Regression: a kept entry claiming size -1 made validate_dsr throw inside the write; over HTTP that was a
// 500 instead of a 400.
TEST(DsrService, ANegativeSizeIsAValidationError)
{
    dsr_fixture f;
    const std::string id = f.draft();
    f.must(f.put(id, attachments_body({upload("aGVsbG8=")})));
    json::value lying = f.record(id).at("attachments").at("id_document").at(0);
    lying.as_object()["size"] = -1;
    std::optional<result<write_outcome>> r;
    EXPECT_NO_THROW(r.emplace(f.put(id, attachments_body({lying}))));
    if (r)
    {
        EXPECT_EQ(refused(*r).code, errc::validation_failed);
    }
    EXPECT_EQ(f.current(id).version, 2u);
}

// --- the admit hook --------------------------------------------------------------------------------------

write_input refusing(std::string body, body_media media, int& asked)
{
    write_input in = dsr_fixture::input(std::move(body), media);
    in.admit = [&asked](const json::object&) -> std::optional<failure>
    {
        ++asked;
        return failure(errc::not_found, "no such request here");
    };
    return in;
}

TEST(DsrAdmit, ARefusingAdmitIsTheAnswerAndCommitsNothing)
{
    dsr_fixture f;
    const std::string id = f.draft();
    int asked = 0;
    for (auto r : {f.put(id, refusing(R"({"status": "canceled"})", body_media::json, asked)),
                   f.patch(id, refusing(R"({"status": "canceled"})", body_media::merge_patch, asked)),
                   f.patch(id, refusing(R"([{"op": "replace", "path": "/status", "value": "canceled"}])",
                                        body_media::json_patch, asked)),
                   f.remove(id, refusing("", body_media::none, asked))})
    {
        const failure problem = refused(r);
        EXPECT_EQ(problem.code, errc::not_found);
        EXPECT_EQ(problem.detail, "no such request here");
    }
    EXPECT_EQ(asked, 4);
    EXPECT_EQ(f.current(id).version, 1u);
    EXPECT_EQ(f.current(id).status, "draft");
}

TEST(DsrAdmit, AdmitRunsBeforeThePreconditionsAndTheBody)
{
    dsr_fixture f;
    const std::string id = f.draft();
    int asked = 0;
    write_input in = refusing("not json", body_media::unsupported, asked);
    in.conditions.if_match = "\"no-such-etag\"";
    EXPECT_EQ(refused(f.put(id, std::move(in))).code, errc::not_found);
    EXPECT_EQ(asked, 1);
}

TEST(DsrAdmit, AdmitRunsBeforeGone)
{
    dsr_fixture f;
    const std::string id = f.draft();
    f.must(f.remove(id));
    ASSERT_TRUE(f.current(id).deleted);

    int asked = 0;
    EXPECT_EQ(refused(f.put(id, refusing(R"({"status": "canceled"})", body_media::json, asked))).code,
              errc::not_found);
    EXPECT_EQ(refused(f.remove(id, refusing("", body_media::none, asked))).code, errc::not_found);
    EXPECT_EQ(asked, 2);

    // An admit that lets the caller in meets the 410.
    write_input in = dsr_fixture::input(R"({"status": "canceled"})");
    in.admit = [](const json::object&) -> std::optional<failure>
    {
        return std::nullopt;
    };
    EXPECT_EQ(refused(f.put(id, std::move(in))).code, errc::gone);
    EXPECT_EQ(f.current(id).version, 2u);
}

TEST(DsrAdmit, AdmitSeesTheCurrentRecordsMembers)
{
    dsr_fixture f;
    const std::string id = f.draft();
    f.must(f.put(id, R"({"owner": {"id": "u1"}, "data": {"email": "ann@example.com"}})"));

    json::object seen;
    write_input in = dsr_fixture::input(R"({"labels": ["x"]})");
    in.admit = [&seen](const json::object& record) -> std::optional<failure>
    {
        seen = record;
        return std::nullopt;
    };
    const write_outcome w = f.must(f.put(id, std::move(in)));
    EXPECT_TRUE(w.committed);
    EXPECT_EQ(w.record.version, 3u);
    // What admit saw is version 2, the record before this write.
    EXPECT_EQ(seen.at("id"), json::value(id));
    EXPECT_EQ(seen.at("type"), "dsr");
    EXPECT_EQ(seen.at("status"), "draft");
    EXPECT_EQ(seen.at("type_id"), "access");
    EXPECT_EQ(seen.at("owner"), json::parse(R"({"id": "u1"})"));
    EXPECT_EQ(seen.at("data"), json::parse(R"({"email": "ann@example.com"})"));
    EXPECT_EQ(seen.at("labels"), json::array());
    EXPECT_EQ(seen.at("version"), 2);

    // On a deleted record it sees the tombstone.
    f.must(f.remove(id));
    json::object tombstone;
    write_input after = dsr_fixture::input(R"({"labels": []})");
    after.admit = [&tombstone](const json::object& record) -> std::optional<failure>
    {
        tombstone = record;
        return std::nullopt;
    };
    EXPECT_EQ(refused(f.put(id, std::move(after))).code, errc::gone);
    EXPECT_TRUE(tombstone.contains("deleted_at")) << json::serialize(tombstone);
    EXPECT_EQ(tombstone.at("id"), json::value(id));
}

TEST(DsrAdmit, AdmitIsNotAskedAboutARecordThatDoesNotExist)
{
    dsr_fixture f;
    int asked = 0;
    EXPECT_EQ(
        refused(f.put("dsr_doesnotexist", refusing(R"({"status": "canceled"})", body_media::json, asked)))
            .code,
        errc::not_found);
    EXPECT_EQ(asked, 0);
}

} // namespace

// Every member that may no longer change is named, not only the first; and with every_problem_at_once the
// state rules' refusals join the validation errors in one answer.
TEST(DsrService, EveryMemberThatMayNotChangeIsNamed)
{
    dsr_fixture f;
    const std::string id = f.draft("erasure");
    f.must(f.put(id, R"({"status": "submitted", "owner": {"id": "u1"},
                         "data": {"email": "ann@example.com", "scope": "all"}})"));
    const failure both = refused(f.put(id, R"({"type_id": "access", "owner": {"id": "u2"}})"));
    EXPECT_EQ(both.code, errc::validation_failed) << describe(both); // access needs other data
    write_input together = dsr_fixture::input(R"({"type_id": "access", "owner": {"id": "u2"}})");
    together.every_problem_at_once = true;
    const failure all = refused(f.put(id, std::move(together)));
    EXPECT_EQ(all.code, errc::validation_failed) << describe(all);
    EXPECT_EQ(keys_of(all.extensions.at("errors").as_object()),
              (std::set<std::string>{"/type_id", "/owner", "/data/scope"}))
        << describe(all);

    const failure fitting =
        refused(f.put(id, R"({"type_id": "erasure", "owner": {"id": "u2"}, "labels": ["x"]})"));
    EXPECT_EQ(fitting.code, errc::not_updatable_in_state) << describe(fitting);
    EXPECT_EQ(keys_of(fitting.extensions.at("errors").as_object()), (std::set<std::string>{"/owner"}));
    EXPECT_EQ(f.current(id).version, 2u);
}

// Regression: a kept entry was looked up in every held file, so a body of N entries against a record of K
// files cost N x K comparisons on the record's strand. Many held files and many kept entries still work.
TEST(DsrUploads, ManyKeptEntriesAgainstManyHeldFiles)
{
    const request_type t = parsed();
    json::array files;
    for (int i = 0; i < 2000; ++i)
        files.push_back(upload(base64("file " + std::to_string(i))));
    const uploads first = accepted(t, holding(std::move(files)));
    ASSERT_EQ(first.errors, json::object());
    ASSERT_EQ(first.blobs.size(), 2000u);
    const uploads again = accepted(t, first.record, &first.record);
    EXPECT_EQ(again.errors, json::object());
    EXPECT_TRUE(again.blobs.empty());
    EXPECT_EQ(again.record, first.record);
}
