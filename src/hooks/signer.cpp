// Standard Webhooks secrets and v1 signatures (HMAC-SHA256) on OpenSSL 3's EVP_MAC.
#include <reqstore/hooks/signer.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace reqstore::hooks
{
namespace
{

constexpr std::string_view secret_prefix = "whsec_";
constexpr std::string_view signature_prefix = "v1,";
constexpr std::size_t min_key_bytes = 16;
constexpr std::size_t max_key_bytes = 128;
constexpr std::size_t generated_key_bytes = 32;

struct mac_ctx_deleter
{
    void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

// Fetched once: an EVP_MAC is immutable and may be shared by threads; each call gets its own context.
EVP_MAC* hmac_algorithm()
{
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (mac == nullptr)
        throw std::runtime_error("OpenSSL has no HMAC implementation");
    return mac;
}

// HMAC-SHA256 over "<id>.<timestamp>.<body>", fed in pieces so that the body is not copied.
std::array<unsigned char, 32> hmac_sha256(std::span<const unsigned char> key, std::string_view id,
                                          std::string_view timestamp, std::string_view body)
{
    std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter> ctx(EVP_MAC_CTX_new(hmac_algorithm()));
    if (!ctx)
        throw std::runtime_error("EVP_MAC_CTX_new failed");
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                                 OSSL_PARAM_construct_end()};
    // HMAC with an empty key is defined (RFC 2104 pads it with zeros), but OpenSSL refuses a null
    // key; one zero byte pads to the same block.
    static constexpr unsigned char zero = 0;
    const unsigned char* key_data = key.empty() ? &zero : key.data();
    const std::size_t key_size = key.empty() ? 1 : key.size();
    const auto update = [&ctx](std::string_view piece)
    {
        return EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
    };
    std::array<unsigned char, 32> out{};
    std::size_t written = 0;
    if (EVP_MAC_init(ctx.get(), key_data, key_size, params) != 1 || update(id) != 1 || update(".") != 1 ||
        update(timestamp) != 1 || update(".") != 1 || update(body) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) != 1 || written != out.size())
        throw std::runtime_error("HMAC-SHA256 failed");
    return out;
}

std::string signature_of(std::span<const unsigned char> key, std::string_view id, std::string_view timestamp,
                         std::string_view body)
{
    const auto mac = hmac_sha256(key, id, timestamp, body);
    return std::string(signature_prefix) + encode_base64(mac);
}

// The signed content is "<id>.<timestamp>.<body>": a dot in the id or anything but digits in the
// timestamp would let one message pass for another, so such headers never verify.
bool well_formed(std::string_view id, std::string_view timestamp)
{
    if (id.empty() || id.find('.') != std::string_view::npos || timestamp.empty() || timestamp.size() > 19)
        return false;
    for (char c : timestamp)
    {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

} // namespace

std::string encode_base64(std::span<const unsigned char> bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0'); // EVP_EncodeBlock writes a NUL
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

static bool is_base64_digit(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Canonical padded standard base64 only (what encode_base64 writes). EVP_DecodeBlock skips
// surrounding blanks, counts padding as data and ignores stray low bits, so the shape is checked
// here, the padding taken off its result, and the result must encode back to the text.
std::optional<std::vector<unsigned char>> decode_base64(std::string_view text)
{
    if (text.empty() || text.size() % 4 != 0)
        return std::nullopt;
    std::size_t padding = 0;
    if (text.back() == '=')
        padding = text[text.size() - 2] == '=' ? 2 : 1;
    for (std::size_t i = 0; i < text.size() - padding; ++i)
    {
        if (!is_base64_digit(text[i]))
            return std::nullopt;
    }
    std::vector<unsigned char> out(3 * (text.size() / 4));
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || static_cast<std::size_t>(n) != out.size())
        return std::nullopt;
    out.resize(out.size() - padding);
    if (encode_base64(out) != text)
        return std::nullopt;
    return out;
}

std::optional<std::vector<unsigned char>> decode_secret(std::string_view secret)
{
    if (!secret.starts_with(secret_prefix))
        return std::nullopt;
    auto key = decode_base64(secret.substr(secret_prefix.size()));
    if (!key || key->size() < min_key_bytes || key->size() > max_key_bytes)
        return std::nullopt;
    return key;
}

std::string generate_secret()
{
    std::array<unsigned char, generated_key_bytes> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    std::string secret = std::string(secret_prefix) + encode_base64(key);
    OPENSSL_cleanse(key.data(), key.size());
    return secret;
}

std::string sign(std::span<const unsigned char> key, std::string_view id, std::int64_t timestamp,
                 std::string_view body)
{
    return signature_of(key, id, std::to_string(timestamp), body);
}

bool verify(std::span<const unsigned char> key, std::string_view id, std::string_view timestamp,
            std::string_view body, std::string_view signature_header)
{
    if (!well_formed(id, timestamp))
        return false;
    const std::string expected = signature_of(key, id, timestamp, body);
    bool matched = false;
    while (!signature_header.empty())
    {
        const auto space = signature_header.find(' ');
        const std::string_view entry = signature_header.substr(0, space);
        signature_header.remove_prefix(space == std::string_view::npos ? signature_header.size() : space + 1);
        // Every entry is compared, so the time taken does not say which one matched.
        if (entry.size() == expected.size() &&
            CRYPTO_memcmp(entry.data(), expected.data(), expected.size()) == 0)
            matched = true;
    }
    return matched;
}

} // namespace reqstore::hooks
