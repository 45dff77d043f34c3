// Configuration errors (docs/CONFIG.md): a bad --config file stops the binary with exit code 2 and one line
// on standard error naming the offending key, e.g. `reqstore: config.json: limits.x: unknown key`.
#include <cstdlib>
#include <fstream>

#include "harness.hpp"

using namespace reqstore::test;
namespace fs = std::filesystem;

namespace
{
// A valid type `thing` (states a -> b, b final, a string `n` and a datetime `exp`) with `extra` members
// spliced into its declaration, as a complete merge patch.
std::string thing(const std::string& extra, const std::string& attributes = "")
{
    return R"({"types":{"thing":{"id_format":"prefixed","id_prefix":"thg_","states":["a","b"],"initial":"a",)"
           R"("transitions":{"a":["b"]},"final":["b"],"attributes":{"n":{"type":"string"},)"
           R"("exp":{"type":"datetime"})" +
           (attributes.empty() ? "" : "," + attributes) + "}" + (extra.empty() ? "" : "," + extra) + "}}}";
}

// A type `thing` whose declaration is given whole.
std::string thing_whole(const std::string& declaration)
{
    return R"({"types":{"thing":)" + declaration + "}}";
}

// One key `dev` with the dev secret and these extra members.
std::string dev_key(const std::string& extra)
{
    return R"({"auth":{"keys":[{"id":"dev","secret_sha256":)"
           R"("298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736","scopes":["admin"])" +
           (extra.empty() ? "" : "," + extra) + "}]}}";
}

class scratch
{
public:
    scratch()
    {
        std::string pattern = (fs::temp_directory_path() / "reqstore-cfg-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
    }
    ~scratch()
    {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
};

exit_result run_with(const std::string& config_text)
{
    scratch s;
    const auto file = s.dir() / "config.json";
    std::ofstream(file) << config_text;
    return run_to_exit(
        {"--config", file.string(), "--listen", "127.0.0.1:0", "--data-dir", (s.dir() / "data").string()},
        10s);
}

// Exit code 2, nothing on stdout, and exactly one line on stderr that names `key` as `... <key>: ...`.
testing::AssertionResult refused_naming(const std::string& config_text, const std::string& key)
{
    exit_result r;
    try
    {
        r = run_with(config_text);
    }
    catch (const std::exception& e)
    {
        return testing::AssertionFailure()
               << "the server did not stop on " << config_text << ": " << e.what();
    }
    if (r.status != 2)
        return testing::AssertionFailure()
               << "exit code " << r.status << " for " << config_text << "; stderr: " << r.err;
    if (!r.out.empty())
        return testing::AssertionFailure() << "stdout is not empty: " << r.out;
    std::string err = r.err;
    if (!err.empty() && err.back() == '\n')
        err.pop_back();
    if (err.empty() || contains(err, "\n"))
        return testing::AssertionFailure() << "stderr is not one line: \"" << r.err << "\"";
    if (!contains(err, " " + key + ": "))
        return testing::AssertionFailure() << "stderr does not name " << key << ": \"" << err << "\"";
    return testing::AssertionSuccess() << err;
}
} // namespace

TEST(ConfigErrors, TheBaseConfigOfTheseTestsStarts)
{
    // The valid forms that the cases below break, so that each case fails for its own reason only.
    for (
        const std::string& config :
        {thing(""),
         thing(
             R"("requires":{"b":["n"]},"timestamps":{"b":"exp"},"expires":{"attribute":"exp","state":"b"})"),
         thing("", R"("k":{"type":"integer","default":3,"min":0})"),
         dev_key(R"("rate_limit":{"per_second":1,"burst":2})"),
         thing_whole(
             R"({"id_prefix":"thg_","states":["a","b"],"initial":"a","transitions":{"a":["b"],"b":["a"]}})")})
    {
        server_options o;
        o.config = config;
        server srv(o);
        auto c = srv.connect();
        EXPECT_EQ(c.get("/v1/requests").status(), 200u) << config;
    }
    server_options o;
    o.config = thing("", R"("k":{"type":"integer","default":3,"min":0})");
    server srv(o);
    auto c = srv.connect();
    auto r = c.post("/v1/requests", R"({"type":"thing","n":"x"})");
    ASSERT_EQ(r.status(), 201u) << r;
    EXPECT_TRUE(starts_with(text(r.object(), "id"), "thg_"));
    EXPECT_EQ(number(r.object(), "k"), 3);
}

TEST(ConfigErrors, UnknownKeysAreNamed)
{
    EXPECT_TRUE(refused_naming(R"({"bogus":1})", "bogus"));
    EXPECT_TRUE(refused_naming(R"({"limits":{"x":1}})", "limits.x"));
    EXPECT_TRUE(refused_naming(R"({"limits":{"max_bdy_bytes":1024}})", "limits.max_bdy_bytes"));
    EXPECT_TRUE(refused_naming(R"({"log":{"acess":false}})", "log.acess"));
    EXPECT_TRUE(refused_naming(thing(R"("colour":"red")"), "types.thing.colour"));
    EXPECT_TRUE(
        refused_naming(thing("", R"("k":{"type":"string","maxlen":3})"), "types.thing.attributes.k.maxlen"));
    EXPECT_TRUE(refused_naming(dev_key(R"("scope":["admin"])"), "auth.keys[0].scope"));
    EXPECT_TRUE(refused_naming(dev_key(R"("rate_limit":{"per_second":1,"brust":2})"),
                               "auth.keys[0].rate_limit.brust"));
}

TEST(ConfigErrors, WrongTypesAndOutOfRangeValuesAreNamed)
{
    EXPECT_TRUE(refused_naming(R"({"threads":"four"})", "threads"));
    EXPECT_TRUE(refused_naming(R"({"limits":{"max_body_bytes":"big"}})", "limits.max_body_bytes"));
    EXPECT_TRUE(refused_naming(R"({"limits":{"max_body_bytes":0}})", "limits.max_body_bytes"));
    EXPECT_TRUE(refused_naming(R"({"limits":{"max_json_depth":1001}})", "limits.max_json_depth"));
    EXPECT_TRUE(refused_naming(R"({"require_if_match":"yes"})", "require_if_match"));
    EXPECT_TRUE(refused_naming(R"({"durability":"sometimes"})", "durability"));
    EXPECT_TRUE(refused_naming(R"({"limits":[]})", "limits"));
    EXPECT_TRUE(refused_naming(thing(R"("require_if_match":1)"), "types.thing.require_if_match"));
}

TEST(ConfigErrors, TypeDeclarationsAreCheckedAgainstThemselves)
{
    // A transition to an undeclared state, and from one.
    EXPECT_TRUE(refused_naming(thing_whole(R"({"id_prefix":"thg_","states":["a","b"],"initial":"a",
        "transitions":{"a":["c"]}})"),
                               "types.thing.transitions.a[0]"));
    EXPECT_TRUE(refused_naming(thing_whole(R"({"id_prefix":"thg_","states":["a","b"],"initial":"a",
        "transitions":{"a":["b"],"b":["a","zz"]}})"),
                               "types.thing.transitions.b[1]"));
    // requires naming an unknown attribute.
    EXPECT_TRUE(refused_naming(thing(R"("requires":{"b":["nope"]})"), "types.thing.requires.b[0]"));
    EXPECT_TRUE(refused_naming(thing(R"("requires":{"b":["n","nope"]})"), "types.thing.requires.b[1]"));
    // An attribute of an unknown type.
    EXPECT_TRUE(refused_naming(thing("", R"("k":{"type":"strng"})"), "types.thing.attributes.k.type"));
    // A default that does not fit its own schema.
    EXPECT_TRUE(refused_naming(thing("", R"("k":{"type":"integer","default":"seven"})"),
                               "types.thing.attributes.k.default"));
    EXPECT_TRUE(refused_naming(thing("", R"("k":{"type":"integer","min":5,"default":1})"),
                               "types.thing.attributes.k.default"));
    EXPECT_TRUE(refused_naming(thing("", R"("k":{"type":"enum","enum":["x","y"],"default":"z"})"),
                               "types.thing.attributes.k.default"));
    EXPECT_TRUE(refused_naming(thing("", R"("k":{"type":"string","max_length":2,"default":"long"})"),
                               "types.thing.attributes.k.default"));
    EXPECT_TRUE(refused_naming(thing("", R"("k":{"type":"email","default":"nobody"})"),
                               "types.thing.attributes.k.default"));
    // timestamps naming a non-datetime attribute, and an unknown one.
    EXPECT_TRUE(refused_naming(thing(R"("timestamps":{"b":"n"})"), "types.thing.timestamps.b"));
    EXPECT_TRUE(refused_naming(thing(R"("timestamps":{"b":"nope"})"), "types.thing.timestamps.b"));
    // expires naming an unknown state, or a non-datetime attribute.
    EXPECT_TRUE(
        refused_naming(thing(R"("expires":{"attribute":"exp","state":"zzz"})"), "types.thing.expires.state"));
    EXPECT_TRUE(
        refused_naming(thing(R"("expires":{"attribute":"n","state":"b"})"), "types.thing.expires.attribute"));
    // The initial state must be declared.
    EXPECT_TRUE(refused_naming(thing_whole(R"({"id_prefix":"thg_","states":["a"],"initial":"q"})"),
                               "types.thing.initial"));
    // An unknown id format.
    EXPECT_TRUE(
        refused_naming(thing_whole(R"({"id_format":"guid","id_prefix":"thg_","states":["a"],"initial":"a"})"),
                       "types.thing.id_format"));
}

TEST(ConfigErrors, KeyProblemsAreNamed)
{
    EXPECT_TRUE(
        refused_naming(dev_key(R"("rate_limit":{"per_second":0})"), "auth.keys[0].rate_limit.per_second"));
    EXPECT_TRUE(refused_naming(dev_key(R"("rate_limit":{"per_second":-1,"burst":2})"),
                               "auth.keys[0].rate_limit.per_second"));
    EXPECT_TRUE(refused_naming(dev_key(R"("rate_limit":{"per_second":"fast"})"),
                               "auth.keys[0].rate_limit.per_second"));
    EXPECT_TRUE(
        refused_naming(R"({"auth":{"keys":[{"id":"dev","secret_sha256":"not-hex","scopes":["admin"]}]}})",
                       "auth.keys[0].secret_sha256"));
    EXPECT_TRUE(refused_naming(R"({"auth":{"keys":[{"id":"dev","secret_sha256":)"
                               R"("298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",)"
                               R"("scopes":["everything"]}]}})",
                               "auth.keys[0].scopes[0]"));
}

TEST(ConfigErrors, MalformedFileAndMissingFileExitWith2)
{
    auto r = run_with("{\"threads\": 2,");
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "config.json")) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;

    auto missing =
        run_to_exit({"--config", "/nonexistent/reqstore-config.json", "--listen", "127.0.0.1:0"}, 10s);
    EXPECT_EQ(missing.status, 2) << missing.err;
    EXPECT_TRUE(contains(missing.err, "/nonexistent/reqstore-config.json")) << missing.err;

    auto usage = run_to_exit({"--no-such-flag"}, 10s);
    EXPECT_EQ(usage.status, 2) << usage.err;
}
