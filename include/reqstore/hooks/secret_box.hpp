// Webhook signing secrets at rest. The store keeps a subscription's secret sealed with AES-256-GCM
// under webhooks.secrets_key (a key from the configuration, never in the data directory), bound to
// the subscription's id, so that neither a copy of the data directory nor a backup of it gives
// away a secret a receiver trusts (docs/RELIABILITY.md, "Keys and secrets").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::hooks
{

class secret_box
{
public:
    static constexpr std::size_t key_bytes = 32;

    // The box for a base64 key of 32 bytes; nullopt when the text is not one.
    static std::optional<secret_box> from_base64(std::string_view key);

    // "sealed:v1:" + base64(nonce ‖ ciphertext ‖ tag), with a fresh 96-bit nonce and
    // `bound_to` as additional authenticated data. Throws std::runtime_error if OpenSSL fails.
    std::string seal(std::string_view secret, std::string_view bound_to) const;

    // The secret inside a sealed value, checked against `bound_to`; nullopt when it was sealed under
    // another key or for another id, or is damaged. A value that is not sealed (written before
    // secrets were sealed) is returned as it is, to be sealed when next saved.
    std::optional<std::string> open(std::string_view stored, std::string_view bound_to) const;

    static bool is_sealed(std::string_view stored);

private:
    explicit secret_box(std::vector<unsigned char> key) : key_(std::move(key)) {}
    std::vector<unsigned char> key_;
};

} // namespace reqstore::hooks
