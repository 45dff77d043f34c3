// What the RocksDB engine's files share: the column families and the helpers every part of the
// store uses to speak to RocksDB. Private to src/store/rocks/.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/store/rocks/rocks_store.hpp>

#include <rocksdb/db.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::store
{

inline constexpr std::string_view meta_schema_key = "schema_version";
inline constexpr std::string_view meta_sequence_key = "last_sequence";
inline constexpr std::string_view meta_fan_out_key = "fan_out_cursor";
inline constexpr std::string_view meta_delivery_id_key = "last_delivery_id";

// A failure of RocksDB's, in the core's terms: errc::internal naming what failed and the status.
core::failure engine_failure(std::string_view what, const rocksdb::Status& status);

inline rocksdb::Slice slice(std::string_view s)
{
    return {s.data(), s.size()};
}

// `v` as 8 big-endian bytes (keys.hpp).
std::string encode_u64(std::uint64_t v);

// The handles of every column family, owned by the store and destroyed before the database.
struct rocks_store::column_families
{
    static constexpr std::array<const char*, 9> names{"records",    "versions", "events",
                                                      "deliveries", "webhooks", "idempotency",
                                                      "timers",     "meta",     "attachments"};
    std::vector<rocksdb::ColumnFamilyHandle*> handles; // [0] is "default", then `names` in order

    rocksdb::ColumnFamilyHandle* records() const { return handles[1]; }
    rocksdb::ColumnFamilyHandle* versions() const { return handles[2]; }
    rocksdb::ColumnFamilyHandle* events() const { return handles[3]; }
    rocksdb::ColumnFamilyHandle* deliveries() const { return handles[4]; }
    rocksdb::ColumnFamilyHandle* webhooks() const { return handles[5]; }
    rocksdb::ColumnFamilyHandle* idempotency() const { return handles[6]; }
    rocksdb::ColumnFamilyHandle* timers() const { return handles[7]; }
    rocksdb::ColumnFamilyHandle* meta() const { return handles[8]; }
    rocksdb::ColumnFamilyHandle* attachments() const { return handles[9]; }
};

} // namespace reqstore::store
