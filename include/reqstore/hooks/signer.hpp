// Standard Webhooks signatures (https://www.standardwebhooks.com): secrets of the form
// "whsec_" + base64(key), and the header `webhook-signature: v1,<base64 HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>">`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::hooks
{

// Standard padded base64, and its decoding, which takes only the canonical form encode_base64
// writes (nullopt otherwise).
std::string encode_base64(std::span<const unsigned char> bytes);
std::optional<std::vector<unsigned char>> decode_base64(std::string_view text);

// The key bytes of a "whsec_<base64>" secret; nullopt if it is not one (wrong prefix, bad base64,
// fewer than 16 or more than 128 key bytes).
std::optional<std::vector<unsigned char>> decode_secret(std::string_view secret);

// A new secret: "whsec_" + base64 of 32 bytes from OpenSSL's RAND_bytes.
std::string generate_secret();

// "v1,<base64 signature>" for one message.
std::string sign(std::span<const unsigned char> key, std::string_view id, std::int64_t timestamp,
                 std::string_view body);

// Whether any "v1,<sig>" entry of a space-separated webhook-signature header value matches, compared
// in constant time. `timestamp` is the webhook-timestamp header as sent.
bool verify(std::span<const unsigned char> key, std::string_view id, std::string_view timestamp,
            std::string_view body, std::string_view signature_header);

} // namespace reqstore::hooks
