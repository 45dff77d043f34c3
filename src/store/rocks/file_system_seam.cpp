// The server's side of the storage link seam (rocks_store.hpp): RocksDB's own environment and the
// configured WAL recovery. Alone in its object file, so that a test program that defines
// storage_environment_for() itself never links this one from the static library.
#include <reqstore/store/rocks/rocks_store.hpp>

namespace reqstore::store
{

storage_environment storage_environment_for(const store_options&)
{
    return {};
}

} // namespace reqstore::store
