// Fuzzes the decoders of what the store reads back from disk (store/codec, store/outbox_codec): stored
// versions, idempotency entries, webhook subscriptions and deliveries, and the keys of versions and timers.
// Every input goes to every decoder.
// Oracles: no decoder crashes or reads past the bytes (ASan); where a decoder accepts the bytes, encoding
// what it read and decoding that again gives the same value (compared by its encoding), and the cheap
// head decoder agrees with the full one.
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>
#include <reqstore/store/rocks/outbox_codec.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"

namespace
{

using namespace reqstore;
using reqstore::fuzz::check;
using reqstore::fuzz::oracle_failed;

bool same_version(const core::stored_version& a, const core::stored_version& b)
{
    return a.version == b.version && a.tag == b.tag && a.updated_at == b.updated_at && a.deleted == b.deleted &&
           a.type == b.type && a.status == b.status && a.updated_by == b.updated_by &&
           a.changed == b.changed && a.body == b.body;
}

void check_version(std::string_view bytes)
{
    const auto decoded = store::decode_version(bytes);
    const auto head = store::decode_version_head(bytes);
    const auto without_body = store::decode_version(bytes, false);
    check(decoded.has_value() == without_body.has_value(), "skipping the body does not change what decodes");
    if (!decoded)
        return;
    check(head && head->version == decoded->version && head->tag == decoded->tag && head->deleted == decoded->deleted,
          "the head decoder agrees with the full decoder");
    check(without_body->body.empty() && without_body->version == decoded->version &&
              without_body->changed == decoded->changed,
          "a version decoded without its body is the same version");

    const std::string encoded = store::encode_version(*decoded);
    const auto again = store::decode_version(encoded);
    check(again && same_version(*again, *decoded), "a decoded version encodes and decodes to itself");
    check(store::encode_version(*again) == encoded, "encoding a decoded version is stable");
}

void check_idempotency(std::string_view bytes)
{
    const std::string_view key = "dev:fuzz-key";
    const auto decoded = store::decode_idempotency(key, bytes);
    if (!decoded)
        return;
    check(decoded->key == key, "an idempotency entry keeps its key");
    const std::string encoded = store::encode_idempotency(*decoded);
    const auto again = store::decode_idempotency(key, encoded);
    check(again && again->created_at == decoded->created_at && again->fingerprint == decoded->fingerprint &&
              again->answer == decoded->answer,
          "a decoded idempotency entry encodes and decodes to itself");
}

void check_subscription(std::string_view bytes)
{
    const auto decoded = store::decode_subscription(bytes);
    if (!decoded)
        return;
    const std::string encoded = store::encode_subscription(*decoded);
    const auto again = store::decode_subscription(encoded);
    if (!again)
        oracle_failed("a decoded subscription's encoding decodes", encoded);
    if (store::encode_subscription(*again) != encoded)
        oracle_failed("a decoded subscription encodes and decodes to itself", encoded);
}

void check_delivery(std::string_view bytes)
{
    const auto decoded = store::decode_delivery(bytes);
    if (!decoded)
        return;
    const std::string encoded = store::encode_delivery(*decoded);
    const auto again = store::decode_delivery(encoded);
    if (!again)
        oracle_failed("a decoded delivery's encoding decodes", encoded);
    if (store::encode_delivery(*again) != encoded)
        oracle_failed("a decoded delivery encodes and decodes to itself", encoded);
}

void check_keys(std::string_view bytes)
{
    if (const auto parts = store::parse_version_key(bytes))
        check(store::version_key(parts->id, parts->version) == bytes,
              "a versions key rebuilds from its parts");
    if (const auto parts = store::parse_timer_key(bytes))
        check(store::timer_key_bytes(parts->due, parts->id) == bytes, "a timers key rebuilds from its parts");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    check_version(bytes);
    check_idempotency(bytes);
    check_subscription(bytes);
    check_delivery(bytes);
    check_keys(bytes);
    return 0;
}
