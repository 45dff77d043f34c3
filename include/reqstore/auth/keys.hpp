// API keys from config (`auth.keys`): who is calling, and may they do this. Secrets are kept
// only as SHA-256 digests and compared in constant time.
#pragma once

#include <reqstore/core/errc.hpp>

#include <boost/json/array.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::auth
{

inline constexpr std::string_view scope_read = "requests:read";
inline constexpr std::string_view scope_write = "requests:write";
inline constexpr std::string_view scope_webhooks = "webhooks:manage";
inline constexpr std::string_view scope_admin = "admin";

// A token bucket: `per_second` tokens flow in, at most `burst` are kept; a request takes one.
struct rate_limit_policy
{
    double per_second = 0;
    double burst = 0;
};

struct api_key
{
    std::string id;
    std::array<unsigned char, 32> secret_sha256{};
    std::vector<std::string> scopes;
    std::optional<rate_limit_policy> rate_limit;
    std::optional<std::string> subject; // a data subject: the key acts for that person only

    // `admin` grants every scope.
    bool has_scope(std::string_view scope) const;
    // Whether `secret` is this key's secret (constant time).
    bool secret_is(std::string_view secret) const;
};

// What the credentials headers of one request hold, as the transport found them.
struct credentials
{
    std::optional<std::string_view> authorization; // the Authorization field
    std::optional<std::string_view> api_key;       // the X-API-Key field
};

class key_registry;

// The credentials one connection last proved: presented again, byte for byte, on the same connection,
// they are not parsed and hashed again (the SHA-256 was about a tenth of a GET's time). One per
// connection, used by one request at a time. It holds only what that connection itself sent; the
// text is wiped when replaced and when the connection ends.
class verified_credentials
{
public:
    verified_credentials() = default;
    ~verified_credentials() { forget(); }
    verified_credentials(const verified_credentials&) = delete;
    verified_credentials& operator=(const verified_credentials&) = delete;

private:
    friend class key_registry;
    // The key these credentials proved, when `presented` is exactly the text they came in, in the
    // same field, for the same registry; nullptr otherwise. Compares in constant time.
    const api_key* key_for(const key_registry& registry, const credentials& presented) const noexcept;
    void remember(const key_registry& registry, const credentials& presented, const api_key& key);
    void forget() noexcept;

    const key_registry* registry_ = nullptr;
    const api_key* key_ = nullptr;
    bool in_authorization_ = false; // the Authorization field, else X-API-Key
    std::string text_;
};

// The keys, immutable after startup and safe to use from any thread.
class key_registry
{
public:
    key_registry() = default;
    explicit key_registry(std::vector<api_key> keys) : keys_(std::move(keys)) {}

    // Accepts `Authorization: Basic base64(id:secret)`, `Authorization: Bearer id.secret` and
    // `X-API-Key: id.secret`. Returns the key, or errc::unauthorized with a detail that never
    // says whether the id exists (an unknown id and a wrong secret take the same path and time).
    // With `verified`, the connection's memo: credentials it holds are accepted at once, and
    // credentials proved here replace what it holds.
    [[nodiscard]] core::result<const api_key*> authenticate(const credentials& presented,
                                                            verified_credentials* verified = nullptr) const;

    const std::vector<api_key>& keys() const noexcept { return keys_; }

private:
    std::vector<api_key> keys_;
};

// Reads `auth.keys`. On error returns a message naming the exact key, e.g.
// "auth.keys[0].secret_sha256: must be 64 hex digits".
std::optional<std::string> parse_keys(const boost::json::array& keys, std::vector<api_key>& out);

// Hex SHA-256 of `secret`, as `secret_sha256` holds it.
std::string sha256_hex(std::string_view secret);

// The WWW-Authenticate value sent with every 401.
inline constexpr std::string_view www_authenticate = R"(Basic realm="reqstore", Bearer realm="reqstore")";

} // namespace reqstore::auth
