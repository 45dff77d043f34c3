// The byte format of stored versions and events. Every decoder checks every length, so a
// corrupt or truncated value is reported, never read past its end.
#pragma once

#include <reqstore/core/outbox.hpp>
#include <reqstore/core/record_store.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace reqstore::store
{

// Layout, format 1: u8 format | u8 flags (bit 0: deleted, bit 1: tagged) | be64 version
// | be64 tag (only when tagged: a version with tag 0 is stored without one) | be64 updated_at
// | str type | str status | str updated_by | be16 count, str changed[count] | body (the rest),
// where str = be16 length + bytes.
std::string encode_version(const core::stored_version& v);

// Decodes a value written by encode_version. With `with_body` false the body is skipped
// (history listings). nullopt when the bytes are not a valid format-1 value.
std::optional<core::stored_version> decode_version(std::string_view bytes, bool with_body = true);

// Reads only the version number, tag and deleted flag: the commit path's compare-and-swap check.
struct version_head
{
    std::uint64_t version;
    std::uint64_t tag; // 0 when the version was stored untagged
    bool deleted;
};
std::optional<version_head> decode_version_head(std::string_view bytes) noexcept;

// An event of the change feed as stored in `events`: its feed entry (core::feed_entry_json).
std::string encode_event(const core::event_draft& event, std::uint64_t sequence);

// An idempotency entry as stored under its key: u8 format | be64 created_at | str fingerprint |
// answer (the rest). The key itself is not repeated in the value.
std::string encode_idempotency(const core::idempotency_entry& entry);
std::optional<core::idempotency_entry> decode_idempotency(std::string_view key, std::string_view bytes);

} // namespace reqstore::store
