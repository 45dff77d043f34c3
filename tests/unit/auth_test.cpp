// Unit tests for API keys (auth/keys.hpp): the three ways to present credentials, failures that do not tell
// an unknown id from a wrong secret, scopes, and the checks on `auth.keys`.
#include <reqstore/auth/keys.hpp>

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace
{

using reqstore::auth::api_key;
using reqstore::auth::credentials;
using reqstore::auth::key_registry;
using reqstore::auth::parse_keys;
using reqstore::auth::sha256_hex;
using reqstore::core::errc;
using ::testing::HasSubstr;

// SHA-256 of "dev-secret", as config/reqstore.json holds it.
constexpr std::string_view dev_secret_sha256 =
    "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736";

// Parses `auth.keys` given as JSON text and expects success.
std::vector<api_key> keys_from(std::string_view json)
{
    std::vector<api_key> keys;
    const auto error = parse_keys(boost::json::parse(json).as_array(), keys);
    EXPECT_EQ(error, std::nullopt);
    return keys;
}

// Parses `auth.keys` given as JSON text and returns the error ("" when it was accepted).
std::string keys_error(std::string_view json)
{
    std::vector<api_key> keys;
    const auto error = parse_keys(boost::json::parse(json).as_array(), keys);
    return error ? *error : "";
}

// The dev key of the default configuration, and a read-only key with the secret "reader-secret".
key_registry registry()
{
    return key_registry(
        keys_from(std::string(R"([{"id": "dev", "secret_sha256": ")") + std::string(dev_secret_sha256) +
                  R"(", "scopes": ["requests:read", "requests:write", "webhooks:manage", "admin"]},
                                     {"id": "reader", "secret_sha256": ")" +
                  sha256_hex("reader-secret") + R"(", "scopes": ["requests:read"]}])"));
}

credentials authorization(std::string_view value)
{
    credentials c;
    c.authorization = value;
    return c;
}

credentials api_key_header(std::string_view value)
{
    credentials c;
    c.api_key = value;
    return c;
}

// The id of the authenticated key, or "unauthorized: <detail>", or "errc <n>: <detail>" for anything else.
std::string who(const credentials& presented)
{
    static const key_registry keys = registry();
    const auto result = keys.authenticate(presented);
    if (result.has_value())
        return (*result)->id;
    if (result.error().code == errc::unauthorized)
        return "unauthorized: " + result.error().detail;
    return "errc " + std::to_string(static_cast<int>(result.error().code)) + ": " + result.error().detail;
}

bool unauthorized(const credentials& presented)
{
    return who(presented).starts_with("unauthorized");
}

// --- sha256_hex ------------------------------------------------------------------------------------------

TEST(Sha256Hex, OfTheDevSecretIsTheDigestInTheDefaultConfig)
{
    EXPECT_EQ(sha256_hex("dev-secret"), "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736");
}

TEST(Sha256Hex, MatchesTheKnownVectors)
{
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// --- authenticate: the three forms -----------------------------------------------------------------------

TEST(Authenticate, BasicWithIdAndSecret)
{
    // base64("dev:dev-secret")
    EXPECT_EQ(who(authorization("Basic ZGV2OmRldi1zZWNyZXQ=")), "dev");
}

TEST(Authenticate, BearerWithIdDotSecret)
{
    EXPECT_EQ(who(authorization("Bearer dev.dev-secret")), "dev");
}

TEST(Authenticate, ApiKeyHeaderWithIdDotSecret)
{
    EXPECT_EQ(who(api_key_header("dev.dev-secret")), "dev");
}

TEST(Authenticate, FindsTheRightKeyAmongSeveral)
{
    EXPECT_EQ(who(authorization("Bearer reader.reader-secret")), "reader");
    // base64("reader:reader-secret")
    EXPECT_EQ(who(authorization("Basic cmVhZGVyOnJlYWRlci1zZWNyZXQ=")), "reader");
    EXPECT_EQ(who(api_key_header("reader.reader-secret")), "reader");
}

TEST(Authenticate, SchemeNamesAreCaseInsensitive)
{
    // RFC 9110 section 11.1: the authentication scheme is case-insensitive.
    EXPECT_EQ(who(authorization("basic ZGV2OmRldi1zZWNyZXQ=")), "dev");
    EXPECT_EQ(who(authorization("BEARER dev.dev-secret")), "dev");
}

TEST(Authenticate, SecretsAreCaseSensitive)
{
    EXPECT_TRUE(unauthorized(authorization("Bearer dev.DEV-SECRET")));
}

TEST(Authenticate, ASecretOfAnotherKeyDoesNotAuthenticate)
{
    EXPECT_TRUE(unauthorized(authorization("Bearer dev.reader-secret")));
    EXPECT_TRUE(unauthorized(api_key_header("reader.dev-secret")));
}

// --- authenticate: failures ------------------------------------------------------------------------------

TEST(Authenticate, WrongSecretAndUnknownIdFailAlike)
{
    const std::string wrong_secret = who(authorization("Bearer dev.not-the-secret"));
    const std::string unknown_id = who(authorization("Bearer nobody.dev-secret"));
    EXPECT_THAT(wrong_secret, ::testing::StartsWith("unauthorized: "));
    EXPECT_EQ(unknown_id, wrong_secret);
}

TEST(Authenticate, WrongSecretAndUnknownIdFailAlikeInEveryForm)
{
    // base64("dev:wrong") and base64("nobody:dev-secret")
    EXPECT_EQ(who(authorization("Basic ZGV2Ondyb25n")), who(authorization("Basic bm9ib2R5OmRldi1zZWNyZXQ=")));
    EXPECT_EQ(who(api_key_header("dev.wrong")), who(api_key_header("nobody.dev-secret")));
    EXPECT_EQ(who(api_key_header("dev.wrong")), who(authorization("Bearer dev.wrong")));
    EXPECT_TRUE(unauthorized(api_key_header("dev.wrong")));
}

TEST(Authenticate, DetailDoesNotNameTheId)
{
    EXPECT_THAT(who(authorization("Bearer nobody.dev-secret")), ::testing::Not(HasSubstr("nobody")));
    EXPECT_THAT(who(authorization("Bearer dev.wrong")), ::testing::Not(HasSubstr("dev")));
}

TEST(Authenticate, NoCredentialsIsUnauthorized)
{
    EXPECT_TRUE(unauthorized(credentials{}));
}

TEST(Authenticate, MalformedBasicIsUnauthorized)
{
    EXPECT_TRUE(unauthorized(authorization("Basic !!!!")));             // not base64
    EXPECT_TRUE(unauthorized(authorization("Basic ZGV2")));             // "dev": no colon
    EXPECT_TRUE(unauthorized(authorization("Basic OmRldi1zZWNyZXQ="))); // ":dev-secret": empty id
    EXPECT_TRUE(unauthorized(authorization("Basic ")));
    EXPECT_TRUE(unauthorized(authorization("Basic")));
}

TEST(Authenticate, BasicDoesNotTakeTheDottedForm)
{
    // base64("dev.dev-secret")
    EXPECT_TRUE(unauthorized(authorization("Basic ZGV2LmRldi1zZWNyZXQ=")));
}

TEST(Authenticate, MalformedBearerIsUnauthorized)
{
    EXPECT_TRUE(unauthorized(authorization("Bearer dev")));
    EXPECT_TRUE(unauthorized(authorization("Bearer .dev-secret")));
    EXPECT_TRUE(unauthorized(authorization("Bearer dev:dev-secret")));
    EXPECT_TRUE(unauthorized(authorization("Bearer ")));
}

TEST(Authenticate, MalformedApiKeyIsUnauthorized)
{
    EXPECT_TRUE(unauthorized(api_key_header("")));
    EXPECT_TRUE(unauthorized(api_key_header("dev")));
    EXPECT_TRUE(unauthorized(api_key_header("dev-secret")));
    EXPECT_TRUE(unauthorized(api_key_header(".dev-secret")));
}

TEST(Authenticate, OtherSchemesAreUnauthorized)
{
    EXPECT_TRUE(unauthorized(authorization("Digest username=\"dev\"")));
    EXPECT_TRUE(unauthorized(authorization("dev.dev-secret")));
    EXPECT_TRUE(unauthorized(authorization("")));
}

TEST(Authenticate, EmptyRegistryAuthenticatesNobody)
{
    const key_registry none;
    const auto result = none.authenticate(authorization("Bearer dev.dev-secret"));
    ASSERT_TRUE(result.has_error());
    EXPECT_EQ(result.error().code, errc::unauthorized);
}

// --- credentials a connection proved ---------------------------------------------------------------------

// The id authenticated with the connection's memo, or "unauthorized".
std::string who_on(const key_registry& keys, reqstore::auth::verified_credentials& memo,
                   const credentials& presented)
{
    const auto result = keys.authenticate(presented, &memo);
    return result.has_value() ? (*result)->id : "unauthorized";
}

TEST(VerifiedCredentials, TheSameCredentialsAgainAreAcceptedAndAnyOtherTextIsCheckedAfresh)
{
    const key_registry keys = registry();
    reqstore::auth::verified_credentials memo;
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.dev-secret")), "dev");
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.dev-secret")), "dev");
    // One byte off, a secret of the same length, another id, another field: none rides on the memo.
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.dev-secreT")), "unauthorized");
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.xxx-secret")), "unauthorized");
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer reader.dev-secret")), "unauthorized");
    EXPECT_EQ(who_on(keys, memo, api_key_header("Bearer dev.dev-secret")), "unauthorized");
    // A wrong secret does not replace what the memo holds; a right one does.
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.dev-secret")), "dev");
    EXPECT_EQ(who_on(keys, memo, api_key_header("reader.reader-secret")), "reader");
    EXPECT_EQ(who_on(keys, memo, api_key_header("reader.reader-secret")), "reader");
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.dev-secret")), "dev");
}

TEST(VerifiedCredentials, AMemoFromAnotherRegistryProvesNothing)
{
    const key_registry keys = registry();
    const key_registry none;
    reqstore::auth::verified_credentials memo;
    EXPECT_EQ(who_on(keys, memo, authorization("Bearer dev.dev-secret")), "dev");
    EXPECT_EQ(who_on(none, memo, authorization("Bearer dev.dev-secret")), "unauthorized");
}

// --- scopes ----------------------------------------------------------------------------------------------

TEST(ApiKeyScopes, AKeyHasTheScopesItLists)
{
    const auto keys = keys_from(R"([{"id": "r", "secret_sha256": ")" + sha256_hex("x") +
                                R"(", "scopes": ["requests:read", "webhooks:manage"]}])");
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_TRUE(keys[0].has_scope("requests:read"));
    EXPECT_TRUE(keys[0].has_scope("webhooks:manage"));
    EXPECT_FALSE(keys[0].has_scope("requests:write"));
    EXPECT_FALSE(keys[0].has_scope("admin"));
}

TEST(ApiKeyScopes, AdminImpliesEveryScope)
{
    const auto keys =
        keys_from(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("x") + R"(", "scopes": ["admin"]}])");
    ASSERT_EQ(keys.size(), 1u);
    for (const std::string_view scope : {reqstore::auth::scope_read, reqstore::auth::scope_write,
                                         reqstore::auth::scope_webhooks, reqstore::auth::scope_admin})
        EXPECT_TRUE(keys[0].has_scope(scope)) << scope;
}

TEST(ApiKeyScopes, AKeyWithoutScopesHasNone)
{
    const auto keys =
        keys_from(R"([{"id": "n", "secret_sha256": ")" + sha256_hex("x") + R"(", "scopes": []}])");
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_FALSE(keys[0].has_scope("requests:read"));
}

TEST(ApiKeySecret, SecretIsComparesAgainstTheDigest)
{
    const auto keys = keys_from(R"([{"id": "dev", "secret_sha256": ")" + std::string(dev_secret_sha256) +
                                R"(", "scopes": []}])");
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_TRUE(keys[0].secret_is("dev-secret"));
    EXPECT_FALSE(keys[0].secret_is("dev-secret "));
    EXPECT_FALSE(keys[0].secret_is(""));
}

TEST(ApiKeySecret, UpperCaseDigestIsAccepted)
{
    std::string upper(dev_secret_sha256);
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto keys = keys_from(R"([{"id": "dev", "secret_sha256": ")" + upper + R"(", "scopes": []}])");
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_TRUE(keys[0].secret_is("dev-secret"));
}

// --- parse_keys ------------------------------------------------------------------------------------------

TEST(ParseKeys, ReadsEveryKeyInOrder)
{
    const auto keys = keys_from(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") +
                                R"(", "scopes": ["requests:read"]},
                                    {"id": "b", "secret_sha256": ")" +
                                sha256_hex("2") + R"(", "scopes": ["requests:write", "admin"]}])");
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].id, "a");
    EXPECT_EQ(keys[0].scopes, std::vector<std::string>{"requests:read"});
    EXPECT_TRUE(keys[0].secret_is("1"));
    EXPECT_EQ(keys[1].id, "b");
    EXPECT_EQ(keys[1].scopes, (std::vector<std::string>{"requests:write", "admin"}));
    EXPECT_TRUE(keys[1].secret_is("2"));
}

TEST(ParseKeys, EmptyListIsAccepted)
{
    EXPECT_EQ(keys_error("[]"), "");
}

TEST(ParseKeys, NonHexDigestIsNamed)
{
    EXPECT_THAT(
        keys_error(R"([{"id": "k", "secret_sha256": ")" + std::string(64, 'g') + R"(", "scopes": []}])"),
        HasSubstr("auth.keys[0].secret_sha256"));
}

TEST(ParseKeys, DigestOfTheWrongLengthIsNamed)
{
    EXPECT_THAT(keys_error(R"([{"id": "k", "secret_sha256": "abc", "scopes": []}])"),
                HasSubstr("auth.keys[0].secret_sha256"));
    EXPECT_THAT(
        keys_error(R"([{"id": "k", "secret_sha256": ")" + std::string(65, 'a') + R"(", "scopes": []}])"),
        HasSubstr("auth.keys[0].secret_sha256"));
}

TEST(ParseKeys, MissingOrNonStringDigestIsNamed)
{
    EXPECT_THAT(keys_error(R"([{"id": "k", "scopes": []}])"), HasSubstr("auth.keys[0].secret_sha256"));
    EXPECT_THAT(keys_error(R"([{"id": "k", "secret_sha256": 5, "scopes": []}])"),
                HasSubstr("auth.keys[0].secret_sha256"));
}

TEST(ParseKeys, ErrorsNameTheIndexOfTheKey)
{
    EXPECT_THAT(keys_error(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": []},
                              {"id": "b", "secret_sha256": "nope", "scopes": []}])"),
                HasSubstr("auth.keys[1].secret_sha256"));
}

TEST(ParseKeys, MissingOrEmptyIdIsNamed)
{
    EXPECT_THAT(keys_error(R"([{"secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": []}])"),
                HasSubstr("auth.keys[0].id"));
    EXPECT_THAT(keys_error(R"([{"id": "", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": []}])"),
                HasSubstr("auth.keys[0].id"));
}

TEST(ParseKeys, IdWithASeparatorIsNamed)
{
    EXPECT_THAT(keys_error(R"([{"id": "a.b", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": []}])"),
                HasSubstr("auth.keys[0].id"));
    EXPECT_THAT(keys_error(R"([{"id": "a:b", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": []}])"),
                HasSubstr("auth.keys[0].id"));
}

TEST(ParseKeys, DuplicateIdIsNamed)
{
    EXPECT_THAT(keys_error(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": []},
                              {"id": "a", "secret_sha256": ")" +
                           sha256_hex("2") + R"(", "scopes": []}])"),
                HasSubstr("auth.keys[1].id"));
}

TEST(ParseKeys, UnknownScopeIsNamedWithItsIndex)
{
    EXPECT_THAT(keys_error(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") +
                           R"(", "scopes": ["requests:read", "requests:delete"]}])"),
                HasSubstr("auth.keys[0].scopes[1]"));
}

TEST(ParseKeys, ScopesMustBeAListOfStrings)
{
    EXPECT_THAT(
        keys_error(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": "admin"}])"),
        HasSubstr("auth.keys[0].scopes"));
    EXPECT_THAT(keys_error(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") + R"("}])"),
                HasSubstr("auth.keys[0].scopes"));
    EXPECT_THAT(keys_error(R"([{"id": "a", "secret_sha256": ")" + sha256_hex("1") + R"(", "scopes": [1]}])"),
                HasSubstr("auth.keys[0].scopes[0]"));
}

TEST(ParseKeys, UnknownMemberIsNamed)
{
    EXPECT_THAT(keys_error(R"([{"id": "a", "secret": "dev-secret", "secret_sha256": ")" + sha256_hex("1") +
                           R"(", "scopes": []}])"),
                HasSubstr("auth.keys[0].secret:"));
}

TEST(ParseKeys, NonObjectEntryIsNamed)
{
    EXPECT_THAT(keys_error(R"(["dev:dev-secret"])"), HasSubstr("auth.keys[0]"));
}

} // namespace
