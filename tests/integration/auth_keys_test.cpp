// API keys from the config file (docs/CONFIG.md "API keys", docs/API.md "Authentication, scopes and rate
// limits"): a custom key in all three credential forms, identical 401s for an unknown id and a wrong secret,
// 403 for a read-only key, created_by/updated_by, and the secret never reaching the log or the data
// directory.
#include <fstream>
#include <iterator>

#include "harness.hpp"

using namespace reqstore::test;

namespace
{
constexpr std::string_view ops_secret = "s3cr3t-ops-value";

// dev (admin), ops (read and write, its own secret) and reader (read only, the dev secret).
const std::string keys_config = R"({"auth":{"keys":[
  {"id":"dev","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["admin"]},
  {"id":"ops","secret_sha256":"a0b343931326c28fec9160521c327099afe5a2aab010aff1e814406ad5f57588",
   "scopes":["requests:read","requests:write"]},
  {"id":"reader","secret_sha256":"298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
   "scopes":["requests:read"]}]}})";

server_options with_keys()
{
    server_options o;
    o.config = keys_config;
    return o;
}

client as(const server& srv, std::optional<std::pair<std::string, std::string>> credentials)
{
    auto c = srv.connect();
    c.set_credentials(std::move(credentials));
    return c;
}

std::pair<std::string, std::string> bearer(std::string_view id, std::string_view secret)
{
    return {"Authorization", "Bearer " + std::string(id) + "." + std::string(secret)};
}

bool www_authenticate_names_both(const response& r)
{
    const auto v = r.header("WWW-Authenticate");
    return contains(v, "Basic realm=\"reqstore\"") && contains(v, "Bearer realm=\"reqstore\"");
}

// Status, header fields except Date and X-Request-Id, and body.
std::string comparable(const response& r)
{
    std::string out = std::to_string(r.status()) + "\n";
    for (const auto& f : r.message)
    {
        std::string name(f.name_string());
        std::string lower;
        for (char ch : name)
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower == "date" || lower == "x-request-id")
            continue;
        out += lower + ": " + std::string(f.value()) + "\n";
    }
    return out + "\n" + r.body();
}

std::string read_bytes(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
} // namespace

TEST(AuthKeys, EveryCredentialFormOfACustomKeyIsAccepted)
{
    server srv(with_keys());
    auto c = as(srv, std::nullopt);
    const header_list forms[] = {
        {{"Authorization", "Basic " + base64("ops:" + std::string(ops_secret))}},
        {{"Authorization", "Bearer ops." + std::string(ops_secret)}},
        {{"X-API-Key", "ops." + std::string(ops_secret)}},
    };
    for (const auto& form : forms)
    {
        auto r = c.get("/v1/requests", form);
        EXPECT_EQ(r.status(), 200u) << form[0].first << ": " << form[0].second << r;
        auto created = c.post("/v1/requests", R"({"type":"request"})", form);
        ASSERT_EQ(created.status(), 201u) << form[0].first << ": " << form[0].second << created;
        EXPECT_EQ(text(created.object(), "created_by"), "ops");
    }
    // The dev key listed in the file still works; a key reusing the dev secret under another id too.
    auto dev = srv.connect();
    EXPECT_EQ(dev.get("/v1/requests").status(), 200u);
    auto reader = as(srv, bearer("reader", "dev-secret"));
    EXPECT_EQ(reader.get("/v1/requests").status(), 200u);
    EXPECT_EQ(list_all(dev).size(), 3u);
}

TEST(AuthKeys, TheSchemeIsCaseInsensitiveAndMayBeFollowedBySeveralSpaces)
{
    // RFC 9110 section 11.1: the scheme is case-insensitive; section 11.4: credentials = auth-scheme
    // [ 1*SP ( token68 / #auth-param ) ].
    server srv(with_keys());
    auto c = as(srv, std::nullopt);
    const std::string ops(ops_secret);
    for (const std::string& value :
         {"bearer ops." + ops, "BEARER ops." + ops, "basic " + base64("ops:" + ops), "Bearer  ops." + ops,
          "Basic  " + base64("ops:" + ops)})
    {
        auto r = c.get("/v1/requests", {{"Authorization", value}});
        EXPECT_EQ(r.status(), 200u) << "Authorization: " << value << r;
    }
}

TEST(AuthKeys, BadCredentialsAre401WithWwwAuthenticate)
{
    server srv(with_keys());
    auto c = as(srv, std::nullopt);
    const std::string ops(ops_secret);
    const std::vector<std::pair<std::string, header_list>> cases = {
        {"missing", {}},
        {"malformed basic", {{"Authorization", "Basic %%%not-base64%%%"}}},
        {"basic without colon", {{"Authorization", "Basic " + base64("ops" + ops)}}},
        {"bearer without dot", {{"Authorization", "Bearer " + ops}}},
        {"unknown scheme", {{"Authorization", "Token ops." + ops}}},
        {"empty X-API-Key", {{"X-API-Key", ""}}},
        {"unknown id (basic)", {{"Authorization", "Basic " + base64("nobody:" + ops)}}},
        {"unknown id (bearer)", {{"Authorization", "Bearer nobody." + ops}}},
        {"unknown id (x-api-key)", {{"X-API-Key", "nobody." + ops}}},
        {"wrong secret (basic)", {{"Authorization", "Basic " + base64("ops:wrong-value")}}},
        {"wrong secret (bearer)", {{"Authorization", "Bearer ops.wrong-value"}}},
        {"wrong secret (x-api-key)", {{"X-API-Key", "ops.wrong-value"}}},
        {"secret of another key", {{"Authorization", "Bearer ops.dev-secret"}}},
        {"secret with a suffix", {{"Authorization", "Bearer ops." + ops + "x"}}},
        {"secret cut short", {{"Authorization", "Bearer ops." + ops.substr(0, ops.size() - 1)}}},
    };
    for (const auto& [what, headers] : cases)
    {
        for (const char* path : {"/v1/requests", "/v1/requests/req_00000000000000000000"})
        {
            auto r = c.get(path, headers);
            EXPECT_TRUE(is_problem(r, 401, "unauthorized", path)) << what;
            EXPECT_TRUE(www_authenticate_names_both(r)) << what << r;
        }
        auto w = c.post("/v1/requests", R"({"type":"request"})", headers);
        EXPECT_TRUE(is_problem(w, 401, "unauthorized", "/v1/requests")) << what;
    }
    auto dev = srv.connect();
    EXPECT_EQ(list_all(dev).size(), 0u);
}

TEST(AuthKeys, UnknownIdAndWrongSecretGetTheSameAnswer)
{
    server srv(with_keys());
    auto c = as(srv, std::nullopt);
    const std::string ops(ops_secret);
    const std::pair<header_list, header_list> pairs[] = {
        {{{"Authorization", "Basic " + base64("nobody:" + ops)}},
         {{"Authorization", "Basic " + base64("ops:wrong-value-00")}}},
        {{{"Authorization", "Bearer nobody." + ops}}, {{"Authorization", "Bearer ops.wrong-value-00"}}},
        {{{"X-API-Key", "nobody." + ops}}, {{"X-API-Key", "ops.wrong-value-00"}}},
        // An unknown id that is a prefix of a real one.
        {{{"Authorization", "Bearer op." + ops}}, {{"Authorization", "Bearer ops.s3cr3t-ops-valuf"}}},
    };
    for (const auto& [unknown_id, wrong_secret] : pairs)
    {
        for (const char* path : {"/v1/requests", "/v1/requests/req_00000000000000000000"})
        {
            auto a = c.get(path, unknown_id);
            auto b = c.get(path, wrong_secret);
            EXPECT_EQ(a.status(), 401u) << a;
            EXPECT_EQ(comparable(a), comparable(b))
                << unknown_id[0].second << " vs " << wrong_secret[0].second;
        }
        auto a = c.post("/v1/requests", R"({"type":"request"})", unknown_id);
        auto b = c.post("/v1/requests", R"({"type":"request"})", wrong_secret);
        EXPECT_EQ(comparable(a), comparable(b)) << unknown_id[0].second << " vs " << wrong_secret[0].second;
    }
}

TEST(AuthKeys, ReadOnlyKeyIsForbiddenToWrite)
{
    server srv(with_keys());
    auto dev = srv.connect();
    auto rec = create_record(dev, {{"name", "a"}});
    const std::string path = path_of(text(rec, "id"));

    auto reader = as(srv, bearer("reader", "dev-secret"));
    EXPECT_EQ(reader.get(path).status(), 200u);
    EXPECT_EQ(reader.head(path).status(), 200u);
    EXPECT_EQ(reader.get(path + "/versions").status(), 200u);
    EXPECT_TRUE(
        is_problem(reader.post("/v1/requests", R"({"type":"request"})"), 403, "forbidden", "/v1/requests"));
    EXPECT_TRUE(is_problem(reader.put(path, R"({"name":"b"})"), 403, "forbidden", path));
    EXPECT_TRUE(is_problem(reader.patch(path, R"({"name":"b"})"), 403, "forbidden", path));
    EXPECT_TRUE(is_problem(reader.del(path), 403, "forbidden", path));
    // 403 comes before the body, the preconditions and the existence check.
    EXPECT_TRUE(is_problem(reader.post("/v1/requests", "{not json"), 403, "forbidden"));
    EXPECT_TRUE(is_problem(reader.put(path, R"({"name":"b"})", {{"If-Match", "\"9\""}}), 403, "forbidden"));
    EXPECT_TRUE(is_problem(reader.del(path_of(unknown_id)), 403, "forbidden"));
    // A key with requests:write may write.
    auto ops = as(srv, bearer("ops", ops_secret));
    EXPECT_EQ(ops.put(path, R"({"name":"a"})").status(), 200u); // no change: commits nothing

    EXPECT_TRUE(unchanged(dev, rec));
    EXPECT_EQ(list_all(dev).size(), 1u);
}

TEST(AuthKeys, CreatedByAndUpdatedByRecordTheKeyId)
{
    server srv(with_keys());
    auto ops = as(srv, bearer("ops", ops_secret));
    auto dev = srv.connect();

    auto rec = create_record(ops, {{"name", "a"}});
    EXPECT_EQ(text(rec, "created_by"), "ops");
    EXPECT_EQ(text(rec, "updated_by"), "ops");
    const std::string path = path_of(text(rec, "id"));

    auto r = dev.put(path, R"({"name":"b"})");
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "created_by"), "ops");
    EXPECT_EQ(text(r.object(), "updated_by"), "dev");

    r = ops.patch(path, R"({"name":"c"})", {{"Content-Type", "application/merge-patch+json"}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "updated_by"), "ops");

    // Basic and X-API-Key name the same key.
    r = ops.put(path, R"({"name":"d"})", {{"X-API-Key", "ops." + std::string(ops_secret)}});
    ASSERT_EQ(r.status(), 200u) << r;
    EXPECT_EQ(text(r.object(), "updated_by"), "ops");

    auto history = history_of(dev, text(rec, "id"));
    ASSERT_EQ(history.size(), 4u);
    EXPECT_EQ(text(history[0], "updated_by"), "ops");
    EXPECT_EQ(text(history[1], "updated_by"), "ops");
    EXPECT_EQ(text(history[2], "updated_by"), "dev");
    EXPECT_EQ(text(history[3], "updated_by"), "ops");
    auto v2 = dev.get(path + "/versions/2").object();
    EXPECT_EQ(text(v2, "updated_by"), "dev");
    EXPECT_EQ(text(v2, "created_by"), "ops");

    ASSERT_EQ(dev.del(path).status(), 204u);
    history = history_of(dev, text(rec, "id"));
    EXPECT_EQ(text(history[0], "updated_by"), "dev");
}

TEST(AuthKeys, TheSecretIsNeitherLoggedNorStored)
{
    server srv(with_keys());
    const std::string secret(ops_secret);
    const std::string basic_ops = base64("ops:" + secret);
    const std::string basic_nobody = base64("nobody:" + secret);
    {
        auto c = as(srv, std::nullopt);
        // Accepted in every form, with writes so that records, history and idempotency entries exist.
        for (const header_list& form : {header_list{{"Authorization", "Basic " + basic_ops}},
                                        header_list{{"Authorization", "Bearer ops." + secret}},
                                        header_list{{"X-API-Key", "ops." + secret}}})
        {
            auto h = form;
            h.emplace_back("Idempotency-Key", "k-" + std::to_string(h[0].second.size()));
            auto r = c.post("/v1/requests", R"({"type":"request","name":"x"})", h);
            ASSERT_EQ(r.status(), 201u) << r;
            r = c.put(path_of(text(r.object(), "id")), R"({"name":"y"})", form);
            ASSERT_EQ(r.status(), 200u) << r;
            EXPECT_EQ(c.get("/v1/requests", form).status(), 200u);
        }
        // Refused: the secret under an unknown id, and wrong secrets for ops.
        EXPECT_EQ(c.get("/v1/requests", {{"Authorization", "Basic " + basic_nobody}}).status(), 401u);
        EXPECT_EQ(c.get("/v1/requests", {{"X-API-Key", "nobody." + secret}}).status(), 401u);
        EXPECT_EQ(c.get("/v1/requests", {{"Authorization", "Bearer ops." + secret + "-nope"}}).status(),
                  401u);
    }
    ASSERT_EQ(srv.stop(), 0); // everything flushed

    const std::string log = srv.log();
    EXPECT_TRUE(contains(log, "\"ops\"")) << "the access log names no key id; log:\n" << log.substr(0, 2000);
    for (const std::string& needle : {secret, basic_ops, basic_nobody})
    {
        EXPECT_FALSE(contains(log, needle)) << "the log holds " << needle;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(srv.data_dir()))
        {
            if (!entry.is_regular_file())
                continue;
            EXPECT_FALSE(contains(read_bytes(entry.path()), needle)) << entry.path() << " holds " << needle;
        }
    }
}
