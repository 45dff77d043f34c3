// AES-256-GCM through OpenSSL's EVP interface for the webhook secrets at rest (secret_box.hpp).
#include <reqstore/hooks/secret_box.hpp>
#include <reqstore/hooks/signer.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace reqstore::hooks
{
namespace
{

constexpr std::string_view sealed_prefix = "sealed:v1:";
constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;

struct cipher_ctx_deleter
{
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

const unsigned char* bytes_of(std::string_view s)
{
    return reinterpret_cast<const unsigned char*>(s.data());
}

} // namespace

std::optional<secret_box> secret_box::from_base64(std::string_view key)
{
    auto bytes = decode_base64(key);
    if (!bytes || bytes->size() != key_bytes)
        return std::nullopt;
    return secret_box(std::move(*bytes));
}

bool secret_box::is_sealed(std::string_view stored)
{
    return stored.starts_with(sealed_prefix);
}

std::string secret_box::seal(std::string_view secret, std::string_view bound_to) const
{
    std::vector<unsigned char> out(nonce_bytes + secret.size() + tag_bytes);
    if (RAND_bytes(out.data(), static_cast<int>(nonce_bytes)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    cipher_ctx ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), out.data()) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes_of(bound_to), static_cast<int>(bound_to.size())) !=
            1 ||
        EVP_EncryptUpdate(ctx.get(), out.data() + nonce_bytes, &n, bytes_of(secret),
                          static_cast<int>(secret.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), out.data() + nonce_bytes + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                            out.data() + nonce_bytes + secret.size()) != 1)
        throw std::runtime_error("sealing a webhook secret failed");
    return std::string(sealed_prefix) + encode_base64(out);
}

std::optional<std::string> secret_box::open(std::string_view stored, std::string_view bound_to) const
{
    if (!is_sealed(stored))
        return std::string(stored);
    const auto sealed = decode_base64(stored.substr(sealed_prefix.size()));
    if (!sealed || sealed->size() < nonce_bytes + tag_bytes)
        return std::nullopt;
    const std::size_t length = sealed->size() - nonce_bytes - tag_bytes;
    std::string secret(length, '\0');
    std::vector<unsigned char> tag(sealed->end() - tag_bytes, sealed->end());
    cipher_ctx ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), sealed->data()) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes_of(bound_to), static_cast<int>(bound_to.size())) !=
            1 ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &n,
                          sealed->data() + nonce_bytes, static_cast<int>(length)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes), tag.data()) != 1)
        return std::nullopt;
    int last = 0;
    if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()) + n, &last) != 1)
        return std::nullopt; // the tag does not match: another key, another id, or damage
    return secret;
}

} // namespace reqstore::hooks
