// Credential parsing and constant-time key verification.
#include <reqstore/auth/keys.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace reqstore::auth
{
namespace
{

using digest = std::array<unsigned char, 32>;

// Fetched once: SHA256() and EVP_sha256() look the algorithm up in OpenSSL 3's provider store on
// every call, which cost as much as the digest itself on every authenticated request.
const EVP_MD* sha256_algorithm()
{
    static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> fetched(
        EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
    return fetched.get();
}

digest sha256(std::string_view data)
{
    digest out{};
    const EVP_MD* algorithm = sha256_algorithm();
    unsigned int length = 0;
    if (!algorithm || EVP_Digest(data.data(), data.size(), out.data(), &length, algorithm, nullptr) != 1)
        throw std::runtime_error("SHA-256 is not available from OpenSSL");
    return out;
}

bool iequals_prefix(std::string_view s, std::string_view prefix)
{
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

std::optional<std::string> base64_decode(std::string_view in)
{
    while (!in.empty() && (in.back() == ' ' || in.back() == '\t'))
        in.remove_suffix(1);
    if (in.empty() || in.size() % 4 != 0 || in.size() > 4096)
        return std::nullopt;
    std::string out(in.size() / 4 * 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0)
        return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes; drop them.
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i)
        --size;
    out.resize(size);
    return out;
}

struct id_and_secret
{
    std::string id;
    std::string secret;
};

std::optional<id_and_secret> split_at(std::string_view text, char separator)
{
    const auto pos = text.find(separator);
    if (pos == std::string_view::npos || pos == 0)
        return std::nullopt;
    return id_and_secret{std::string(text.substr(0, pos)), std::string(text.substr(pos + 1))};
}

std::optional<id_and_secret> read_credentials(const credentials& presented)
{
    if (presented.authorization)
    {
        std::string_view value = *presented.authorization;
        // credentials = auth-scheme [ 1*SP token68 ] (RFC 9110 section 11.4): any number of spaces.
        const auto after_scheme = [&](std::size_t scheme_length)
        {
            std::string_view rest = value.substr(scheme_length);
            while (!rest.empty() && rest.front() == ' ')
                rest.remove_prefix(1);
            return rest;
        };
        if (iequals_prefix(value, "Basic "))
        {
            const auto decoded = base64_decode(after_scheme(6));
            return decoded ? split_at(*decoded, ':') : std::nullopt;
        }
        if (iequals_prefix(value, "Bearer "))
            return split_at(after_scheme(7), '.');
        return std::nullopt;
    }
    if (presented.api_key)
        return split_at(*presented.api_key, '.');
    return std::nullopt;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

bool api_key::has_scope(std::string_view scope) const
{
    return std::any_of(scopes.begin(), scopes.end(),
                       [&](const std::string& s) { return s == scope || s == scope_admin; });
}

bool api_key::secret_is(std::string_view secret) const
{
    return CRYPTO_memcmp(sha256(secret).data(), secret_sha256.data(), secret_sha256.size()) == 0;
}

namespace
{

// The field a request's credentials are read from (read_credentials prefers Authorization).
std::string_view credential_text(const credentials& presented) noexcept
{
    return presented.authorization ? *presented.authorization
                                   : presented.api_key.value_or(std::string_view());
}

} // namespace

const api_key* verified_credentials::key_for(const key_registry& registry,
                                             const credentials& presented) const noexcept
{
    const std::string_view text = credential_text(presented);
    if (key_ == nullptr || registry_ != &registry ||
        in_authorization_ != presented.authorization.has_value() || text.size() != text_.size())
        return nullptr;
    return CRYPTO_memcmp(text.data(), text_.data(), text.size()) == 0 ? key_ : nullptr;
}

void verified_credentials::remember(const key_registry& registry, const credentials& presented,
                                    const api_key& key)
{
    forget();
    registry_ = &registry;
    key_ = &key;
    in_authorization_ = presented.authorization.has_value();
    text_.assign(credential_text(presented));
}

void verified_credentials::forget() noexcept
{
    if (!text_.empty())
        OPENSSL_cleanse(text_.data(), text_.size());
    text_.clear();
    registry_ = nullptr;
    key_ = nullptr;
}

core::result<const api_key*> key_registry::authenticate(const credentials& presented,
                                                        verified_credentials* verified) const
{
    if (!presented.authorization && !presented.api_key)
        return core::failure(core::errc::unauthorized, "credentials are required");
    if (verified != nullptr)
        if (const api_key* known = verified->key_for(*this, presented))
            return known;
    const auto parsed = read_credentials(presented);
    if (!parsed)
        return core::failure(core::errc::unauthorized,
                             "credentials must be Basic id:secret, Bearer id.secret or X-API-Key id.secret");
    // Hash first and compare against every key's digest, so that an unknown id costs the same
    // as a wrong secret.
    const digest presented_digest = sha256(parsed->secret);
    const api_key* match = nullptr;
    for (const auto& key : keys_)
    {
        const bool secret_ok = CRYPTO_memcmp(presented_digest.data(), key.secret_sha256.data(), 32) == 0;
        if (secret_ok && key.id == parsed->id)
            match = &key;
    }
    if (!match)
        return core::failure(core::errc::unauthorized, "the credentials are not valid");
    if (verified != nullptr)
        verified->remember(*this, presented, *match);
    return match;
}

std::optional<std::string> parse_keys(const boost::json::array& keys, std::vector<api_key>& out)
{
    for (std::size_t i = 0; i < keys.size(); ++i)
    {
        const std::string base = "auth.keys[" + std::to_string(i) + "]";
        if (!keys[i].is_object())
            return base + ": must be an object";
        const auto& o = keys[i].get_object();
        for (const auto& member : o)
            if (member.key() != "id" && member.key() != "secret_sha256" && member.key() != "scopes" &&
                member.key() != "rate_limit" && member.key() != "subject")
                return base + "." + std::string(member.key()) + ": unknown key";
        api_key key;
        const auto* id = o.if_contains("id");
        if (!id || !id->is_string() || id->get_string().empty())
            return base + ".id: must be a non-empty string";
        key.id = std::string(id->get_string());
        if (key.id.find_first_of(":.") != std::string::npos)
            return base + ".id: must not contain ':' or '.' (they separate id and secret)";
        const auto* hash = o.if_contains("secret_sha256");
        if (!hash || !hash->is_string() || hash->get_string().size() != 64)
            return base + ".secret_sha256: must be 64 hex digits (the SHA-256 of the secret)";
        const std::string_view hex = hash->get_string();
        for (std::size_t b = 0; b < 32; ++b)
        {
            const int hi = hex_value(hex[2 * b]);
            const int lo = hex_value(hex[2 * b + 1]);
            if (hi < 0 || lo < 0)
                return base + ".secret_sha256: must be 64 hex digits (the SHA-256 of the secret)";
            key.secret_sha256[b] = static_cast<unsigned char>(hi * 16 + lo);
        }
        const auto* scopes = o.if_contains("scopes");
        if (!scopes || !scopes->is_array())
            return base + ".scopes: must be a list of scopes";
        for (std::size_t s = 0; s < scopes->get_array().size(); ++s)
        {
            const auto& scope = scopes->get_array()[s];
            const std::string scope_key = base + ".scopes[" + std::to_string(s) + "]";
            if (!scope.is_string())
                return scope_key + ": must be a string";
            const std::string_view name = scope.get_string();
            if (name != scope_read && name != scope_write && name != scope_webhooks && name != scope_admin)
                return scope_key + ": \"" + std::string(name) +
                       "\" is not a scope (requests:read, requests:write, webhooks:manage, admin)";
            key.scopes.emplace_back(name);
        }
        if (const auto* limit = o.if_contains("rate_limit"))
        {
            const std::string limit_key = base + ".rate_limit";
            if (!limit->is_object())
                return limit_key + ": must be {\"per_second\": N, \"burst\": N}";
            for (const auto& member : limit->get_object())
                if (member.key() != "per_second" && member.key() != "burst")
                    return limit_key + "." + std::string(member.key()) + ": unknown key";
            rate_limit_policy policy;
            const auto* rate = limit->get_object().if_contains("per_second");
            if (!rate || !rate->is_number() || !(rate->to_number<double>() > 0))
                return limit_key + ".per_second: must be a number above 0";
            policy.per_second = rate->to_number<double>();
            const auto* burst = limit->get_object().if_contains("burst");
            if (burst && (!burst->is_number() || !(burst->to_number<double>() >= 1)))
                return limit_key + ".burst: must be a number of at least 1";
            policy.burst = burst ? burst->to_number<double>() : std::max(1.0, policy.per_second);
            key.rate_limit = policy;
        }
        if (const auto* subject = o.if_contains("subject"))
        {
            if (!subject->is_string() || subject->get_string().empty())
                return base + ".subject: must be a non-empty string";
            key.subject = std::string(subject->get_string());
        }
        for (const auto& earlier : out)
            if (earlier.id == key.id)
                return base + ".id: \"" + key.id + "\" is used by an earlier key";
        out.push_back(std::move(key));
    }
    return std::nullopt;
}

std::string sha256_hex(std::string_view secret)
{
    static constexpr char digits[] = "0123456789abcdef";
    const digest d = sha256(secret);
    std::string out;
    for (unsigned char c : d)
    {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

} // namespace reqstore::auth
