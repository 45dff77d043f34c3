// Unit tests for configuration (config.hpp): the built-in defaults, the checked-in config files, errors that
// name the exact key, flags over the file, and the refusal to serve the development key beyond loopback.
#include <reqstore/app/config.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <variant>
#include <vector>

#include "temp_dir.hpp"

namespace
{

using namespace std::chrono_literals;
using reqstore::app::config_error;
using reqstore::app::config_outcome;
using reqstore::app::default_config_text;
using reqstore::app::is_loopback_host;
using reqstore::app::load_config;
using reqstore::app::server_config;
using reqstore::app::usage_text;
using ::testing::HasSubstr;

// The repository's config directory. Not found from __FILE__: a compiler cache with a base directory
// makes that relative to the build directory, and ctest runs the tests from another one.
const std::filesystem::path config_dir = std::filesystem::path(REQSTORE_SOURCE_DIR) / "config";

using reqstore::test::temp_dir;

std::variant<config_outcome, config_error> load(std::vector<std::string> args)
{
    args.insert(args.begin(), "reqstore");
    std::vector<const char*> argv;
    for (const auto& a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    return load_config(static_cast<int>(args.size()), argv.data());
}

// Loads and expects success.
config_outcome loaded(std::vector<std::string> args)
{
    auto result = load(std::move(args));
    if (const auto* error = std::get_if<config_error>(&result))
        throw std::runtime_error("unexpected config error: " + error->message);
    return std::get<config_outcome>(std::move(result));
}

// Loads and expects a configuration error; returns its message ("" when loading succeeded).
std::string error_of(std::vector<std::string> args)
{
    auto result = load(std::move(args));
    if (const auto* error = std::get_if<config_error>(&result))
        return error->message;
    ADD_FAILURE() << "the configuration was accepted";
    return "";
}

// Loads a config file with the given text and expects an error.
std::string file_error(std::string_view text)
{
    temp_dir dir;
    return error_of({"--config", dir.write("config.json", text)});
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> key_ids(const server_config& c)
{
    std::vector<std::string> ids;
    for (const auto& key : c.keys)
        ids.push_back(key.id);
    return ids;
}

bool any_key_has_dev_secret(const server_config& c)
{
    return std::any_of(c.keys.begin(), c.keys.end(),
                       [](const auto& key) { return key.secret_is("dev-secret"); });
}

// --- defaults --------------------------------------------------------------------------------------------

TEST(ConfigDefaults, ListenOnLoopbackPort8080)
{
    const auto c = loaded({}).config;
    EXPECT_EQ(c.listen_host, "127.0.0.1");
    EXPECT_EQ(c.listen_port, 8080);
}

TEST(ConfigDefaults, StoreInDataWithFsync)
{
    const auto c = loaded({}).config;
    EXPECT_EQ(c.data_dir, "./data");
    EXPECT_TRUE(c.durability_fsync);
    EXPECT_EQ(c.block_cache_bytes, 128u << 20);
    EXPECT_EQ(c.write_buffer_bytes, 64u << 20);
}

TEST(ConfigDefaults, ThreadsResolveToAtLeastOne)
{
    EXPECT_GE(loaded({}).config.threads, 1u);
}

TEST(ConfigDefaults, ServeIsTheAction)
{
    EXPECT_EQ(loaded({}).what, config_outcome::action::serve);
}

TEST(ConfigDefaults, LimitsAndSwitches)
{
    const auto c = loaded({}).config;
    EXPECT_FALSE(c.require_if_match);
    EXPECT_TRUE(c.access_log);
    EXPECT_EQ(c.limits.max_body_bytes, 1048576u);
    EXPECT_EQ(c.limits.max_header_bytes, 16384u);
    EXPECT_EQ(c.limits.max_json_depth, 64u);
    EXPECT_EQ(c.limits.max_record_bytes, 2097152u);
    EXPECT_EQ(c.limits.idle_timeout, 60s);
    EXPECT_EQ(c.limits.header_timeout, 10s);
    EXPECT_EQ(c.limits.body_timeout, 30s);
    EXPECT_EQ(c.limits.write_timeout, 30s);
    EXPECT_EQ(c.limits.drain_timeout, 10s);
}

TEST(ConfigDefaults, ConnectionCapsLeaveRoomForLoadTestsAndStopOneAddressTakingAll)
{
    const auto c = loaded({}).config;
    EXPECT_EQ(c.limits.max_connections, 16384u);
    EXPECT_EQ(c.limits.max_connections_per_address, 1024u);
}

TEST(ConfigDefaults, DeclareTheGenericTypeAndTheSeedTypes)
{
    const auto c = loaded({}).config;
    std::vector<std::string> names;
    for (const auto& type : c.types)
        names.push_back(type.name);
    ASSERT_EQ(c.types.size(), 6u);
    EXPECT_THAT(names,
                ::testing::UnorderedElementsAre("request", "docspring_data_request", "box_file_request",
                                                "autodesk_data_request", "jsonapi_request", "dsr"));
    const auto& t = c.types[0];
    EXPECT_EQ(t.name, "request");
    EXPECT_EQ(t.format, reqstore::core::id_format::prefixed);
    EXPECT_EQ(t.id_prefix, "req_");
    EXPECT_EQ(t.states, (std::vector<std::string>{"pending", "active", "completed", "canceled"}));
    EXPECT_EQ(t.initial, "pending");
    EXPECT_TRUE(t.may_move("pending", "active"));
    EXPECT_TRUE(t.may_move("active", "pending"));
    EXPECT_FALSE(t.may_move("completed", "active"));
    EXPECT_TRUE(t.is_final("completed"));
    EXPECT_TRUE(t.is_final("canceled"));
    EXPECT_TRUE(t.additional_attributes);
}

TEST(ConfigDefaults, HaveTheDevKeyWithEveryScopeAndADevSubjectKeyWithNone)
{
    const auto c = loaded({}).config;
    EXPECT_EQ(key_ids(c), (std::vector<std::string>{"dev", "dev-subject"}));
    ASSERT_EQ(c.keys.size(), 2u);
    EXPECT_TRUE(c.keys[0].secret_is("dev-secret"));
    EXPECT_EQ(c.keys[0].scopes,
              (std::vector<std::string>{"requests:read", "requests:write", "webhooks:manage", "admin"}));
    EXPECT_FALSE(c.keys[0].subject);
    EXPECT_TRUE(c.keys[1].secret_is("dev-subject-secret"));
    EXPECT_TRUE(c.keys[1].scopes.empty());
    EXPECT_EQ(c.keys[1].subject, std::optional<std::string>("subject-1"));
}

TEST(ConfigDefaults, EffectiveConfigurationIsTheDefaultText)
{
    EXPECT_EQ(boost::json::value(loaded({}).config.effective), boost::json::parse(default_config_text()));
}

// --- the checked-in files --------------------------------------------------------------------------------

TEST(ConfigFiles, ReqstoreJsonSpellsOutTheBuiltInDefaults)
{
    const auto file = boost::json::parse(read_file(config_dir / "reqstore.json"));
    EXPECT_EQ(file, boost::json::parse(default_config_text()))
        << "config/reqstore.json: " << file << "\nbuilt in: " << boost::json::parse(default_config_text());
}

TEST(ConfigFiles, ReqstoreJsonLoadsToTheDefaults)
{
    const auto from_file = loaded({"--config", (config_dir / "reqstore.json").string()}).config;
    EXPECT_EQ(boost::json::value(from_file.effective), boost::json::parse(default_config_text()));
}

TEST(ConfigFiles, ProductionExampleLoadsWithoutTheDevKey)
{
    const auto c = loaded({"--config", (config_dir / "production.example.json").string()}).config;
    EXPECT_EQ(key_ids(c), (std::vector<std::string>{"ops", "reader"}));
    EXPECT_FALSE(any_key_has_dev_secret(c));
    EXPECT_EQ(c.listen_host, "0.0.0.0");
    EXPECT_EQ(c.listen_port, 8443);
    EXPECT_EQ(c.listen_plain_host, "127.0.0.1");
    EXPECT_EQ(c.listen_plain_port, 9090);
    ASSERT_TRUE(c.tls.has_value());
    EXPECT_EQ(c.tls->cert_file, "/etc/reqstore/tls/cert.pem");
    EXPECT_EQ(c.tls->min_version, "1.2");
    EXPECT_EQ(c.data_dir, "/var/lib/reqstore/data");
    EXPECT_EQ(c.backup_dir, "/var/lib/reqstore/backups");
    EXPECT_TRUE(c.require_if_match);
    EXPECT_EQ(c.limits.idle_timeout, 30s);
    EXPECT_EQ(c.limits.header_timeout, 5s);
    EXPECT_EQ(c.limits.body_timeout, 15s);
    EXPECT_EQ(c.limits.max_connections, 16384u);
    EXPECT_EQ(c.limits.max_connections_per_address, 256u);
    // What the file leaves out keeps its default: the file is a merge patch.
    EXPECT_EQ(c.limits.max_body_bytes, 1048576u);
    EXPECT_EQ(c.limits.write_timeout, 30s);
    ASSERT_EQ(c.types.size(), 6u);
    EXPECT_EQ(c.types[0].name, "request");
}

// --- the config file as a merge patch --------------------------------------------------------------------

TEST(ConfigFile, ValuesReplaceTheDefaultsTheyName)
{
    temp_dir dir;
    const auto c = loaded({"--config", dir.write("c.json", R"({"listen": "127.0.0.1:9000",
                                                                "limits": {"max_body_bytes": 2048, "idle_timeout": 1.5},
                                                                "log": {"access": false}})")})
                       .config;
    EXPECT_EQ(c.listen_port, 9000);
    EXPECT_EQ(c.limits.max_body_bytes, 2048u);
    EXPECT_EQ(c.limits.idle_timeout, 1500ms);
    EXPECT_EQ(c.limits.header_timeout, 10s);
    EXPECT_FALSE(c.access_log);
    EXPECT_EQ(c.data_dir, "./data");
}

TEST(ConfigFile, EmptyObjectMeansTheDefaults)
{
    temp_dir dir;
    const auto c = loaded({"--config", dir.write("c.json", "{}")}).config;
    EXPECT_EQ(boost::json::value(c.effective), boost::json::parse(default_config_text()));
}

TEST(ConfigFile, MissingFileIsAnErrorNamingIt)
{
    temp_dir dir;
    const std::string missing = dir.write("present.json", "{}") + ".missing";
    EXPECT_THAT(error_of({"--config", missing}), HasSubstr(missing));
}

TEST(ConfigFile, InvalidJsonIsAnError)
{
    EXPECT_NE(file_error(R"({"listen": )"), "");
}

TEST(ConfigFile, NonObjectIsAnError)
{
    EXPECT_NE(file_error("[]"), "");
}

// --- errors name the exact key ---------------------------------------------------------------------------

TEST(ConfigErrors, UnknownNestedKeyIsNamed)
{
    EXPECT_THAT(file_error(R"({"limits": {"max_bdy_bytes": 10}})"), HasSubstr("limits.max_bdy_bytes"));
}

TEST(ConfigErrors, UnknownTopLevelKeyIsNamed)
{
    EXPECT_THAT(file_error(R"({"listn": "127.0.0.1:1"})"), HasSubstr("listn"));
}

TEST(ConfigErrors, WrongTypeIsNamed)
{
    const std::string message = file_error(R"({"threads": "x"})");
    EXPECT_THAT(message, HasSubstr("threads"));
}

TEST(ConfigErrors, WrongTypeOfASectionIsNamed)
{
    EXPECT_THAT(file_error(R"({"limits": 5})"), HasSubstr("limits"));
    EXPECT_THAT(file_error(R"({"log": {"access": "yes"}})"), HasSubstr("log.access"));
}

TEST(ConfigErrors, UnknownDurabilityIsNamed)
{
    EXPECT_THAT(file_error(R"({"durability": "sometimes"})"), HasSubstr("durability"));
}

TEST(ConfigErrors, TransitionToAnUndeclaredStateIsNamedWithItsIndex)
{
    EXPECT_THAT(file_error(R"({"types": {"request": {"transitions": {"pending": ["nowhere"]}}}})"),
                HasSubstr("types.request.transitions.pending[0]"));
}

TEST(ConfigErrors, NonHexSecretDigestIsNamed)
{
    const std::string not_hex(64, 'g');
    EXPECT_THAT(file_error(R"({"auth": {"keys": [{"id": "k", "secret_sha256": ")" + not_hex +
                           R"(", "scopes": ["requests:read"]}]}})"),
                HasSubstr("auth.keys[0].secret_sha256"));
}

TEST(ConfigErrors, OutOfRangeNumbersAreNamed)
{
    EXPECT_THAT(file_error(R"({"threads": 1000})"), HasSubstr("threads"));
    EXPECT_THAT(file_error(R"({"threads": 1.5})"), HasSubstr("threads"));
    EXPECT_THAT(file_error(R"({"limits": {"max_header_bytes": 10}})"), HasSubstr("limits.max_header_bytes"));
    EXPECT_THAT(file_error(R"({"limits": {"idle_timeout": 0}})"), HasSubstr("limits.idle_timeout"));
    EXPECT_THAT(file_error(R"({"store": {"write_buffer_mb": 1}})"), HasSubstr("store.write_buffer_mb"));
}

TEST(ConfigErrors, MaxRecordBytesOutOfRangeIsNamed)
{
    EXPECT_THAT(file_error(R"({"limits": {"max_record_bytes": 1023}})"),
                HasSubstr("limits.max_record_bytes"));
    EXPECT_THAT(file_error(R"({"limits": {"max_record_bytes": 1073741825}})"),
                HasSubstr("limits.max_record_bytes"));
}

TEST(ConfigErrors, ConnectionCapsOutOfRangeAreNamed)
{
    for (const char* key : {"max_connections", "max_connections_per_address"})
    {
        const std::string name = std::string("limits.") + key;
        for (const char* bad : {"-1", "1.5", "1000001"})
            EXPECT_THAT(file_error(std::string(R"({"limits": {")") + key + "\": " + bad + "}}"),
                        HasSubstr(name + ": must be a whole number from 0 to 1000000 (0: no cap)"))
                << bad;
        EXPECT_THAT(file_error(std::string(R"({"limits": {")") + key + R"(": "many"}})"),
                    HasSubstr(name + ": must be a number"));
    }
}

TEST(ConfigFile, ConnectionCapsCanBeSetOrTurnedOff)
{
    temp_dir dir;
    const auto c = loaded({"--config", dir.write("c.json", R"({"limits": {"max_connections": 0,
                                                                           "max_connections_per_address": 20000}})")})
                       .config;
    EXPECT_EQ(c.limits.max_connections, 0u);
    EXPECT_EQ(c.limits.max_connections_per_address, 20000u);
    EXPECT_EQ(c.effective.at("limits").at("max_connections_per_address"), 20000);
}

TEST(ConfigFile, MaxRecordBytesCanBeSet)
{
    temp_dir dir;
    const auto c =
        loaded({"--config", dir.write("c.json", R"({"limits": {"max_record_bytes": 1024}})")}).config;
    EXPECT_EQ(c.limits.max_record_bytes, 1024u);
}

TEST(ConfigErrors, MalformedListenIsNamed)
{
    EXPECT_THAT(file_error(R"({"listen": "nowhere"})"), HasSubstr("listen"));
    EXPECT_THAT(file_error(R"({"listen": "127.0.0.1:70000"})"), HasSubstr("listen"));
    EXPECT_THAT(file_error(R"({"listen": "example.com:80"})"), HasSubstr("listen"));
}

TEST(ConfigErrors, EmptyDataDirIsNamed)
{
    EXPECT_THAT(file_error(R"({"data_dir": ""})"), HasSubstr("data_dir"));
}

// --- flags -----------------------------------------------------------------------------------------------

TEST(ConfigFlags, OverrideTheDefaults)
{
    const auto c = loaded({"--listen", "127.0.0.1:0", "--data-dir", "/tmp/somewhere", "--threads", "3",
                           "--durability", "buffered"})
                       .config;
    EXPECT_EQ(c.listen_host, "127.0.0.1");
    EXPECT_EQ(c.listen_port, 0);
    EXPECT_EQ(c.data_dir, "/tmp/somewhere");
    EXPECT_EQ(c.threads, 3u);
    EXPECT_FALSE(c.durability_fsync);
}

TEST(ConfigFlags, OverrideTheFileWhereverTheyAppear)
{
    temp_dir dir;
    const std::string file = dir.write("c.json", R"({"listen": "127.0.0.1:9000", "data_dir": "/from/file",
                                                      "threads": 2, "durability": "buffered"})");
    for (const bool config_first : {true, false})
    {
        std::vector<std::string> args = {"--listen",     "127.0.0.1:9001", "--data-dir",
                                         "/from/flag",   "--threads",      "5",
                                         "--durability", "fsync"};
        if (config_first)
            args.insert(args.begin(), {"--config", file});
        else
            args.insert(args.end(), {"--config", file});
        const auto c = loaded(args).config;
        EXPECT_EQ(c.listen_port, 9001) << "config first: " << config_first;
        EXPECT_EQ(c.data_dir, "/from/flag") << "config first: " << config_first;
        EXPECT_EQ(c.threads, 5u) << "config first: " << config_first;
        EXPECT_TRUE(c.durability_fsync) << "config first: " << config_first;
    }
}

TEST(ConfigFlags, LeaveWhatTheyDoNotNameToTheFile)
{
    temp_dir dir;
    const auto c = loaded({"--config", dir.write("c.json", R"({"data_dir": "/from/file", "threads": 2})"),
                           "--listen", "127.0.0.1:9001"})
                       .config;
    EXPECT_EQ(c.data_dir, "/from/file");
    EXPECT_EQ(c.threads, 2u);
}

TEST(ConfigFlags, AppearInTheEffectiveConfiguration)
{
    const auto c = loaded({"--listen", "127.0.0.1:9001", "--threads", "4"}).config;
    EXPECT_EQ(c.effective.at("listen"), "127.0.0.1:9001");
    EXPECT_EQ(c.effective.at("threads").to_number<int>(), 4);
}

TEST(ConfigFlags, BadValuesAreErrorsNamingTheFlagOrKey)
{
    EXPECT_THAT(error_of({"--threads", "x"}), HasSubstr("threads"));
    EXPECT_THAT(error_of({"--durability", "sometimes"}), HasSubstr("durability"));
    EXPECT_THAT(error_of({"--listen", "nowhere"}), HasSubstr("listen"));
}

TEST(ConfigFlags, MissingValueIsAnError)
{
    EXPECT_THAT(error_of({"--listen"}), HasSubstr("--listen"));
    EXPECT_THAT(error_of({"--config"}), HasSubstr("--config"));
}

TEST(ConfigFlags, UnknownFlagIsAnError)
{
    EXPECT_THAT(error_of({"--lisen", "127.0.0.1:1"}), HasSubstr("--lisen"));
    EXPECT_THAT(error_of({"--verbose"}), HasSubstr("--verbose"));
}

// --- the development key ---------------------------------------------------------------------------------

TEST(ConfigDevKey, NonLoopbackListenWithTheDevKeyIsAnError)
{
    EXPECT_THAT(error_of({"--listen", "0.0.0.0:8080"}), HasSubstr("development secret"));
    EXPECT_THAT(error_of({"--listen", "[::]:8080"}), HasSubstr("development secret"));
    EXPECT_THAT(error_of({"--listen", "192.168.1.10:8080"}), HasSubstr("development secret"));
}

TEST(ConfigDevKey, NonLoopbackListenFromTheFileWithTheDevKeyIsAnError)
{
    EXPECT_THAT(file_error(R"({"listen": "0.0.0.0:8080"})"), HasSubstr("development secret"));
}

TEST(ConfigDevKey, DevKeyUnderAnotherIdIsStillRefused)
{
    // The check is on the secret, not the id.
    EXPECT_THAT(file_error(R"({"listen": "0.0.0.0:8080", "auth": {"keys": [{"id": "mine",
                "secret_sha256": "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
                "scopes": ["requests:read"]}]}})"),
                HasSubstr("development secret"));
}

TEST(ConfigDevKey, DevSubjectKeyAloneIsStillRefused)
{
    // f7172dc6... is the SHA-256 of the published dev-subject-secret.
    EXPECT_THAT(file_error(R"({"listen": "0.0.0.0:8080", "auth": {"keys": [{"id": "dev-subject",
                "secret_sha256": "f7172dc66663bda26124cb1bfb00de7bf75a183a4a75c5bea9efbb38cc93c80e",
                "scopes": [], "subject": "subject-1"}]}})"),
                HasSubstr("development secret"));
}

TEST(ConfigDevKey, LoopbackListenWithTheDevKeyIsAllowed)
{
    EXPECT_EQ(loaded({"--listen", "127.0.0.1:0"}).config.listen_port, 0);
    EXPECT_EQ(loaded({"--listen", "[::1]:0"}).config.listen_host, "::1");
    EXPECT_EQ(loaded({"--listen", "localhost:0"}).config.listen_port, 0);
}

TEST(ConfigDevKey, NonLoopbackListenWithOwnKeysIsAllowed)
{
    const auto c =
        loaded({"--config", (config_dir / "production.example.json").string(), "--listen", "0.0.0.0:9090"})
            .config;
    EXPECT_EQ(c.listen_host, "0.0.0.0");
    EXPECT_EQ(c.listen_port, 9090);
}

TEST(IsLoopbackHost, KnowsLoopbackAddresses)
{
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("127.1.2.3"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_FALSE(is_loopback_host("0.0.0.0"));
    EXPECT_FALSE(is_loopback_host("::"));
    EXPECT_FALSE(is_loopback_host("10.0.0.1"));
    EXPECT_FALSE(is_loopback_host("128.0.0.1"));
    EXPECT_FALSE(is_loopback_host("example.com"));
}

// --- actions ---------------------------------------------------------------------------------------------

TEST(ConfigActions, HelpShowsHelp)
{
    EXPECT_EQ(loaded({"--help"}).what, config_outcome::action::show_help);
    EXPECT_EQ(loaded({"-h"}).what, config_outcome::action::show_help);
}

TEST(ConfigActions, HelpWinsOverOtherwiseInvalidArguments)
{
    EXPECT_EQ(loaded({"--help", "--listen", "0.0.0.0:80"}).what, config_outcome::action::show_help);
}

TEST(ConfigActions, VersionShowsVersion)
{
    EXPECT_EQ(loaded({"--version"}).what, config_outcome::action::show_version);
}

TEST(ConfigActions, PrintConfigCarriesTheEffectiveConfiguration)
{
    const auto outcome = loaded({"--print-config", "--listen", "127.0.0.1:9999"});
    EXPECT_EQ(outcome.what, config_outcome::action::print_config);
    auto expected = boost::json::parse(default_config_text());
    expected.as_object()["listen"] = "127.0.0.1:9999";
    EXPECT_EQ(boost::json::value(outcome.config.effective), expected);
}

TEST(ConfigActions, PrintConfigStillValidates)
{
    EXPECT_THAT(error_of({"--print-config", "--durability", "sometimes"}), HasSubstr("durability"));
}

TEST(ConfigActions, UsageNamesEveryFlag)
{
    const std::string usage = usage_text();
    for (const char* flag : {"--config", "--listen", "--data-dir", "--threads", "--durability",
                             "--print-config", "--help", "--version"})
        EXPECT_THAT(usage, HasSubstr(flag));
}

} // namespace

TEST(ConfigErrors, ASecretsKeyThatIsNotThirtyTwoBytesIsRefused)
{
    EXPECT_THAT(file_error(R"({"webhooks": {"secrets_key": "c2hvcnQ="}})"),
                HasSubstr("webhooks.secrets_key"));
    EXPECT_THAT(file_error(R"({"webhooks": {"secrets_key": "not base64"}})"),
                HasSubstr("webhooks.secrets_key"));
}

TEST(ConfigFlags, RecoverWalTakesOnlyPointInTimeAndIsOffByDefault)
{
    EXPECT_FALSE(loaded({}).config.recover_wal_point_in_time);
    EXPECT_TRUE(loaded({"--recover-wal", "point-in-time"}).config.recover_wal_point_in_time);
    EXPECT_THAT(error_of({"--recover-wal", "skip-everything"}), HasSubstr("--recover-wal"));
    EXPECT_THAT(error_of({"--recover-wal"}), HasSubstr("needs a value"));
}

TEST(ConfigErrors, ANonLoopbackListenWithTheDevelopmentSecretsKeyIsRefused)
{
    temp_dir dir;
    const std::string own_keys = read_file(config_dir / "production.example.json");
    // The production example with the development secrets key put back.
    std::string text = own_keys;
    const std::string own = "cmVwbGFjZS10aGlzLXdpdGgtMzItcmFuZG9tLWJ5dGU=";
    ASSERT_NE(text.find(own), std::string::npos);
    text.replace(text.find(own), own.size(), "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=");
    EXPECT_THAT(error_of({"--config", dir.write("config.json", text)}), HasSubstr("webhooks.secrets_key"));
    EXPECT_FALSE(loaded({"--config", dir.write("own.json", own_keys)}).config.webhooks.secrets_key.empty());
}
